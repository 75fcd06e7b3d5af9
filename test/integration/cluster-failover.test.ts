/**
 * A zookeeper and three brokers of the compiled binary: the highest id leads;
 * `kill -9` of the active broker while a producer sends 50,000 keyed records
 * with acks=all hands leadership to the next highest id, and every
 * acknowledged record is in the log exactly where it was acknowledged.
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Producer } from "../../src/client/producer";
import { readTopic, TestCluster, useClusterHarness } from "./cluster-harness";
import { type Ack, checkDelivery, describeReport, expectDelivery, exactlyOnceExpected } from "./delivery-check";
import { waitUntil } from "./harness";

const RECORDS = 50_000;
const KEYS = 997;
const KILL_AFTER_ACKS = 15_000;
const WINDOW = 4_000;
const encoder = new TextEncoder();

useClusterHarness();

describe("failover of the active broker", () => {
  test("the highest id becomes active; kill -9 under 50,000 keyed acks=all records moves leadership to the next highest, losing nothing acknowledged", async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2, 3] });
    const first = await cluster.waitForActive();
    expect(first.id).toBe(3);
    const view = await cluster.view();
    expect(view.view.brokers.map((b) => [b.id, b.role, b.alive])).toEqual([[1, "standby", true], [2, "standby", true], [3, "active", true]]);
    await cluster.broker(3).waitForLog(/takeover complete/);

    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic("orders", 4);
    admin.close();

    const producer = new Producer(cluster.clientOptions({ requestTimeoutMs: 10_000 }));
    const acks: Ack[] = [];
    const failures: string[] = [];
    const pending: Promise<void>[] = [];
    let killed: Promise<void> | null = null;
    let inFlightAtKill = 0;
    for (let seq = 0; seq < RECORDS; seq++) {
      const key = `key-${seq % KEYS}`;
      const value = `v-${seq}`;
      pending.push(
        producer.send("orders", { key: encoder.encode(key), value: encoder.encode(value) }).then(
          (meta) => void acks.push({ seq, key, value, partition: meta.partition, offset: meta.offset }),
          (error: Error) => void failures.push(`${value}: ${error.message}`),
        ),
      );
      if (seq === KILL_AFTER_ACKS + WINDOW) {
        // Records are in flight on both sides of this point; the kill lands among them.
        await waitUntil(() => acks.length >= KILL_AFTER_ACKS, 20_000, `${KILL_AFTER_ACKS} acks`);
        killed = cluster.kill(3, "SIGKILL");
        inFlightAtKill = seq + 1 - acks.length - failures.length;
      }
      if (pending.length >= WINDOW) await pending.shift();
    }
    await producer.flush();
    await Promise.all(pending);
    await killed;
    await producer.close();

    expect(failures).toEqual([]);
    expect(acks.length).toBe(RECORDS);
    console.log(`[kill -9 under load] records sent but not yet acknowledged when broker 3 was killed: ${inFlightAtKill}`);
    expect(inFlightAtKill).toBeGreaterThan(0);
    const next = await cluster.waitForActive(2);
    expect(next.epoch).toBeGreaterThan(first.epoch);
    await cluster.broker(2).waitForLog(/takeover complete/);
    await cluster.zk.waitForLog(new RegExp(`active-changed id=2 epoch=${next.epoch}`));
    await cluster.broker(1).waitForLog(/following leader=2/);
    expect(cluster.broker(1).stderr()).not.toMatch(/claiming leadership/);

    const log = await readTopic(cluster.clientOptions(), "orders");
    const idempotent = await exactlyOnceExpected(cluster.clientOptions(), cluster.dataDir, "orders");
    const report = checkDelivery(acks, log, (value) => Number(value.slice(2)));
    console.log(describeReport("kill -9 under load", report, idempotent));
    // Keys stay on their partition across the failover.
    const partitionOfKey = new Map<string, number>();
    for (const ack of acks) {
      expect(partitionOfKey.get(ack.key!) ?? ack.partition).toBe(ack.partition);
      partitionOfKey.set(ack.key!, ack.partition);
    }
    expectDelivery(report, idempotent);
  }, 60_000);
});
