/**
 * Restarting the zookeeper while a producer writes: the new zookeeper
 * rebuilds its view from heartbeats — the active broker's heartbeat makes it
 * active again at the same epoch — so there is no election, and the producer
 * sees at most a short pause (a few requests failed and retried).
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Producer } from "../../src/client/producer";
import { activeIn, freePort, readTopic, startZookeeper, TestCluster, useClusterHarness } from "./cluster-harness";
import { type Ack, checkDelivery, describeReport, exactlyOnceExpected, expectDelivery } from "./delivery-check";
import { waitUntil } from "./harness";

const encoder = new TextEncoder();
const TOPIC = "zk-restart";
/** The longest the producer may go without an ack across a zookeeper restart. */
const MAX_ACK_GAP_MS = 2000;

/** A producer through the zookeeper sending small batches of keyed records every few ms until stopped. */
function steadyProducer(cluster: TestCluster) {
  const producer = new Producer(cluster.clientOptions({ requestTimeoutMs: 10_000 }));
  const acks: Ack[] = [];
  const ackTimes: number[] = [];
  const failures: string[] = [];
  let producing = true;
  const sending = (async () => {
    const pending: Promise<void>[] = [];
    for (let seq = 0; producing; ) {
      for (let i = 0; i < 20; i++, seq++) {
        const key = `k${seq % 11}`;
        const value = `z-${seq}`;
        const s = seq;
        pending.push(producer.send(TOPIC, { key: encoder.encode(key), value: encoder.encode(value) }).then(
          (meta) => {
            acks.push({ seq: s, key, value, partition: meta.partition, offset: meta.offset });
            ackTimes.push(performance.now());
          },
          (error: Error) => void failures.push(`${value}: ${error.message}`),
        ));
      }
      while (pending.length > 2000) await pending.shift();
      await Bun.sleep(2);
    }
    await producer.flush();
    await Promise.all(pending);
  })();
  const watchdog = setInterval(() => {
    const last = ackTimes.at(-1) ?? 0;
    if (process.env.KC_DUMP_LOGS && performance.now() - last > 1000) {
      const p = producer as unknown as Record<string, any>;
      console.log("STALL", JSON.stringify({ acks: acks.length, inFlight: p.inFlight, ready: p.ready.length, backingOff: [...p.backingOff], conn: p.client.current?.address, connInFlight: p.client.current?.inFlight, pendingWrite: p.client.current?.pendingWriteBytes }));
    }
  }, 1000);
  return {
    acks,
    ackTimes,
    failures,
    async stop() {
      clearInterval(watchdog);
      producing = false;
      await sending;
      await producer.close();
    },
  };
}

function longestPause(times: number[]): number {
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  return longest;
}

async function expectEverythingDelivered(cluster: TestCluster, acks: Ack[], name: string): Promise<void> {
  const log = await readTopic(cluster.clientOptions(), TOPIC);
  const exactlyOnce = await exactlyOnceExpected(cluster.clientOptions(), cluster.dataDir, TOPIC);
  const report = checkDelivery(acks, log, (value) => Number(value.slice(2)));
  console.log(describeReport(name, report, exactlyOnce));
  expectDelivery(report, exactlyOnce);
}

useClusterHarness();

