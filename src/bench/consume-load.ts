/**
 * Consumer load: reading a whole topic back as fast as the push subscription
 * delivers it, and an end-to-end receiver that reads the send time a paced
 * producer stamped into each value.
 */
import { Consumer, type ConsumerOptions } from "../client/consumer";
import { LatencyRecorder, type LatencySummary } from "./latency";
import { Meter, type ProcessProbe, type Usage } from "./meter";

/** How long a phase may see no records at all before it gives up. */
const STALL_MS = 15_000;

export interface ReadBackResult extends Usage {
  recordBytes: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** Record values only, MB = 10^6 bytes. */
  mbPerSec: number;
  /** batches() chunks (one per push from the broker). */
  chunks: number;
}

type BaseOptions = Omit<ConsumerOptions, "topic" | "start">;

/** Awaits `work`; closes the consumer (ending `work`) and fails when `progress` stops moving for STALL_MS. */
async function withStallGuard<T>(work: Promise<T>, progress: () => number, what: string, consumer: Consumer): Promise<T> {
  let last = progress();
  let lastChange = performance.now();
  let stalled = false;
  const timer = setInterval(() => {
    const now = progress();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > STALL_MS) {
      stalled = true;
      consumer.close();
    }
  }, 500);
  try {
    const result = await work;
    if (stalled) throw new Error(`no records for ${STALL_MS / 1000} s (received ${progress()})`);
    return result;
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  } finally {
    clearInterval(timer);
  }
}

/** Subscribes at the earliest offset and reads until `expected` records arrived. */
export async function runReadBack(
  options: BaseOptions,
  topic: string,
  recordBytes: number,
  expected: number,
  broker: ProcessProbe,
): Promise<ReadBackResult> {
  const consumer = new Consumer({ ...options, topic, start: { type: "earliest" } });
  let records = 0;
  let chunks = 0;
  const meter = new Meter(broker);
  meter.start();
  const start = performance.now();
  const read = async () => {
    await consumer.start();
    for await (const batch of consumer.batches()) {
      records += batch.length;
      chunks++;
      if (records >= expected) break;
    }
  };
  try {
    await withStallGuard(read(), () => records, `reading ${topic} back`, consumer);
  } finally {
    consumer.close();
  }
  const seconds = (performance.now() - start) / 1000;
  meter.stop();
  if (records < expected) throw new Error(`reading ${topic} back: ${records} of ${expected} records arrived`);
  return {
    recordBytes,
    records,
    seconds,
    recordsPerSec: records / seconds,
    mbPerSec: (records * recordBytes) / 1e6 / seconds,
    chunks,
    ...meter.usage(seconds),
  };
}

/** Value layout for end-to-end records: float64 send time (performance.now()), then a "measured" flag byte. */
export const STAMP_BYTES = 9;

export function stampValue(value: Uint8Array, sendTime: number, measured: boolean): void {
  new DataView(value.buffer, value.byteOffset, value.byteLength).setFloat64(0, sendTime, true);
  value[8] = measured ? 1 : 0;
}

/**
 * A consumer subscribed at the latest offset before the producer starts;
 * records produce-call → receive latency for every measured record.
 */
export class EndToEndReceiver {
  private readonly consumer: Consumer;
  private readonly recorder = new LatencyRecorder();
  private received = 0;
  private expected = Infinity;
  private done: Promise<void> | null = null;

  constructor(options: BaseOptions, topic: string) {
    this.consumer = new Consumer({ ...options, topic, start: { type: "latest" } });
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.done = this.run();
    this.done.catch(() => {});
  }

  private async run(): Promise<void> {
    for await (const batch of this.consumer.batches()) {
      const now = performance.now();
      for (const record of batch) {
        const value = record.value!;
        if (value[8] === 1) {
          const sent = new DataView(value.buffer, value.byteOffset, value.byteLength).getFloat64(0, true);
          this.recorder.recordMs(now - sent);
        }
      }
      this.received += batch.length;
      if (this.received >= this.expected) return;
    }
  }

  /** Waits until `total` records (warm-up included) arrived, then closes. */
  async finish(total: number): Promise<LatencySummary> {
    this.expected = total;
    if (this.received < total) {
      await withStallGuard(this.done!, () => this.received, "end-to-end consumer", this.consumer);
    }
    this.consumer.close();
    return this.recorder.summary();
  }

  close(): void {
    this.consumer.close();
  }
}
