/**
 * Credit-based flow control: subscribers that stop granting credit, or stop
 * reading their socket altogether, must not make the broker hold what it
 * cannot send them while a producer writes 200 MB. Once they read again they
 * get everything, in order.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Consumer } from "../../src/client/consumer";
import { Producer } from "../../src/client/producer";
import { checkFrame } from "../../src/log/batch-frame";
import { decodeRecords } from "../../src/log/record-codec";
import { RpcConnection } from "../../src/net/rpc-connection";
import type { RecordsPush } from "../../src/protocol/api";
import { cleanUpAfterThisFile, startStandaloneBroker, waitUntil, withTimeout } from "./harness";
import { vmRssBytes } from "./garbage";
import { openRawSocket, type RawSocket } from "./raw-socket";

setDefaultTimeout(30_000);
cleanUpAfterThisFile();

const KiB = 1024;
const MiB = 1024 * KiB;
const RECORD_BYTES = KiB;
const WARMUP_RECORDS = 8 * KiB; // 8 MiB: every stalled subscriber reaches its limit before the baseline
const MAIN_RECORDS = 200 * KiB; // 200 MiB, measured
const TOTAL_RECORDS = WARMUP_RECORDS + MAIN_RECORDS;
const BATCH_BYTES = 256 * KiB;
const STALLED_CREDIT = MiB;
/**
 * Peak RSS growth allowed while the 200 MiB goes through. Holding the data for
 * even one stalled subscriber would need ≥ 200 MiB. Producing the same 200 MiB
 * with nobody subscribed peaks at +33-44 MiB on this machine (received buffers
 * waiting for the garbage collector); with the three stalled subscribers it
 * peaks at +42-52 MiB (their queued pushes are a few MiB).
 */
const RSS_GROWTH_LIMIT = 80 * MiB;

/** Checks a subscription's pushes arrive contiguous, with valid frames and the values the producer wrote. */
class StreamChecker {
  nextOffset = 0;
  bytes = 0;
  largestFrame = 0;

  constructor(private readonly decodeValues: boolean) {}

