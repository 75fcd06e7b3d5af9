/**
 * A partition's durability: fsyncs what has been written, one run at a time,
 * each fdatasync shared by everything written while the previous one ran
 * (group commit). Owns the durable offset — the high watermark readers see —
 * and the callers waiting for it.
 */
import type { KafkaCloneError } from "../errors";
import { type FileIO, storageError } from "./file-io";
import { OffsetWaiters } from "./offset-waiters";
import type { Segment } from "./segment";

export interface GroupCommitHost {
  /** The offset after the last byte written: what the next fsync makes durable. */
  writtenOffset(): number;
  /** No more fsyncs (the log failed or closed). */
  stopped(): boolean;
  /** An fsync failed: the page cache's state is unknown, so the log must stop writing. */
  failed(error: KafkaCloneError): void;
}

export class GroupCommit {
  private run: Promise<void> | null = null;
  /** Segments written since the last fsync started, and those whose fsync is in flight. */
  private readonly unsynced = new Set<Segment>();
  private readonly syncing = new Set<Segment>();
  private readonly waiters = new OffsetWaiters();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly io: FileIO,
    private readonly host: GroupCommitHost,
    public durableOffset: number,
  ) {}

  /** `segment` got bytes that are not fsynced yet. */
  written(segment: Segment): void {
    this.unsynced.add(segment);
  }

  /** Whether `segment` has bytes not yet durable or an fsync in flight (it must not be deleted). */
  busy(segment: Segment): boolean {
    return this.unsynced.has(segment) || this.syncing.has(segment);
  }

  wait(offset: number): Promise<void> {
    return this.waiters.wait(offset);
  }

  failWaiters(error: KafkaCloneError, above?: number): void {
    this.waiters.fail(error, above);
  }

  /** Calls `listener` each time the durable offset advances; returns an unsubscribe function. */
  onDurable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs fsyncs until everything written is durable; at most one run at a time. */
  sync(): Promise<void> {
    if (this.run !== null) return this.run;
    if (this.host.stopped() || this.durableOffset >= this.host.writtenOffset()) return Promise.resolve();
    // The loop awaits at least once, so `finally` runs after `run` is assigned.
    const run = (async () => {
      try {
        while (!this.host.stopped() && this.durableOffset < this.host.writtenOffset()) await this.syncOnce();
      } finally {
        this.run = null;
      }
    })();
    this.run = run;
    return run;
  }

  private async syncOnce(): Promise<void> {
    const target = this.host.writtenOffset();
    const segments = [...this.unsynced].map((segment) => ({ segment, size: segment.size }));
    this.unsynced.clear();
    for (const { segment } of segments) this.syncing.add(segment);
    try {
      await Promise.all(segments.map(({ segment }) => this.io.datasync(segment.fd)));
    } catch (error) {
      this.host.failed(storageError("fsync", error));
      return;
    } finally {
      this.syncing.clear();
    }
    for (const { segment, size } of segments) segment.durableSize = Math.max(segment.durableSize, size);
    this.durableOffset = target;
    this.waiters.reach(target);
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's own failure must not stop the fsync loop for every other caller.
      }
    }
  }
}
