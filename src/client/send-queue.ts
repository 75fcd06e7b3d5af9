/**
 * The producer's queue of sealed batches waiting to be sent, in seal order,
 * with the rules that keep each partition's batches in order: a partition
 * with a batch waiting out a retry backoff sends nothing newer; a retried
 * batch goes back ahead of its partition's newer batches (seal order:
 * sequence numbers of two producer generations do not compare); and an
 * idempotent batch waits while an older producer generation's batch of its
 * partition is unsettled (see producer-sequences.ts).
 */
import type { SealedBatch } from "./partition-accumulator";
import type { ProducerSequences } from "./producer-sequences";

export function partitionKey(batch: SealedBatch): string {
  return `${batch.topic}\u0000${batch.partition}`;
}

export class SendQueue {
  private readonly batches: SealedBatch[] = [];
  /** Per partition key: batches waiting out a retry backoff. */
  private readonly backingOff = new Map<string, number>();

  constructor(private readonly sequences: ProducerSequences) {}

  get length(): number {
    return this.batches.length;
  }

  push(batch: SealedBatch): void {
    this.batches.push(batch);
  }

  /**
   * Takes the batches of the next request: one topic's, in queue order, up to
   * the first that does not fit in `maxBytes` (a later, smaller batch must never
   * overtake an earlier one of its partition). Null when nothing may be sent.
   */
  takeRequest(maxBytes: number): { topic: string; batches: SealedBatch[] } | null {
    const first = this.batches.findIndex((batch) => this.maySend(batch));
    if (first < 0) return null;
    const topic = this.batches[first]!.topic;
    const taken: SealedBatch[] = [];
    let bytes = 0;
    for (let i = first; i < this.batches.length; ) {
      const batch = this.batches[i]!;
      if (batch.topic !== topic || !this.maySend(batch)) {
        i++;
        continue;
      }
      if (taken.length > 0 && bytes + batch.frame.length > maxBytes) break;
      taken.push(batch);
      bytes += batch.frame.length;
      this.batches.splice(i, 1);
    }
    return { topic, batches: taken };
  }

  /** Holds `batch`'s partition for `ms`, then puts the batch back in seal order and calls `then`. */
  backOff(batch: SealedBatch, ms: number, then: () => void): void {
    const key = partitionKey(batch);
    this.backingOff.set(key, (this.backingOff.get(key) ?? 0) + 1);
    setTimeout(() => {
      const waiting = this.backingOff.get(key)! - 1;
      if (waiting > 0) this.backingOff.set(key, waiting);
      else this.backingOff.delete(key);
      this.requeue(batch);
      then();
    }, ms);
  }

  private maySend(batch: SealedBatch): boolean {
    const key = partitionKey(batch);
    return !this.backingOff.has(key) && (batch.generation < 0 || this.sequences.maySend(key, batch));
  }

  private requeue(batch: SealedBatch): void {
    const samePartition = (other: SealedBatch) => other.topic === batch.topic && other.partition === batch.partition;
    const later = this.batches.findIndex((other) => samePartition(other) && other.order > batch.order);
    if (later >= 0) {
      this.batches.splice(later, 0, batch);
      return;
    }
    const earlier = this.batches.findLastIndex(samePartition);
    this.batches.splice(earlier + 1, 0, batch);
  }
}