  accept(push: RecordsPush, data: Uint8Array): void {
    expect(push.fromOffset).toBe(this.nextOffset);
    for (let pos = 0; pos < data.length; ) {
      const check = checkFrame(data, pos);
      if (!check.ok) throw new Error(`bad frame at offset ${this.nextOffset}: ${check.reason}`);
      expect(check.header.baseOffset).toBe(this.nextOffset);
      if (this.decodeValues) {
        for (const record of decodeRecords(data, pos)) {
          expect(new DataView(record.value!.buffer, record.value!.byteOffset).getUint32(0)).toBe(record.offset);
        }
      }
      this.nextOffset += check.header.recordCount;
      this.largestFrame = Math.max(this.largestFrame, check.header.frameSize);
      pos += check.header.frameSize;
    }
    expect(push.nextOffset).toBe(this.nextOffset);
    this.bytes += data.length;
  }
}

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function produce(producer: Producer, from: number, count: number): Promise<void> {
  const value = new Uint8Array(RECORD_BYTES).fill(0x61);
  let pending: Promise<unknown>[] = [];
  for (let i = from; i < from + count; i++) {
    const record = value.slice();
    new DataView(record.buffer).setUint32(0, i);
    pending.push(producer.send("flow", { value: record, partition: 0 }));
    if (pending.length >= 16 * KiB) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}

describe("consumer flow control", () => {
  test("stalled subscribers do not grow the broker's memory while 200 MB is produced, and resume in order", async () => {
    const broker = await startStandaloneBroker();
    const bootstrap = [{ host: "127.0.0.1", port: broker.port }];
    const admin = new Admin({ bootstrap });
    cleanups.push(() => admin.close());
    await admin.createTopic("flow", 1);

    // 1. Never grants credit after its first 1 MiB.
    const noCredit = new StreamChecker(true);
    const rpc = await RpcConnection.connect({
      host: "127.0.0.1",
      port: broker.port,
      onPush: (api, body, attachment) => {
        if (api === "records") noCredit.accept(body as RecordsPush, attachment);
      },
    });
    cleanups.push(() => rpc.close());
    await rpc.request("subscribe", { subscriptionId: 1, topic: "flow", partitions: [{ partition: 0, start: { type: "earliest" } }], credit: STALLED_CREDIT });

    // 2. Has all the credit it could want but stops reading its socket.
    const notReading = new StreamChecker(true);
    const rawSocket: RawSocket = await openRawSocket(broker.port, {
      onPush: ({ envelope, attachment }) => {
        if (envelope.kind === "push" && envelope.api === "records") notReading.accept(envelope.body as RecordsPush, attachment);
      },
    });
    cleanups.push(() => rawSocket.end());
    await rawSocket.request("subscribe", { subscriptionId: 1, topic: "flow", partitions: [{ partition: 0, start: { type: "earliest" } }], credit: 2 ** 30 });
    rawSocket.pause();

    // 3. The client library's consumer, whose application never takes a record.
    const consumer = new Consumer({ bootstrap, topic: "flow", start: { type: "earliest" }, creditBytes: STALLED_CREDIT });
    cleanups.push(() => consumer.close());
    await consumer.start();

    const producer = new Producer({ bootstrap, acks: "all", batchBytes: BATCH_BYTES, lingerMs: 5 });
    cleanups.push(() => void producer.close());
    await produce(producer, 0, WARMUP_RECORDS);
    await waitUntil(() => noCredit.bytes >= STALLED_CREDIT, 10_000, "the no-credit subscriber to use its credit");

    const baseline = vmRssBytes(broker.proc.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, vmRssBytes(broker.proc.pid))), 20);
    cleanups.push(() => clearInterval(sampler));
    const started = performance.now();
    await produce(producer, WARMUP_RECORDS, MAIN_RECORDS);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const after = vmRssBytes(broker.proc.pid);
    peak = Math.max(peak, after);
    console.log(
      `200 MiB produced in ${seconds.toFixed(2)} s; broker RSS ${(baseline / MiB).toFixed(1)} MiB before, ` +
        `${(after / MiB).toFixed(1)} MiB after, peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - baseline) / MiB).toFixed(1)} MiB)`,
    );
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_LIMIT);

    // The stalled subscribers got no more than their credit plus one batch.
    expect(noCredit.bytes).toBeGreaterThanOrEqual(STALLED_CREDIT);
    expect(noCredit.bytes).toBeLessThanOrEqual(STALLED_CREDIT + noCredit.largestFrame);
    expect(notReading.bytes).toBe(0);
    const consumerPosition = consumer.positions().get(0)!;
    expect(consumerPosition * RECORD_BYTES).toBeLessThanOrEqual(STALLED_CREDIT + BATCH_BYTES + 4 * KiB);

    // Grant credit / read again: each gets all 208 MiB, contiguous and intact.
    await rpc.request("credit", { subscriptionId: 1, bytes: 2 ** 30 });
    rawSocket.resume();
    let taken = 0;
    const reading = (async () => {
      for await (const record of consumer.records()) {
        expect(record.offset).toBe(taken);
        expect(new DataView(record.value!.buffer, record.value!.byteOffset).getUint32(0)).toBe(taken);
        if (++taken === TOTAL_RECORDS) return;
      }
    })();
    await withTimeout(reading, 30_000, "the library consumer to read everything");
    await waitUntil(() => noCredit.nextOffset === TOTAL_RECORDS, 30_000, "the credit-starved subscriber to catch up");
    await waitUntil(() => notReading.nextOffset === TOTAL_RECORDS, 30_000, "the paused subscriber to catch up");
    expect(rpc.isClosed).toBe(false);
    expect(rawSocket.isClosed).toBe(false);
  }, 60_000);
});
