/**
 * The idempotent producer's identity and the rules that keep one partition's
 * records in send order across a change of identity.
 *
 * Every batch carries the producer id and a per-partition sequence number, so
 * the broker recognises a retried batch and refuses one that skips ahead.
 * When the producer gives up on a batch (its delivery timeout passed, or a
 * non-retriable error), the partition's sequence has a gap the broker will
 * never see filled, so later batches start a new producer id at sequence 0
 * (a new "generation"). The broker cannot order batches of two different ids,
 * so the producer must:
 *
 * - never send a batch while an older generation's batch of the same
 *   partition is unsettled (in flight, waiting out a backoff, or queued for
 *   a retry): it could still be written, after the newer one;
 * - keep retried batches in seal order, not sequence order (sequence numbers
 *   of different generations do not compare);
 * - give up at once on a batch of an abandoned generation that the broker
 *   refuses as out of sequence: the gap before it is permanent, and waiting
 *   out its delivery timeout would hold up the newer generation behind it.
 */
import type { ProducerIdentity } from "../log/record-codec";

/** A random producer id: unique enough without a round trip, and stable across broker failovers. */
export function randomProducerId(): number {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (high! & 0xfffff) * 2 ** 32 + low! + 1;
}

const SEQUENCE_MODULO = 2 ** 31;

export interface SequencedBatch {
  /** The generation (producer id) it was sealed under. */
  generation: number;
  readonly recordCount: number;
}

export class ProducerSequences {
  private producerId = randomProducerId();
  private generation = 0;
  private readonly next = new Map<string, number>();
  /** Per partition: generation → batches sealed and not yet settled. */
  private readonly unsettled = new Map<string, Map<number, number>>();
  /** "partition\0generation" of generations that gave up on a batch of that partition. */
  private readonly abandoned = new Set<string>();

  /** The identity for the next batch of `recordCount` records for `partition` (its sequence numbers are taken). */
  take(partition: string, recordCount: number): ProducerIdentity {
    const baseSequence = this.next.get(partition) ?? 0;
    this.next.set(partition, (baseSequence + recordCount) % SEQUENCE_MODULO);
    return { producerId: this.producerId, producerEpoch: 0, baseSequence };
  }

  /** `batch` was just sealed with the identity take() gave: it belongs to the current generation until it settles. */
  sealed(partition: string, batch: SequencedBatch): void {
    batch.generation = this.generation;
    let counts = this.unsettled.get(partition);
    if (!counts) this.unsettled.set(partition, (counts = new Map()));
    counts.set(this.generation, (counts.get(this.generation) ?? 0) + 1);
  }

  /** Whether `batch` may be sent now: no older generation's batch of its partition is unsettled. */
  maySend(partition: string, batch: SequencedBatch): boolean {
    const counts = this.unsettled.get(partition);
    if (!counts) return true;
    for (const generation of counts.keys()) if (generation < batch.generation) return false;
    return true;
  }

  /** `batch` was acknowledged or given up on. */
  settled(partition: string, batch: SequencedBatch): void {
    const counts = this.unsettled.get(partition);
    const left = (counts?.get(batch.generation) ?? 0) - 1;
    if (left > 0) counts!.set(batch.generation, left);
    else counts?.delete(batch.generation);
    if (counts?.size === 0) this.unsettled.delete(partition);
  }

  /** The producer gave up on `batch`: its generation can write no more to that partition; the next batches start a new one. */
  gaveUp(partition: string, batch: SequencedBatch): void {
    this.abandoned.add(`${partition}\u0000${batch.generation}`);
    if (batch.generation === this.generation) {
      this.generation++;
      this.producerId = randomProducerId();
      this.next.clear();
    }
    // Nothing unsettled remains of generations before the oldest one still waiting: forget them.
    if (this.abandoned.size > 1000) this.forgetSettledGenerations();
  }

  /** Whether `batch` belongs to a generation that already gave up on a batch of its partition. */
  isAbandoned(partition: string, batch: SequencedBatch): boolean {
    return this.abandoned.has(`${partition}\u0000${batch.generation}`);
  }

  private forgetSettledGenerations(): void {
    for (const key of [...this.abandoned]) {
      const at = key.lastIndexOf("\u0000");
      const counts = this.unsettled.get(key.slice(0, at));
      if (!counts?.has(Number(key.slice(at + 1)))) this.abandoned.delete(key);
    }
  }
}
