/**
 * A consumer reading the topic from the beginning while the faults happen,
 * keeping every record it receives in arrival order (the checker looks for
 * offsets going backwards or skipped, and for offsets whose record differs
 * from the final read). A consumer that gives up (no active broker for its
 * whole discovery timeout) is replaced by one resuming at its positions.
 */
import { Consumer } from "../../src/client/consumer";
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import { asKafkaCloneError } from "../../src/errors";
import { type PartitionReads, recordId } from "./history";

const decoder = new TextDecoder();

export class LiveReader {
  readonly reads = new Map<number, PartitionReads>();
  /** Why earlier consumers gave up (each was replaced). */
  readonly restarts: string[] = [];
  private consumer: Consumer | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private positions = new Map<number, number>();

  constructor(
    private readonly clientOptions: () => ClusterClientOptions,
    private readonly topic: string,
  ) {}

  get recordCount(): number {
    let n = 0;
    for (const reads of this.reads.values()) n += reads.offsets.length;
    return n;
  }

  start(): void {
    this.running = this.loop();
  }

  /** The next offset this reader will receive, per partition. */
  position(partition: number): number {
    const reads = this.reads.get(partition);
    return reads && reads.offsets.length > 0 ? reads.offsets[reads.offsets.length - 1]! + 1 : 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.consumer?.close();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const consumer = new Consumer({
        ...this.clientOptions(),
        topic: this.topic,
        start: { type: "earliest" },
        startOffsets: this.positions,
      });
      this.consumer = consumer;
      try {
        await consumer.start();
        for await (const batch of consumer.batches()) {
          for (const record of batch) {
            let reads = this.reads.get(record.partition);
            if (!reads) this.reads.set(record.partition, (reads = { offsets: [], values: [] }));
            reads.offsets.push(record.offset);
            reads.values.push(record.value === null ? "" : recordId(decoder.decode(record.value)));
          }
        }
      } catch (error) {
        if (!this.stopped) this.restarts.push(asKafkaCloneError(error).describe());
      } finally {
        for (const [partition, offset] of consumer.positions()) this.positions.set(partition, offset);
        consumer.close();
      }
      if (!this.stopped) await Bun.sleep(100);
    }
  }
}
