import { describe, expect, test } from "bun:test";
import type { Heartbeat } from "../../../src/protocol/heartbeat-codec";
import { BrokerRegistry, type RegistryEvent } from "../../../src/zookeeper/registry";

const SESSION = 500;

function hb(brokerId: number, seq: number, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    brokerId,
    incarnation: 1000 + brokerId,
    startedAtMs: 1_000,
    seq,
    role: "standby",
    epoch: 0,
    term: 0,
    clientHost: "127.0.0.1",
    clientPort: 9000 + brokerId,
    electionHost: "127.0.0.1",
    electionPort: 9100 + brokerId,
    ...over,
  };
}

/** A registry whose startup grace is already over at t = 0 and that asks for elections without waiting for joins to settle. */
function registry(startupGraceMs = 0, joinSettleMs = 0): BrokerRegistry {
  return new BrokerRegistry({ sessionTimeoutMs: SESSION, startupGraceMs, joinSettleMs, zkIncarnation: 77 }, 0);
}

const types = (events: RegistryEvent[]) => events.map((e) => e.type);

describe("registry cluster formation", () => {
  test("brokers joining one after another delay the first election until joins settle", () => {
    const r = registry(0, 250);
    r.onHeartbeat(hb(1, 1), 0);
    r.onHeartbeat(hb(2, 1), 100);
    expect(r.view(300).electionNeeded).toBe(false);
    r.onHeartbeat(hb(3, 1), 300);
    r.onHeartbeat(hb(1, 2), 400);
    r.onHeartbeat(hb(2, 2), 400);
    expect(r.view(549).electionNeeded).toBe(false);
    expect(r.view(550)).toMatchObject({ electionNeeded: true, activeBrokerId: null });
    expect(r.view(550).brokers.map((b) => b.id)).toEqual([1, 2, 3]);
  });

  test("the death of the active needs no settling when nobody joined", () => {
    const r = registry(0, 250);
    r.onHeartbeat(hb(1, 1), 0);
    r.onHeartbeat(hb(2, 1), 0);
    expect(r.claimActive(2, 1, 300).accepted).toBe(true);
    for (let t = 400, seq = 2; t <= 900; t += 100, seq++) r.onHeartbeat(hb(1, seq), t);
    r.tick(801);
    expect(r.view(801)).toMatchObject({ electionNeeded: true, activeBrokerId: null });
  });
});

describe("registry liveness", () => {
  test("a heartbeat registers a broker and the ack echoes it", () => {
    const r = registry();
    const out = r.onHeartbeat(hb(1, 1), 10);
    expect(out.accepted).toBe(true);
    if (!out.accepted) return;
    expect(out.ack).toMatchObject({ zkIncarnation: 77, brokerId: 1, incarnation: 1001, seq: 1 });
    expect(out.ack.view.brokers).toEqual([
      { id: 1, clientHost: "127.0.0.1", clientPort: 9001, electionHost: "127.0.0.1", electionPort: 9101, role: "standby", alive: true },
    ]);
    expect(types(r.tick(10))).toEqual(["broker-joined", "election-needed"]);
  });

  test("a broker heartbeating regularly is never declared dead", () => {
    const r = registry();
    for (let t = 0, seq = 1; t <= 10_000; t += 100, seq++) {
      r.onHeartbeat(hb(1, seq), t);
      r.tick(t + 99);
    }
    expect(r.counters.brokersDeclaredDead).toBe(0);
    expect(r.view(10_099).brokers[0]!.alive).toBe(true);
  });

  test("death exactly after the session timeout", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 100);
    r.tick(100);
    expect(r.tick(100 + SESSION)).toEqual([]);
    expect(r.tick(101 + SESSION)).toEqual([{ type: "broker-died", id: 1 }]);
    expect(r.counters.brokersDeclaredDead).toBe(1);
    expect(r.view(2000).brokers[0]!.alive).toBe(false);
  });

  test("duplicates, reordered and replayed datagrams never refresh liveness", () => {
    const r = registry();
    for (let seq = 1; seq <= 5; seq++) r.onHeartbeat(hb(1, seq), seq * 100);
    // the broker goes silent at t=500; an attacker or the network replays old datagrams
    for (let t = 600; t <= 1500; t += 50) {
      for (const seq of [5, 4, 1, 3]) expect(r.onHeartbeat(hb(1, seq), t)).toEqual({ accepted: false, reason: "stale-seq" });
    }
    expect(r.entry(1)!.lastHeartbeatAt).toBe(500);
    expect(types(r.tick(1001))).toContain("broker-died");
    expect(r.onHeartbeat(hb(1, 5), 1002).accepted).toBe(false);
    expect(r.view(1002).brokers[0]!.alive).toBe(false);
    expect(r.counters.heartbeatsRejected).toBe(19 * 4 + 1);
  });

  test("an older incarnation is ignored and a newer one replaces the old", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 50, { startedAtMs: 2_000, incarnation: 5 }), 0);
    expect(r.onHeartbeat(hb(1, 51, { startedAtMs: 1_999, incarnation: 9 }), 10)).toEqual({ accepted: false, reason: "old-incarnation" });
    expect(r.onHeartbeat(hb(1, 51, { startedAtMs: 2_000, incarnation: 4 }), 10)).toEqual({ accepted: false, reason: "old-incarnation" });
    // restarted: seq starts again from 1 and is accepted
    expect(r.onHeartbeat(hb(1, 1, { startedAtMs: 3_000, incarnation: 1 }), 20).accepted).toBe(true);
    expect(r.onHeartbeat(hb(1, 99, { startedAtMs: 2_000, incarnation: 5 }), 30).accepted).toBe(false);
    expect(types(r.tick(30))).toContain("broker-restarted");
  });

  test("a dead broker that heartbeats again (newer seq) is revived", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 0);
    r.tick(SESSION + 1);
    expect(r.onHeartbeat(hb(1, 2), SESSION + 2).accepted).toBe(true);
    expect(types(r.tick(SESSION + 2))).toContain("broker-revived");
    expect(r.view(SESSION + 2).brokers[0]!.alive).toBe(true);
  });

  test("time going backwards is treated as standing still", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 1000);
    r.onHeartbeat(hb(1, 2), 10);
    expect(r.entry(1)!.lastHeartbeatAt).toBe(1000);
  });

  test("the table is bounded: a dead entry is evicted, live ones are not", () => {
    const r = new BrokerRegistry({ sessionTimeoutMs: SESSION, startupGraceMs: 0, maxBrokers: 2, zkIncarnation: 1 }, 0);
    r.onHeartbeat(hb(1, 1), 0);
    r.onHeartbeat(hb(2, 1), 0);
    expect(r.onHeartbeat(hb(3, 1), 10)).toEqual({ accepted: false, reason: "table-full" });
    r.onHeartbeat(hb(2, 2), 400);
    expect(r.onHeartbeat(hb(3, 1), 600).accepted).toBe(true);
    expect(r.view(600).brokers.map((b) => b.id)).toEqual([2, 3]);
  });
});

