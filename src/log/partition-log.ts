/**
 * One partition's log: an ordered list of segments, the last one active.
 *
 * Appends get their offsets at once; their bytes are written in one `writev`
 * per event-loop turn and made durable by one fdatasync shared by everything
 * written meanwhile (group-commit.ts). Readers only see durable bytes, so
 * nothing a consumer reads can vanish in a crash.
 */
import { KafkaCloneError } from "../errors";
import { type AppendPlan, planAppend } from "./append-plan";
import { checkFrames } from "./batch-frame";
import { type FileIO, storageError, writeFully } from "./file-io";
import { GroupCommit } from "./group-commit";
import type { LogConfig } from "./log-config";
import { expiredSegmentCount } from "./log-retention";
import type { LogObserver } from "./log-observer";
import { OffsetWaiters } from "./offset-waiters";
import { type ReadPosition, type ReadResult, offsetForTimestamp, readFromLog } from "./log-read";
import { ProducerStateTable } from "./producer-state";
import { type AppendedFrame, Segment } from "./segment";

export type Acks = "all" | "1" | "0";

export interface AppendResult {
  /** The base offset of each frame, in order; a retried idempotent batch gets its original one. */
  baseOffsets: number[];
  /** The offset after the last record appended or recognised: wait for this one. */
  nextOffset: number;
}

interface PendingWrite {
  chunks: Uint8Array[];
  frames: AppendedFrame[];
}

