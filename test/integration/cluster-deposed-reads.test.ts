/**
 * A consumer connected straight to the active broker (bootstrap list, no
 * zookeeper: nothing tells it the leader moved) while that broker is paused
 * past the session timeout, another takes over, and it resumes. Whatever the
 * paused broker had accepted but not yet written when it stopped, it writes
 * and fsyncs on resuming — past the point where the new leader's segment
 * begins, so not part of the log. It must not push those records to its
 * consumers: every record a consumer receives must be in the log, at the
 * offset it was received at.
 *
 * The window (the broker stopped between accepting a batch and writing it)
 * is hit by about one pause in fifty; KC_PAUSES=100 (default 10) makes this a
 * stronger check. Before the fix, 40 pauses showed 20 and 220 such records;
 * the subscription rule itself is unit-tested in test/unit/broker.
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Consumer } from "../../src/client/consumer";
import { Producer } from "../../src/client/producer";
import { activeIn, readTopic, TestCluster, useClusterHarness, waitForView } from "./cluster-harness";
import { waitUntil } from "./harness";

const TOPIC = "deposed-reads";
const PAUSES = Number(process.env.KC_PAUSES ?? 10);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

useClusterHarness();

describe("reads from a deposed leader", () => {
  test(`${PAUSES} pauses of the active broker under load: a directly connected consumer receives only records that are in the log`, async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2] });
    let active = await cluster.waitForActive();
    await cluster.broker(active.id).waitForLog(/takeover complete/);
    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic(TOPIC, 1);
    admin.close();

    // Several producers keep the active broker busy appending.
    const producers = Array.from({ length: 4 }, () => new Producer({ ...cluster.clientOptions(), lingerMs: 0 }));
    let producing = true;
    let acked = 0;
    const sending = producers.map(async (producer, p) => {
      const pending: Promise<unknown>[] = [];
      for (let seq = 0; producing; seq++) {
        pending.push(producer.send(TOPIC, { value: encoder.encode(`p${p}-${seq}`) }).then(() => acked++, () => {}));
        if (pending.length >= 200) await pending.shift();
        if (seq % 20 === 0) await Bun.sleep(0);
      }
      await Promise.all(pending);
    });

    const received = new Map<number, string>();
    const consumerOf = (id: number, startOffsets?: Map<number, number>) =>
      new Consumer({ bootstrap: [{ host: "127.0.0.1", port: cluster.broker(id).port }], topic: TOPIC, start: { type: "earliest" }, startOffsets });
    let consumer = consumerOf(active.id);
    const reading = (async () => {
      for (;;) {
        const current = consumer;
        try {
          await current.start();
          for await (const batch of current.batches()) for (const r of batch) received.set(r.offset, decoder.decode(r.value!));
        } catch {
          // no broker answered for a while: start again from where it was
        }
        if (!producing) return;
        consumer = consumerOf(active.id, current.positions());
      }
    })();

    const stepDowns = (id: number) => cluster.broker(id).stderr().match(/stepping down/g)?.length ?? 0;
    for (let pause = 0; pause < PAUSES; pause++) {
      const before = acked;
      await waitUntil(() => acked >= before + 2000, 20_000, "acks before the pause");
      const paused = cluster.broker(active.id);
      const steppedDown = stepDowns(active.id);
      paused.proc.kill("SIGSTOP");
      const view = await waitForView(cluster.zkAddress, (v) => (activeIn(v)?.id ?? active.id) !== active.id, 15_000, "another active broker");
      const next = activeIn(view)!;
      await cluster.broker(next.id).waitForLog(new RegExp(`takeover complete.* epoch=${next.epoch}( |$)`), 15_000);
      paused.proc.kill("SIGCONT");
      await waitUntil(() => stepDowns(paused.id) > steppedDown, 15_000, `broker ${paused.id} to step down`);
      active = next;
    }
    producing = false;
    await Promise.all(sending);
    for (const producer of producers) await producer.close();
    const log = (await readTopic(cluster.clientOptions(), TOPIC)).get(0)!;
    consumer.close();
    await reading;

    const dirty = [...received].filter(([offset, value]) => log[offset]?.value !== value);
    console.log(`[deposed reads] ${PAUSES} pauses, ${received.size} records received, ${log.length} in the log, ${dirty.length} received but not in the log at that offset`);
    expect(dirty.slice(0, 5).map(([offset, value]) => `${value} received at ${offset}, the log holds ${log[offset]?.value ?? "nothing"}`)).toEqual([]);
  }, 120_000);
});
