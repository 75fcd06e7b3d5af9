import { describe, expect, test } from "bun:test";
import { Simulator, mulberry32, type Packet } from "./simulator";

/** Every alive node other than the leader follows it, and the zookeeper agrees. */
function expectSettledOn(sim: Simulator, leader: number): void {
  expect(sim.leaders()).toEqual([leader]);
  for (const n of sim.nodes.values()) {
    if (!n.alive || n.paused || n.id === leader) continue;
    expect({ id: n.id, phase: n.bully.phase, leader: n.bully.leaderId }).toEqual({ id: n.id, phase: "follower", leader });
  }
  expect(sim.zk!.view(sim.now).activeBrokerId).toBe(leader);
  expect(sim.node(leader).lease.holds(sim.now)).toBe(true);
}

const isMessage = (p: Packet, type: string, from?: number, to?: number) =>
  p.kind === "election" && p.message.type === type && (from === undefined || p.from === from) && (to === undefined || p.to === to);

const claimsBy = (sim: Simulator, id: number, since = 0) =>
  sim.node(id).actions.slice(since).filter((a) => a.type === "claimActive").length;

describe("bully in a simulated cluster", () => {
  test("a new cluster elects the highest id, once", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new Simulator({ ids: [1, 2, 3, 4, 5], seed });
      sim.run(2000);
      expectSettledOn(sim, 5);
      expect(sim.leaderships.map((l) => l.id)).toEqual([5]);
      expect(sim.zk!.counters.electionsSignalled).toBe(1);
    }
  });

  test("after the active dies, concurrent elections converge on the highest live id", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new Simulator({ ids: [1, 2, 3, 4, 5], seed });
      sim.run(2000);
      // nobody hears the zookeeper, so everyone starts at the same instant, some with newer terms
      sim.filter = (p) => (p.kind === "ack" ? "drop" : "deliver");
      sim.kill(5);
      sim.run(600);
      for (const id of [1, 1, 1, 2, 3, 3, 4]) sim.act(id, (b) => b.start("test"));
      sim.filter = () => "deliver";
      sim.run(3000);
      expectSettledOn(sim, 4);
      expect(sim.leaderships.map((l) => l.id)).toEqual([5, 4]);
    }
  });

  test("failover takes about one session timeout plus a claim", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 7 });
    sim.run(2000);
    sim.kill(3);
    sim.run(3000);
    const takeover = sim.leaderships[1]!;
    expect(takeover.id).toBe(2);
    expect(takeover.at - 2000).toBeLessThan(500 + 100 + 50);
    expect(sim.zk!.counters.electionsSignalled).toBe(2);
  });

  test("lost ANSWERs: lower ids claim and are refused, the highest still wins", () => {
    const sim = new Simulator({ ids: [1, 2, 3, 4], seed: 3 });
    sim.filter = (p) => (isMessage(p, "ANSWER") ? "drop" : "deliver");
    sim.run(3000);
    expectSettledOn(sim, 4);
    expect(sim.leaderships.map((l) => l.id)).toEqual([4]);
  });

  test("a lost COORDINATOR: the broker that missed it re-elects and learns the leader", () => {
    const sim = new Simulator({ ids: [1, 2, 3, 4], seed: 5, bully: { coordinatorTimeoutMs: 1000 } });
    let coordinatorsToOne = 0;
    sim.filter = (p) => {
      if (p.kind === "ack" && p.to === 1 && sim.now > 1500 && sim.now < 4000) return "drop"; // no view to fall back on
      if (isMessage(p, "COORDINATOR", 3, 1) && coordinatorsToOne++ === 0) return "drop";
      return "deliver";
    };
    sim.run(2000);
    sim.kill(4);
    sim.run(100);
    sim.act(1, (b) => b.start("test")); // before the zookeeper notices: 1 waits for a COORDINATOR
    sim.run(1400);
    expect(sim.leaderships.map((l) => l.id)).toEqual([4, 3]);
    expect(sim.node(1).bully.leaderId).toBe(3);
    const terms = sim.node(1).actions.flatMap((a) => (a.type === "send" && a.message.type === "ELECTION" ? [a.message.term] : []));
    expect(new Set(terms).size).toBe(2);
    expect(coordinatorsToOne).toBe(2);
    sim.run(3000);
    expectSettledOn(sim, 3);
  });

  test("the highest id dies mid-election, after answering", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 11 });
    sim.filter = (p) => {
      if (p.kind === "claim" && p.from === 3) return "drop";
      if (isMessage(p, "ANSWER", 3) && sim.node(3).alive) sim.kill(3);
      return "deliver";
    };
    sim.run(4000);
    expect(sim.node(3).alive).toBe(false);
    expectSettledOn(sim, 2);
    expect(sim.leaderships.map((l) => l.id)).toEqual([2]);
  });

  test("an old leader's COORDINATOR delayed past a newer election is ignored", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 15 });
    let delayed = 0;
    sim.filter = (p) => (isMessage(p, "COORDINATOR", 3, 1) && ++delayed ? { delayMs: 4000 } : "deliver");
    sim.run(2000);
    expect(delayed).toBe(1);
    expect(sim.node(1).bully.leaderId).toBe(3); // learnt from the view
    sim.kill(3);
    sim.run(1500);
    expectSettledOn(sim, 2);
    const before = sim.node(1).actions.length;
    sim.run(3000); // the delayed COORDINATOR{epoch 1} from 3 arrives now
    expect(sim.node(1).actions.slice(before).filter((a) => a.type === "followLeader")).toEqual([]);
    expectSettledOn(sim, 2);
  });

  test("a returning higher id joins as standby and never pre-empts the healthy leader", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 2 });
    sim.run(2000);
    sim.kill(3);
    sim.run(2000);
    expectSettledOn(sim, 2);
    const mark = sim.node(3).actions.length;
    sim.revive(3);
    sim.run(5000);
    expect(claimsBy(sim, 3, mark)).toBe(0);
    expectSettledOn(sim, 2);
    // even when a lower id starts an election, the zookeeper refuses 3's claim
    sim.act(1, (b) => b.start("test"));
    sim.run(3000);
    expectSettledOn(sim, 2);
    expect(sim.leaderships.map((l) => l.id)).toEqual([3, 2]);
  });

  test("a claim refused because another broker is active: back off and follow", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 4 });
    sim.run(2000);
    // without views or 3's answers, 2 believes it should lead
    sim.filter = (p) => (isMessage(p, "ELECTION", 2, 3) || (p.kind === "ack" && p.to === 2) ? "drop" : "deliver");
    sim.act(2, (b) => b.start("test"));
    sim.run(1000);
    expect(claimsBy(sim, 2)).toBe(1);
    expect(sim.node(2).bully.leaderId).toBe(3);
    sim.filter = () => "deliver";
    sim.run(500);
    expect(sim.node(3).actions.some((a) => a.type === "stepDown")).toBe(false);
    expectSettledOn(sim, 3);
  });

  test("killing the active until one is left, then restarting the others: they join as standbys", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 9 });
    sim.run(2000);
    sim.kill(3);
    sim.run(2000);
    sim.kill(2);
    sim.run(2000);
    expectSettledOn(sim, 1);
    sim.revive(2);
    sim.revive(3);
    sim.run(5000);
    expectSettledOn(sim, 1);
    expect(sim.leaderships.map((l) => l.id)).toEqual([3, 2, 1]);
  });

  test("a persisted term survives a restart and outdated messages cannot win", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 6 });
    sim.run(2000);
    sim.act(1, (b) => b.start("x"));
    sim.run(2000);
    const term = sim.node(1).bully.term;
    expect(sim.node(1).disk.term).toBe(term);
    sim.kill(1);
    sim.revive(1);
    expect(sim.node(1).bully.term).toBe(term);
    sim.run(2000);
    expect(sim.act(1, (b) => b.onMessage(2, { type: "COORDINATOR", term: term - 1, from: 2, epoch: 99 }))).toEqual([]);
    expectSettledOn(sim, 3);
  });

  test("SIGSTOP past the threshold: another takes over; the old one wakes up fenced and follows", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 8 });
    sim.run(2000);
    sim.pause(3);
    sim.run(1500);
    expectSettledOn(sim, 2);
    const mark = sim.node(3).actions.length;
    sim.resume(3); // the simulator checks after every event that no two brokers may acknowledge
    sim.run(1000);
    expect(sim.node(3).actions.slice(mark)[0]).toEqual({ type: "stepDown" });
    expectSettledOn(sim, 2);
  });

  test("a zookeeper restart causes no election and no interruption", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 10 });
    sim.run(2000);
    sim.restartZk();
    sim.run(5000);
    expectSettledOn(sim, 3);
    expect(sim.zk!.counters.electionsSignalled).toBe(0);
    expect(sim.leaderships.map((l) => l.id)).toEqual([3]);
    expect(sim.node(3).actions.some((a) => a.type === "stepDown")).toBe(false);
  });

  test("a zookeeper outage longer than the lease fences the leader; it is re-elected at a new epoch", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 12 });
    sim.run(2000);
    sim.zkDown();
    sim.run(1000);
    expect(sim.node(3).lease.holds(sim.now)).toBe(false);
    sim.restartZk();
    sim.run(3000);
    expectSettledOn(sim, 3);
    expect(sim.leaderships).toMatchObject([{ id: 3, epoch: 1 }, { id: 3, epoch: 2 }]);
  });
});

