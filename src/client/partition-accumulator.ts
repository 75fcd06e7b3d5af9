/** Collects one partition's records into a batch frame, with a promise per record. */
import type { KafkaCloneError } from "../errors";
import { BatchBuilder, type ProducerIdentity, type ProducerRecord } from "../log/record-codec";
import type { RecordMetadata } from "./producer";

interface Settlers {
  resolve: (metadata: RecordMetadata) => void;
  reject: (error: KafkaCloneError) => void;
}

export class SealedBatch {
  attempts = 0;
  /** Seal order within the producer: retried batches go back in this order. */
  order = 0;
  /** Idempotent batches: the producer generation (id) it was sealed under (see producer-sequences.ts). */
  generation = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly frame: Uint8Array,
    readonly recordCount: number,
    readonly deadline: number,
    private readonly settlers: Settlers[],
    /** Idempotent batches: the first record's sequence number; -1 otherwise. */
    readonly baseSequence = -1,
  ) {}

  complete(baseOffset: number): void {
    for (let i = 0; i < this.settlers.length; i++) {
      this.settlers[i]!.resolve({ topic: this.topic, partition: this.partition, offset: baseOffset < 0 ? -1 : baseOffset + i });
    }
  }

  fail(error: KafkaCloneError): void {
    for (const settler of this.settlers) settler.reject(error);
  }
}

const MIN_INITIAL_CAPACITY = 4096;

export class PartitionAccumulator {
  private builder: BatchBuilder;
  private settlers: Settlers[] = [];
  private linger: ReturnType<typeof setTimeout> | null = null;
  private lingerImmediate: ReturnType<typeof setImmediate> | null = null;
  /** The size the last sealed batch reached: the next one starts with about that much room. */
  private lastBatchBytes: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly batchBytes: number,
  ) {
    this.lastBatchBytes = batchBytes;
    this.builder = new BatchBuilder(this.initialCapacity());
  }

  /**
   * Full batches get a buffer of batchBytes at once; batches that linger out
   * small (a moderate rate) get about what the last one used, so a producer
   * sealing a few KiB every millisecond does not allocate (and the GC reclaim)
   * batchBytes each time. A batch that outgrows it grows by doubling.
   */
  private initialCapacity(): number {
    return Math.min(this.batchBytes + 1024, Math.max(MIN_INITIAL_CAPACITY, Math.ceil(this.lastBatchBytes * 1.5)));
  }

  get sizeBytes(): number {
    return this.builder.sizeBytes;
  }

  get recordCount(): number {
    return this.builder.recordCount;
  }

  add(record: ProducerRecord): Promise<RecordMetadata> {
    this.builder.append(record);
    return new Promise((resolve, reject) => this.settlers.push({ resolve, reject }));
  }

  /**
   * Starts the linger timer when the batch got its first record. lingerMs 0
   * means "as soon as the application yields": the batch takes every record
   * sent in this event-loop turn (a 0 ms timer would wait a whole ~1 ms tick).
   */
  armLinger(lingerMs: number, onExpire: () => void): void {
    if (this.linger !== null || this.lingerImmediate !== null) return;
    if (lingerMs <= 0) {
      this.lingerImmediate = setImmediate(() => {
        this.lingerImmediate = null;
        onExpire();
      });
      return;
    }
    this.linger = setTimeout(() => {
      this.linger = null;
      onExpire();
    }, lingerMs);
  }

  seal(deadline: number, identity?: ProducerIdentity): SealedBatch | null {
    if (this.linger !== null) clearTimeout(this.linger);
    if (this.lingerImmediate !== null) clearImmediate(this.lingerImmediate);
    this.linger = null;
    this.lingerImmediate = null;
    if (this.builder.recordCount === 0) return null;
    const frame = this.builder.build(identity);
    const batch = new SealedBatch(this.topic, this.partition, frame, this.builder.recordCount, deadline, this.settlers, identity?.baseSequence ?? -1);
    this.lastBatchBytes = frame.length;
    this.builder = new BatchBuilder(this.initialCapacity());
    this.settlers = [];
    return batch;
  }
}
