/**
 * Heartbeats (and their acks) duplicated, reordered, replayed or garbled on
 * the way — by a small proxy between the active broker and the zookeeper —
 * must never declare a live broker dead nor keep a dead one alive.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { activeIn, freePort, startClusterBroker, TestCluster, useClusterHarness, waitForView, zkView } from "./cluster-harness";
import { tempDir, waitUntil } from "./harness";
import { HeartbeatProxy } from "./heartbeat-proxy";

const proxies: HeartbeatProxy[] = [];
afterEach(() => {
  for (const proxy of proxies.splice(0)) proxy.stop();
});

/**
 * Brokers 1 and 2 talk to the zookeeper directly; broker 3 (the one that
 * leads) through the proxy. All three are heartbeating before the zookeeper
 * starts, so all take part in the first election.
 */
async function clusterWithProxiedLeader() {
  const port = await freePort();
  const proxy = await HeartbeatProxy.start({ host: "127.0.0.1", port });
  proxies.push(proxy);
  const dataDir = tempDir("kc-cluster-");
  const brokers = await Promise.all([
    startClusterBroker(1, `127.0.0.1:${port}`, dataDir),
    startClusterBroker(2, `127.0.0.1:${port}`, dataDir),
    startClusterBroker(3, proxy.address, dataDir),
  ]);
  const cluster = await TestCluster.start({ brokerIds: [], zkPort: port, dataDir });
  for (const broker of brokers) cluster.brokers.set(broker.id, broker);
  const broker3 = cluster.broker(3);
  const active = await cluster.waitForActive(3);
  await broker3.waitForLog(/takeover complete/);
  return { cluster, proxy, broker3, active };
}

/** Watches the zookeeper for `ms`, failing at once if `check` breaks. */
async function holdsFor(zookeeper: string, ms: number, check: (view: Awaited<ReturnType<TestCluster["view"]>>) => void): Promise<void> {
  const until = performance.now() + ms;
  await waitUntil(async () => {
    check(await zkView(zookeeper));
    return performance.now() > until;
  }, ms + 5000, "the observation period");
}

useClusterHarness();

describe("heartbeats through a faulty network", () => {
  test("duplicated, reordered, replayed and garbled heartbeats and acks never declare the live leader dead", async () => {
    const { cluster, proxy, broker3, active } = await clusterWithProxiedLeader();
    const before = await cluster.view();
    const sessionTimeoutMs = before.sessionTimeoutMs;
    const steady = (view: Awaited<ReturnType<TestCluster["view"]>>) => {
      expect(activeIn(view)).toEqual(active);
      expect(view.view.brokers.map((b) => [b.id, b.alive])).toEqual([[1, true], [2, true], [3, true]]);
      expect(view.counters.brokersDeclaredDead).toBe(before.counters.brokersDeclaredDead);
      expect(view.counters.electionsSignalled).toBe(before.counters.electionsSignalled);
    };

    // Copies, replays and corrupted datagrams both ways, for six session timeouts: every bit of a
    // heartbeat and of an ack gets flipped at least once. The leader's lease never even lapses.
    const noisy = { forward: true, duplicates: 2, reorder: false, replays: 3, garbled: 4 };
    proxy.heartbeatFaults = { ...noisy };
    proxy.ackFaults = { ...noisy };
    await holdsFor(cluster.zkAddress, 6 * sessionTimeoutMs, steady);
    expect(broker3.stderr()).not.toMatch(/lease lapsed|stepping down|lease lost/);

    // Reordering too: each datagram is held back until the next one (a heartbeat interval), so the
    // leader cannot always prove its lease in time and may pause its acks, but nobody is declared
    // dead, nothing is elected and the leader never steps down.
    proxy.heartbeatFaults = { ...noisy, reorder: true };
    proxy.ackFaults = { ...noisy, reorder: true };
    await holdsFor(cluster.zkAddress, 6 * sessionTimeoutMs, steady);
    expect(broker3.stderr()).not.toMatch(/stepping down|lease lost/);

    const after = await cluster.view();
    expect(after.counters.garbledDatagrams).toBeGreaterThan(100);
    expect(after.counters.heartbeatsRejected!).toBeGreaterThan(before.counters.heartbeatsRejected! + 100);
    expect(proxy.counts.garbledOut).toBeGreaterThan(200);
    expect(cluster.zk.stderr()).not.toMatch(/broker-died|broker-restarted|active-lost|broker-joined id=(?![123]\b)/);
  }, 30_000);

  test("replayed, duplicated and garbled heartbeats of a killed leader do not keep it alive", async () => {
    const { cluster, proxy, broker3, active } = await clusterWithProxiedLeader();
    const sessionTimeoutMs = (await cluster.view()).sessionTimeoutMs;
    await waitUntil(() => proxy.counts.heartbeatsIn >= 20, 5000, "some heartbeats to replay later");

    await broker3.stop("SIGKILL");
    const killedAt = performance.now();
    // Its old heartbeats keep coming: replayed, several per heartbeat interval, with garbled copies.
    proxy.replayContinuously(20, 3);
    const next = await cluster.waitForActive(2, 10_000);
    const failoverMs = performance.now() - killedAt;
    expect(next.epoch).toBeGreaterThan(active.epoch);
    await cluster.zk.waitForLog(/broker-died id=3/);
    // Detected by the session timeout, not later (generous margin for a loaded machine).
    expect(failoverMs).toBeLessThan(sessionTimeoutMs + 2000);

    await holdsFor(cluster.zkAddress, 6 * sessionTimeoutMs, (view) => {
      expect(view.view.brokers.find((b) => b.id === 3)?.alive).toBe(false);
      expect(activeIn(view)).toEqual(next);
    });
    proxy.stopReplaying();
    expect(proxy.counts.replayedOut).toBeGreaterThan(100);
    expect(cluster.zk.stderr()).not.toMatch(/broker-revived id=3|broker-restarted id=3/);
  }, 30_000);

  test("a leader paused behind replayed heartbeats is declared dead, and on resuming it steps down", async () => {
    const { cluster, proxy, broker3, active } = await clusterWithProxiedLeader();
    await waitUntil(() => proxy.counts.heartbeatsIn >= 20, 5000, "some heartbeats to replay later");
    broker3.proc.kill("SIGSTOP");
    proxy.replayContinuously(20, 3);
    const next = await cluster.waitForActive(2, 10_000);
    expect(next.epoch).toBeGreaterThan(active.epoch);
    proxy.stopReplaying();
    broker3.proc.kill("SIGCONT");
    await broker3.waitForLog(/stepping down/, 10_000);
    const view = await waitForView(cluster.zkAddress, (v) => v.view.brokers.find((b) => b.id === 3)?.alive === true, 5000, "broker 3 back as a standby");
    expect(activeIn(view)).toEqual(next);
    expect(view.view.brokers.find((b) => b.id === 3)?.role).toBe("standby");
  }, 30_000);
});
