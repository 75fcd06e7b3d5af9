/**
 * Load for the failover benchmark: a producer at a steady rate that records,
 * per record, when it was sent and when (if ever) it was acknowledged; a
 * saturating burst; and the read-back that counts every record's copies.
 * Each value starts with its sequence number, so copies can be counted.
 */
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import type { Producer } from "../../src/client/producer";
import { readToEnd } from "../../src/client/read-to-end";

export class SteadyLoad {
  readonly sendTimes: number[] = [];
  readonly ackTimes: number[] = [];
  /** Acknowledgement arrival times, in arrival order. */
  readonly ackLog: number[] = [];
  readonly failed = new Map<number, string>();
  private readonly pending = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private startedAt = 0;
  private readonly template: Uint8Array;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    readonly ratePerSec: number,
    readonly recordBytes: number,
  ) {
    this.template = new Uint8Array(Math.max(8, recordBytes));
  }

  get sent(): number {
    return this.sendTimes.length;
  }

  get acked(): number {
    return this.ackLog.length;
  }

  get lastAckAt(): number {
    return this.ackLog.at(-1) ?? 0;
  }

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.startedAt) * this.ratePerSec) / 1000);
      while (this.sendTimes.length < due) this.sendOne();
    }, 2);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.producer.flush();
    await Promise.all([...this.pending]);
  }

  private sendOne(): void {
    const seq = this.sendTimes.length;
    const value = this.template.slice();
    new DataView(value.buffer).setFloat64(0, seq);
    this.sendTimes.push(performance.now());
    const key = new TextEncoder().encode(`k${seq % 64}`);
    const done = this.producer.send(this.topic, { key, value }).then(
      () => {
        const now = performance.now();
        this.ackTimes[seq] = now;
        this.ackLog.push(now);
      },
      (error: Error) => void this.failed.set(seq, error.message),
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }
}

/** Sends as fast as the producer takes them (at most `window` unacknowledged) for `ms`; returns records acknowledged. */
export async function saturate(producer: Producer, topic: string, ms: number, recordBytes: number, window = 20_000): Promise<number> {
  const value = new Uint8Array(recordBytes);
  const until = performance.now() + ms;
  const pending: Promise<unknown>[] = [];
  let acked = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) pending.push(producer.send(topic, { value }).then(() => acked++, () => {}));
    while (pending.length > window) await pending.shift();
    await Bun.sleep(0);
  }
  await producer.flush();
  await Promise.all(pending);
  return acked;
}

/** How many copies of each sequence number the topic holds, read from offset 0 to each partition's end. */
export async function countCopies(options: ClusterClientOptions, topic: string, timeoutMs = 120_000): Promise<Map<number, number>> {
  const copies = new Map<number, number>();
  await readToEnd(
    options,
    topic,
    (record) => {
      if (record.value === null) return;
      const seq = new DataView(record.value.buffer, record.value.byteOffset, 8).getFloat64(0);
      copies.set(seq, (copies.get(seq) ?? 0) + 1);
    },
    timeoutMs,
  );
  return copies;
}