describe("registry epoch authority", () => {
  test("claims need an alive broker and a strictly increasing epoch", () => {
    const r = registry();
    expect(r.claimActive(1, 1, 0)).toMatchObject({ accepted: false, reason: "not-alive" });
    r.onHeartbeat(hb(1, 1, { epoch: 4 }), 0);
    r.onHeartbeat(hb(2, 1), 0);
    expect(r.claimActive(1, 4, 1)).toMatchObject({ accepted: false, reason: "stale-epoch" });
    expect(r.claimActive(1, 3, 1)).toMatchObject({ accepted: false, reason: "stale-epoch" });
    const ok = r.claimActive(1, 5, 2);
    expect(ok).toMatchObject({ accepted: true, epoch: 5 });
    expect(ok.view).toMatchObject({ activeBrokerId: 1, epoch: 5, electionNeeded: false });
    expect(r.claimActive(2, 6, 3)).toMatchObject({ accepted: false, reason: "active-alive" });
    r.onHeartbeat(hb(2, 2), 400);
    r.tick(SESSION + 3);
    expect(r.claimActive(1, 6, SESSION + 3)).toMatchObject({ accepted: false, reason: "not-alive" });
    expect(r.claimActive(2, 6, SESSION + 3)).toMatchObject({ accepted: true, epoch: 6 });
    expect(r.claimActive(2, 6, SESSION + 4)).toMatchObject({ accepted: false, reason: "stale-epoch" });
  });

  test("a claim counts as proof of life", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 0);
    r.claimActive(1, 1, 400);
    expect(r.tick(800)).not.toContainEqual({ type: "broker-died", id: 1 });
    expect(types(r.tick(901))).toContain("broker-died");
  });

  test("the active dying signals one election", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 0);
    r.onHeartbeat(hb(2, 1), 0);
    r.claimActive(2, 1, 0);
    r.tick(0);
    const before = r.counters.electionsSignalled;
    for (let t = 100, seq = 2; t <= 2000; t += 100, seq++) r.onHeartbeat(hb(1, seq), t);
    const events = r.tick(2000);
    expect(events).toContainEqual({ type: "active-lost", id: 2, epoch: 1, reason: "died" });
    expect(r.counters.electionsSignalled).toBe(before + 1);
    expect(r.view(2000)).toMatchObject({ activeBrokerId: null, epoch: 1, electionNeeded: true });
  });

  test("an active that stepped down clears the active; an in-flight pre-claim heartbeat does not", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1, { epoch: 2 }), 0);
    r.onHeartbeat(hb(2, 1, { epoch: 2 }), 0);
    r.claimActive(2, 3, 10);
    // sent before the claim: standby at the old epoch
    r.onHeartbeat(hb(2, 2, { epoch: 2 }), 11);
    expect(r.view(11).activeBrokerId).toBe(2);
    r.onHeartbeat(hb(2, 3, { role: "active", epoch: 3 }), 20);
    r.onHeartbeat(hb(2, 4, { role: "standby", epoch: 3 }), 30);
    expect(r.view(30)).toMatchObject({ activeBrokerId: null, electionNeeded: true });
    // the retired epoch never comes back by heartbeat
    r.onHeartbeat(hb(2, 5, { role: "active", epoch: 3 }), 40);
    expect(r.view(40).activeBrokerId).toBe(null);
    expect(r.claimActive(2, 4, 50).accepted).toBe(true);
  });

  test("a declared-dead active that returns (SIGCONT) is not reinstated", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 0);
    r.onHeartbeat(hb(2, 1), 0);
    r.claimActive(2, 1, 0);
    for (let t = 100, seq = 2; t <= 800; t += 100, seq++) r.onHeartbeat(hb(1, seq), t);
    r.tick(800);
    expect(r.onHeartbeat(hb(2, 2, { role: "active", epoch: 1 }), 810).accepted).toBe(true);
    expect(r.view(810)).toMatchObject({ activeBrokerId: null, electionNeeded: true });
  });

  test("a heartbeat carrying a newer epoch supersedes the active", () => {
    const r = registry();
    r.onHeartbeat(hb(1, 1), 0);
    r.onHeartbeat(hb(2, 1), 0);
    r.claimActive(2, 3, 0);
    r.onHeartbeat(hb(1, 2, { epoch: 4 }), 10);
    expect(r.tick(10)).toContainEqual({ type: "active-lost", id: 2, epoch: 3, reason: "superseded" });
    expect(r.view(10)).toMatchObject({ activeBrokerId: null, epoch: 4 });
  });

  test("the active restarting (new incarnation) clears it", () => {
    const r = registry();
    r.onHeartbeat(hb(2, 1), 0);
    r.claimActive(2, 1, 0);
    r.onHeartbeat(hb(2, 1, { startedAtMs: 5_000, role: "active", epoch: 1 }), 10);
    expect(r.tick(10)).toContainEqual({ type: "active-lost", id: 2, epoch: 1, reason: "restarted" });
    expect(r.view(10).activeBrokerId).toBe(null);
  });
});