describe("epochs across a zookeeper restart", () => {
  test("a restarted zookeeper cannot hand out an epoch already written to the data directory", () => {
    const sim = new Simulator({ ids: [1, 2, 3], seed: 13 });
    sim.run(2000);
    // 3 leads again at epoch 2 while 1 and 2 hear nothing about it
    sim.filter = (p) => ((p.kind === "ack" || p.kind === "election") && p.to !== 3 ? "drop" : "deliver");
    sim.act(3, (b) => b.stepDown());
    sim.run(1000);
    expect(sim.leaderships).toMatchObject([{ id: 3, epoch: 1 }, { id: 3, epoch: 2 }]);
    expect(sim.node(2).bully.epoch).toBe(1);
    sim.kill(3);
    sim.restartZk();
    sim.filter = () => "deliver";
    sim.run(3000);
    expect(sim.abortedTakeovers).toEqual([{ id: 2, epoch: 2 }]);
    expect(sim.leaderships.map((l) => [l.id, l.epoch])).toEqual([[3, 1], [3, 2], [2, 3]]);
    expectSettledOn(sim, 2);
  });

  test("a broker started after everyone died claims above the epoch on disk", () => {
    const sim = new Simulator({ ids: [1, 2], seed: 14 });
    sim.run(2000);
    sim.kill(1);
    sim.kill(2);
    sim.restartZk();
    sim.revive(1);
    sim.run(2000);
    expect(sim.abortedTakeovers).toEqual([]);
    expect(sim.leaderships.map((l) => [l.id, l.epoch])).toEqual([[2, 1], [1, 2]]);
  });
});