export class PartitionLog {
  private nextOffsetValue: number;
  private writtenOffset: number;
  private pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private writeScheduled = false;
  private readonly writtenWaiters = new OffsetWaiters();
  private readonly commit: GroupCommit;
  private failure: KafkaCloneError | null = null;
  /** Set by the log manager: true once a newer leader owns the data directory. */
  isFenced: () => boolean = () => false;
  /** Set by the log manager: told of appends and storage errors. */
  observer: LogObserver | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly io: FileIO,
    public config: LogConfig,
    /** Ascending by base offset; the last one is active. Recovery hands them over consistent. */
    private readonly segments: Segment[],
    /** Idempotent producers' recent batches, as of the log end. */
    readonly producers: ProducerStateTable = new ProducerStateTable(),
  ) {
    const end = this.active.nextOffset;
    this.nextOffsetValue = end;
    this.writtenOffset = end;
    this.commit = new GroupCommit(io, {
      writtenOffset: () => this.writtenOffset,
      stopped: () => this.failure !== null || this.closed,
      failed: (error) => {
        this.failure = error;
        this.observer?.storageError?.(this.topic, this.partition, error);
        this.failWaiters(error);
      },
    }, end);
  }

  private get durableOffset(): number {
    return this.commit.durableOffset;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get logStartOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): number {
    return this.nextOffsetValue;
  }

  /** The offset after the last durable record: the end readers see. */
  get highWatermark(): number {
    return this.durableOffset;
  }

  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total + this.pendingBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The error that stopped this log from accepting writes, if any. */
  get storageFailure(): KafkaCloneError | null {
    return this.failure;
  }

  /**
   * Appends one or more frames laid back to back in `data` (which the log now
   * owns and stamps in place). A bad frame (INVALID_RECORD, CORRUPT_MESSAGE)
   * or an idempotence violation (OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH)
   * throws before anything is appended; a retried idempotent batch already in
   * the log is not appended again.
   */
  append(data: Uint8Array, leaderEpoch: number): AppendResult {
    this.assertWritable();
    const headers = checkFrames(data);
    this.maybeRoll(data.length);
    const startOffset = this.nextOffsetValue;
    let plan: AppendPlan;
    try {
      plan = planAppend(data, headers, startOffset, this.active.size + this.pendingBytes, leaderEpoch, this.producers);
    } catch (error) {
      this.producers.truncateTo(startOffset);
      throw error;
    }
    if (plan.frames.length > 0) {
      this.nextOffsetValue = plan.nextOffset;
      this.pending.push({ chunks: plan.chunks, frames: plan.frames });
      this.pendingBytes += plan.bytes;
      this.scheduleWrite();
      this.observer?.appended?.(this.topic, this.partition, plan.nextOffset - startOffset, plan.bytes);
    }
    return { baseOffsets: plan.baseOffsets, nextOffset: plan.waitUntil };
  }

  /**
   * Refuses every write from now on with `error` (the broker found the disk
   * unusable): appends throw it, waiting acknowledgements fail with it, reads
   * of what is durable go on. Only reopening the log undoes it.
   */
  fail(error: KafkaCloneError): void {
    if (this.failure) return;
    this.failure = error;
    this.failWaiters(error, this.durableOffset);
  }

  /** Resolves when everything before `offset` is written (acks=1) or fsynced (acks=all). */
  waitFor(offset: number, acks: Acks): Promise<void> {
    if (acks === "0") return Promise.resolve();
    const done = acks === "all" ? this.durableOffset : this.writtenOffset;
    if (offset <= done) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(this.closedError());
    // Nothing was appended there: waiting would hang (and hold up every later waiter).
    if (offset > this.nextOffsetValue) return Promise.reject(this.outOfRange(offset, `its end ${this.nextOffsetValue}`));
    return acks === "all" ? this.commit.wait(offset) : this.writtenWaiters.wait(offset);
  }

  /** Calls `listener` each time the high watermark advances; returns an unsubscribe function. */
  onDurable(listener: () => void): () => void {
    return this.commit.onDurable(listener);
  }

  read(offset: number, maxBytes: number, hint?: ReadPosition): ReadResult {
    if (offset < this.logStartOffset || offset > this.durableOffset) {
      throw this.outOfRange(offset, `its range [${this.logStartOffset}, ${this.durableOffset}]`);
    }
    return readFromLog(this.io, this.segments, offset, this.durableOffset, maxBytes, this.config.indexIntervalBytes, hint);
  }

  /** The first offset whose record timestamp is >= `timestamp`, or null when there is none. */
  offsetForTimestamp(timestamp: number): number | null {
    return offsetForTimestamp(this.io, this.segments, timestamp, this.durableOffset, this.config.indexIntervalBytes);
  }

  /** Starts a new active segment at the log end (size and age rolls). */
  roll(): void {
    this.assertWritable();
    if (this.isFenced()) throw new KafkaCloneError("FENCED_LEADER_EPOCH", `${this.topic}-${this.partition}: a newer leader owns the log`);
    if (this.active.isEmpty && this.pendingBytes === 0) return;
    this.writePending();
    if (this.failure) throw this.failure;
    // A failed write may have left the active segment empty again: keep it.
    if (this.active.isEmpty) return;
    const sealed = this.active;
    try {
      sealed.seal();
      this.segments.push(Segment.create(this.io, this.dir, this.nextOffsetValue));
    } catch (error) {
      throw storageError(`rolling ${this.topic}-${this.partition}`, error);
    }
    sealed.releaseIndexes();
  }

  /**
   * A new leader's first act: appends go to a file no earlier leader has
   * open. A non-empty active segment is rolled; an empty one is replaced.
   */
  startFreshSegment(): void {
    this.writePending();
    if (!this.active.isEmpty || this.pendingBytes > 0) {
      this.roll();
      return;
    }
    try {
      this.segments[this.segments.length - 1] = Segment.replaceEmpty(this.io, this.active);
    } catch (error) {
      throw storageError(`replacing the empty segment of ${this.topic}-${this.partition}`, error);
    }
  }

  /** Deletes whole sealed segments past the retention limits; returns how many went. */
  enforceRetention(nowMs = Date.now()): number {
    const busy = (segment: Segment) => this.commit.busy(segment);
    const expired = this.segments.splice(0, expiredSegmentCount(this.segments, this.sizeBytes, this.config, nowMs, busy));
    for (const segment of expired) segment.delete();
    if (expired.length > 0) this.io.syncDirectory(this.dir);
    return expired.length;
  }

  /**
   * Makes everything below the durable end recoverable without a scan —
   * index entries fsynced, the idempotent-producer state snapshotted — and
   * returns that offset for the recovery checkpoint to name.
   */
  async prepareCheckpoint(): Promise<number> {
    const point = this.durableOffset;
    if (this.closing !== null) return point;
    const active = this.active;
    await Promise.all([active.offsetIndex.syncAsync(), active.timeIndex.syncAsync(), this.producers.writeSnapshotAsync(this.dir, point)]);
    return point;
  }

  /** Writes and fsyncs everything pending, then closes the files. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.writePending();
    await this.commit.sync();
    this.closed = true;
    // A deposed leader leaves the files alone: they belong to the new one now.
    if (this.failure === null && !this.isFenced()) {
      this.active.markEnd();
      this.producers.writeSnapshot(this.dir, this.durableOffset);
    }
    this.failWaiters(this.closedError());
    let closeError: unknown = null;
    for (const segment of this.segments) {
      try {
        segment.close();
      } catch (error) {
        closeError ??= error;
      }
    }
    // A failed log's disk is known to be broken: its files are closed, which is all that matters now.
    if (closeError !== null && this.failure === null) throw closeError;
  }

  private assertWritable(): void {
    if (this.closing !== null) throw this.closedError();
    if (this.failure) throw this.failure;
  }

  private closedError(): KafkaCloneError {
    return new KafkaCloneError("LOG_CLOSED", `${this.topic}-${this.partition} is closed`);
  }

  private outOfRange(offset: number, limits: string): KafkaCloneError {
    return new KafkaCloneError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside ${this.topic}-${this.partition}: ${limits}`);
  }

  /** Rejects the waiters above `offset` (all of them by default). */
  private failWaiters(error: KafkaCloneError, above?: number): void {
    this.writtenWaiters.fail(error, above);
    this.commit.failWaiters(error, above);
  }

  private maybeRoll(incomingBytes: number): void {
    const active = this.active;
    const projected = active.size + this.pendingBytes;
    if (projected === 0) return;
    const tooBig = projected + incomingBytes > this.config.segmentBytes;
    const tooOld = Date.now() - active.createdAtMs > this.config.segmentMs;
    if (tooBig || tooOld) this.roll();
  }

  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.writePending();
      void this.commit.sync();
    });
  }

  /** One writev for everything appended since the last write. */
  private writePending(): void {
    if (this.pending.length === 0 || this.failure || this.closed) return;
    const batch = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const segment = this.active;
    try {
      writeFully(this.io, segment.fd, batch.flatMap((p) => p.chunks), bytes);
    } catch (error) {
      this.rollBackUnwritten(segment, error);
      return;
    }
    segment.size += bytes;
    for (const write of batch) for (const frame of write.frames) segment.noteAppended(frame, this.config.indexIntervalBytes);
    this.writtenOffset = segment.nextOffset;
    this.commit.written(segment);
    this.writtenWaiters.reach(this.writtenOffset);
  }

  /** A failed write leaves the log as it was before it: cut any partial bytes, forget the offsets. */
  private rollBackUnwritten(segment: Segment, error: unknown): void {
    const failure = storageError(`writing ${segment.logPath}`, error);
    this.nextOffsetValue = this.writtenOffset;
    this.producers.truncateTo(this.writtenOffset);
    try {
      this.io.truncate(segment.fd, segment.size);
    } catch (truncateError) {
      // The file now holds bytes the log does not know: stop writing, acknowledge nothing more.
      this.failure = storageError(`cutting a partial write from ${segment.logPath}`, truncateError);
      this.observer?.storageError?.(this.topic, this.partition, this.failure);
      this.failWaiters(this.failure);
      return;
    }
    this.observer?.storageError?.(this.topic, this.partition, failure);
    this.failWaiters(failure, this.writtenOffset);
  }
}
