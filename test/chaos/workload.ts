/**
 * The chaos run's producers: each an idempotent acks=all Producer of its
 * own, finding the active broker through the zookeeper, sending records with
 * unique ids at a steady rate and logging every attempt's outcome.
 */
import { Producer } from "../../src/client/producer";
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import { asKafkaCloneError } from "../../src/errors";
import type { Attempt } from "./history";

export interface WorkloadOptions {
  topic: string;
  producers: number;
  /** Records per second, per producer. */
  ratePerProducer: number;
  recordBytes: number;
  /** How long a record may take before the producer gives up on it (its outcome is then "unknown"). */
  deliveryTimeoutMs: number;
  /** Producer 0's delivery timeout instead (an impatient producer: it gives up during failovers and starts a new producer id). */
  firstProducerDeliveryTimeoutMs?: number;
  keys: number;
}

const encoder = new TextEncoder();

export class Workload {
  readonly attempts: Attempt[] = [];
  private readonly producers: Producer[];
  private readonly pending = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly sentBy: number[];
  startedAt = 0;
  stoppedAt = 0;

  constructor(
    clientOptions: () => ClusterClientOptions,
    private readonly options: WorkloadOptions,
  ) {
    this.producers = Array.from({ length: options.producers }, (_, i) => new Producer({
      ...clientOptions(),
      deliveryTimeoutMs: i === 0 ? (options.firstProducerDeliveryTimeoutMs ?? options.deliveryTimeoutMs) : options.deliveryTimeoutMs,
    }));
    this.sentBy = this.producers.map(() => 0);
  }

  get acked(): number {
    return this.attempts.reduce((n, a) => n + (a.outcome === "ok" ? 1 : 0), 0);
  }

  /** The latest acknowledgement's time (0 before the first). */
  lastAckAt = 0;

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.startedAt) * this.options.ratePerProducer) / 1000);
      for (let p = 0; p < this.producers.length; p++) while (this.sentBy[p]! < due) this.sendOne(p);
    }, 5);
  }

  /** Stops sending; waits (up to `settleMs`) for every attempt to settle. Unsettled ones stay without outcome ("unknown"). */
  async stop(settleMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stoppedAt = performance.now();
    const settled = Promise.all([...this.pending]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, settleMs)))]);
    clearTimeout(timer);
    for (const attempt of this.attempts) {
      if (attempt.outcome === undefined) {
        attempt.outcome = "unknown";
        attempt.error = `not settled ${settleMs} ms after the producers stopped`;
      }
    }
  }

  /** Closes the producers (after stop). */
  close(): void {
    for (const producer of this.producers) producer.close().catch(() => {});
  }

  private sendOne(producer: number): void {
    const seq = this.sentBy[producer]!++;
    const id = `p${producer}-${seq}`;
    const value = `${id}|`.padEnd(this.options.recordBytes, "x");
    const key = `k${(seq * 7 + producer) % this.options.keys}`;
    const attempt: Attempt = { producer, seq, value: id, key, sentAt: performance.now() };
    this.attempts.push(attempt);
    const done = this.producers[producer]!.send(this.options.topic, { key: encoder.encode(key), value: encoder.encode(value) }).then(
      (meta) => {
        if (attempt.outcome !== undefined) return;
        attempt.settledAt = performance.now();
        attempt.outcome = "ok";
        attempt.partition = meta.partition;
        attempt.offset = meta.offset;
        this.lastAckAt = attempt.settledAt;
      },
      (error: unknown) => {
        if (attempt.outcome !== undefined) return;
        const failure = asKafkaCloneError(error);
        attempt.settledAt = performance.now();
        attempt.outcome = failure.retriable ? "unknown" : "failed";
        attempt.error = failure.describe();
      },
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }
}