describe("restarting the zookeeper", () => {
  test("while producing: no election, the same broker stays active at the same epoch, the producer barely notices", async () => {
    const port = await freePort();
    const cluster = await TestCluster.start({ brokerIds: [1, 2, 3], zkPort: port });
    const before = await cluster.waitForActive(3);
    await cluster.broker(3).waitForLog(/takeover complete/);
    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic(TOPIC, 3);
    admin.close();

    const load = steadyProducer(cluster);
    const { acks, ackTimes, failures } = load;
    await waitUntil(() => acks.length >= 2000, 20_000, "2000 acks before the restart");

    const brokerLogsBefore = [...cluster.brokers.values()].map((b) => b.stderr().length);
    await cluster.restartZookeeper("SIGKILL");
    const restartedAt = performance.now();
    const ackedAtRestart = acks.length;
    await cluster.zk.waitForLog(new RegExp(`active-changed id=3 epoch=${before.epoch} via=heartbeat`), 5000);
    expect(await cluster.waitForActive(3)).toEqual(before);
    await waitUntil(() => acks.length >= ackedAtRestart + 2000, 20_000, "2000 acks after the restart");
    // Past the new zookeeper's startup grace: it would have asked for an election by now.
    await waitUntil(async () => (await cluster.view()).uptimeMs > 3 * (await cluster.view()).sessionTimeoutMs, 10_000, "the new zookeeper's grace to pass");
    await load.stop();

    const view = await cluster.view();
    expect(view.view.activeBrokerId).toBe(3);
    expect(view.view.epoch).toBe(before.epoch);
    expect(view.counters.electionsSignalled).toBe(0);
    expect(view.counters.brokersDeclaredDead).toBe(0);
    expect(view.view.brokers.map((b) => [b.id, b.role, b.alive])).toEqual([[1, "standby", true], [2, "standby", true], [3, "active", true]]);
    expect(cluster.zk.stderr()).not.toMatch(/election-needed|via=claim|broker-died/);
    [...cluster.brokers.values()].forEach((broker, i) => {
      const since = broker.stderr().slice(brokerLogsBefore[i]);
      expect(since).not.toMatch(/claiming leadership|stepping down|takeover/);
    });

    expect(failures).toEqual([]);
    const longestGap = longestPause(ackTimes);
    const firstAfter = ackTimes.find((t) => t > restartedAt) ?? Infinity;
    console.log(`[zookeeper restart] longest pause between acks: ${Math.round(longestGap)} ms; first ack ${Math.round(firstAfter - restartedAt)} ms after the new zookeeper was ready`);
    expect(longestGap).toBeLessThan(MAX_ACK_GAP_MS);
    await expectEverythingDelivered(cluster, acks, "zookeeper restart");
  }, 60_000);

  test("down for longer than the lease: the active broker stops acknowledging, then the restarted zookeeper confirms it at the same epoch", async () => {
    const port = await freePort();
    const cluster = await TestCluster.start({ brokerIds: [1, 2], zkPort: port });
    const before = await cluster.waitForActive(2);
    const active = cluster.broker(2);
    await active.waitForLog(/takeover complete/);
    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic(TOPIC, 2);
    admin.close();
    const load = steadyProducer(cluster);
    await waitUntil(() => load.acks.length >= 1000, 20_000, "1000 acks before the outage");

    const sessionTimeoutMs = (await cluster.view()).sessionTimeoutMs;
    const logMark = active.stderr().length;
    const logSinceKill = () => active.stderr().slice(logMark);
    await cluster.zk.stop("SIGKILL");
    await waitUntil(() => /lease lapsed/.test(logSinceKill()), 5000, "the leader's lease to lapse");
    const lapsedAt = performance.now();
    const ackedAtLapse = load.acks.length;
    cluster.zk = await startZookeeper({ port, sessionTimeoutMs });
    await waitUntil(() => /lease regained/.test(logSinceKill()), 5000, "the leader's lease to be regained");
    const regainedAt = performance.now();
    // Nothing was acknowledged while the lease was lapsed (responses sent just before may still arrive for a moment).
    expect(load.ackTimes.filter((t) => t > lapsedAt + 50 && t < regainedAt - 50).length).toBe(0);
    await cluster.zk.waitForLog(new RegExp(`active-changed id=2 epoch=${before.epoch} via=heartbeat`), 5000);
    await waitUntil(() => load.acks.length >= ackedAtLapse + 1000, 20_000, "1000 acks after the zookeeper returned");
    await waitUntil(async () => (await cluster.view()).uptimeMs > 3 * sessionTimeoutMs, 10_000, "the new zookeeper's grace to pass");
    await load.stop();

    const view = await cluster.view();
    expect(activeIn(view)).toEqual(before);
    expect(view.counters.electionsSignalled).toBe(0);
    expect(cluster.zk.stderr()).not.toMatch(/election-needed|via=claim/);
    expect(active.stderr()).not.toMatch(/stepping down/);
    expect(cluster.broker(1).stderr()).not.toMatch(/claiming leadership/);
    expect(cluster.zk.stderr()).toMatch(/broker-joined id=1/);
    expect(load.failures).toEqual([]);
    const gapEnd = load.ackTimes.findIndex((t, i) => i > 0 && t - load.ackTimes[i - 1]! === longestPause(load.ackTimes));
    console.log(`[zookeeper outage] longest pause between acks: ${Math.round(longestPause(load.ackTimes))} ms, ` +
      `from ${Math.round(load.ackTimes[gapEnd - 1]! - lapsedAt)} to ${Math.round(load.ackTimes[gapEnd]! - lapsedAt)} ms after the lapse was seen; regained at ${Math.round(regainedAt - lapsedAt)} ms`);
    expect(longestPause(load.ackTimes)).toBeLessThan(MAX_ACK_GAP_MS + 2 * sessionTimeoutMs);
    await expectEverythingDelivered(cluster, load.acks, "zookeeper outage");
  }, 60_000);
});