describe("bully chaos", () => {
  test("random loss, duplication, kills, pauses, zookeeper outages and restarts: always safe, settles after healing", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = mulberry32(seed * 7919);
      const ids = [1, 2, 3, 4, 5];
      const sim = new Simulator({ ids, seed });
      sim.filter = () => {
        const r = rand();
        return r < 0.05 ? "drop" : r < 0.1 ? "duplicate" : "deliver";
      };
      for (let step = 0; step < 20; step++) {
        const id = ids[Math.floor(rand() * ids.length)]!;
        const n = sim.node(id);
        const r = rand();
        if (r < 0.3) {
          if (n.alive) sim.kill(id);
          else sim.revive(id);
        } else if (r < 0.45) {
          if (n.paused) sim.resume(id);
          else sim.pause(id);
        } else if (r < 0.5) sim.restartZk();
        else if (r < 0.55) sim.zkDown();
        else if (r < 0.6 && n.alive) sim.act(id, (b) => b.start("chaos"));
        else if (r < 0.65 && n.alive) sim.act(id, (b) => b.stepDown());
        sim.run(50 + Math.floor(rand() * 900));
      }
      sim.filter = () => "deliver";
      if (sim.zk === null) sim.restartZk();
      for (const id of ids) {
        if (!sim.node(id).alive) sim.revive(id);
        if (sim.node(id).paused) sim.resume(id);
      }
      sim.run(6000);
      const [leader] = sim.leaders();
      expect(leader).toBeDefined();
      expectSettledOn(sim, leader!);
      const epochs = sim.leaderships.map((l) => l.epoch);
      expect(new Set(epochs).size).toBe(epochs.length);
    }
  });
});