describe("zookeeper restart", () => {
  test("the view is rebuilt from heartbeats with no election signalled", () => {
    const r = new BrokerRegistry({ sessionTimeoutMs: SESSION, zkIncarnation: 2 }, 10_000);
    // standbys report first: no active yet, but the grace keeps electionNeeded false
    const first = r.onHeartbeat(hb(1, 900, { epoch: 6, term: 4 }), 10_020);
    expect(first.accepted && first.ack.view).toMatchObject({ activeBrokerId: null, electionNeeded: false, epoch: 6 });
    r.onHeartbeat(hb(2, 901, { epoch: 6 }), 10_040);
    expect(r.claimActive(2, 7, 10_050)).toMatchObject({ accepted: false, reason: "starting" });
    const active = r.onHeartbeat(hb(3, 902, { role: "active", epoch: 6 }), 10_090);
    expect(active.accepted && active.ack.view).toMatchObject({ activeBrokerId: 3, epoch: 6, electionNeeded: false });
    for (let t = 10_100, seq = 1000; t <= 12_000; t += 100, seq++) {
      for (const id of [1, 2]) r.onHeartbeat(hb(id, seq, { epoch: 6 }), t);
      r.onHeartbeat(hb(3, seq, { role: "active", epoch: 6 }), t);
      r.tick(t);
    }
    expect(r.counters.electionsSignalled).toBe(0);
    expect(r.view(12_000)).toMatchObject({ activeBrokerId: 3, epoch: 6, electionNeeded: false });
  });

  test("a stale active (older epoch) reporting first is replaced by the real one", () => {
    const r = new BrokerRegistry({ sessionTimeoutMs: SESSION, zkIncarnation: 2 }, 0);
    r.onHeartbeat(hb(2, 1, { role: "active", epoch: 5 }), 10);
    expect(r.view(10).activeBrokerId).toBe(2);
    r.onHeartbeat(hb(3, 1, { role: "active", epoch: 6 }), 20);
    expect(r.view(20)).toMatchObject({ activeBrokerId: 3, epoch: 6 });
    r.onHeartbeat(hb(2, 2, { role: "active", epoch: 5 }), 30);
    expect(r.view(30).activeBrokerId).toBe(3);
    expect(r.counters.electionsSignalled).toBe(0);
  });

  test("with no active broker at all, the election is signalled once the grace is over", () => {
    const r = new BrokerRegistry({ sessionTimeoutMs: SESSION, zkIncarnation: 2 }, 0);
    r.onHeartbeat(hb(1, 1), 10);
    expect(r.view(499).electionNeeded).toBe(false);
    expect(r.view(500).electionNeeded).toBe(true);
    expect(types(r.tick(500))).toEqual(["broker-joined", "election-needed"]);
    expect(r.counters.electionsSignalled).toBe(1);
  });

  test("an empty zookeeper signals nothing", () => {
    const r = registry();
    expect(r.tick(10_000)).toEqual([]);
    expect(r.counters.electionsSignalled).toBe(0);
  });
});
