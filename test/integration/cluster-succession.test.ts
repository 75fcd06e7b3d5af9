/**
 * Killing the active broker again and again hands leadership down the ids
 * until one broker is left; the others, restarted, join as standbys and the
 * survivor stays active at its epoch (a returning higher id never pre-empts a
 * healthy active broker). Records written under every epoch stay readable.
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Producer } from "../../src/client/producer";
import { activeIn, readTopic, TestCluster, useClusterHarness, waitForView } from "./cluster-harness";
import { type Ack, checkDelivery, expectDelivery, exactlyOnceExpected } from "./delivery-check";
import { waitUntil } from "./harness";

const encoder = new TextEncoder();

async function produceRound(cluster: TestCluster, round: number, count: number, acks: Ack[]): Promise<void> {
  const producer = new Producer(cluster.clientOptions({ requestTimeoutMs: 10_000 }));
  try {
    const sends = Array.from({ length: count }, (_, i) => {
      const seq = round * count + i;
      const key = `k${seq % 13}`;
      const value = `r${round}-${seq}`;
      return producer
        .send("succession", { key: encoder.encode(key), value: encoder.encode(value) })
        .then((meta) => void acks.push({ seq, key, value, partition: meta.partition, offset: meta.offset }));
    });
    await Promise.all(sends);
  } finally {
    await producer.close();
  }
}

useClusterHarness();

describe("a succession of failures", () => {
  test("kill the active broker until one is left, then restart the others: they join as standbys and the survivor stays active", async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2, 3] });
    let active = await cluster.waitForActive(3);
    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic("succession", 3);
    admin.close();
    const acks: Ack[] = [];
    await produceRound(cluster, 0, 500, acks);

    const epochs = [active.epoch];
    for (const [victim, heir] of [[3, 2], [2, 1]] as const) {
      await cluster.kill(victim, "SIGKILL");
      active = await cluster.waitForActive(heir);
      expect(active.epoch).toBeGreaterThan(epochs.at(-1)!);
      epochs.push(active.epoch);
      await produceRound(cluster, epochs.length - 1, 500, acks);
    }
    const survivor = active;
    expect(survivor.id).toBe(1);
    const electionsBefore = (await cluster.view()).counters.electionsSignalled!;

    // Broker 3 first (the highest id must not take over), then broker 2.
    for (const id of [3, 2]) {
      const restarted = await cluster.startBroker(id);
      await restarted.waitForLog(/following leader=1/);
      await waitForView(cluster.zkAddress, (v) => v.view.brokers.some((b) => b.id === id && b.alive), 5000, `broker ${id} alive`);
    }
    const view = await cluster.view();
    expect(activeIn(view)).toEqual(survivor);
    expect(view.view.brokers.map((b) => [b.id, b.role, b.alive])).toEqual([[1, "active", true], [2, "standby", true], [3, "standby", true]]);

    // Several session timeouts later nothing has moved: no election, nobody claimed.
    const settledAt = performance.now();
    await waitUntil(async () => {
      const current = await cluster.view();
      expect(activeIn(current)).toEqual(survivor);
      expect(current.view.brokers.every((b) => b.alive)).toBe(true);
      return performance.now() - settledAt > 4 * view.sessionTimeoutMs;
    }, 10_000, "a quiet period");
    const after = await cluster.view();
    expect(after.counters.electionsSignalled).toBe(electionsBefore);
    for (const id of [2, 3]) {
      expect(cluster.broker(id).stderr()).not.toMatch(/claiming leadership|takeover complete/);
      expect(cluster.broker(id).proc.exitCode).toBeNull();
    }
    expect(cluster.broker(1).stderr()).not.toMatch(/stepping down/);

    // The restarted standbys point clients at broker 1, and writes from every epoch are readable.
    await produceRound(cluster, epochs.length, 500, acks);
    const log = await readTopic(cluster.clientOptions(), "succession");
    const report = checkDelivery(acks, log, () => null);
    expectDelivery(report, await exactlyOnceExpected(cluster.clientOptions(), cluster.dataDir, "succession"));
    expect(report.stored).toBeGreaterThanOrEqual(2000);
  }, 60_000);
});
