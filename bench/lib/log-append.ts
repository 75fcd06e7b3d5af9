/**
 * Log append phases: several producers keep one batch each in flight against
 * one partition, so group commit can share writes and fsyncs between them.
 */
import type { LogConfig } from "../../src/log/log-config";
import type { LogManager } from "../../src/log/log-manager";
import type { Acks, PartitionLog } from "../../src/log/partition-log";
import { BatchBuilder } from "../../src/log/record-codec";
import { addStats, type CountingIO, diffStats, emptyStats, type IoStats } from "./counting-io";

export interface PrebuiltFrame {
  data: Uint8Array;
  records: number;
}

/** One frame of `recordBytes`-byte values (no key), filled up to about `batchBytes`. */
export function buildFrame(recordBytes: number, batchBytes: number, seed: number): PrebuiltFrame {
  const builder = new BatchBuilder(batchBytes + recordBytes + 256);
  const value = new Uint8Array(recordBytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  const timestamp = Date.now();
  while (builder.recordCount === 0 || builder.sizeBytes + recordBytes + 8 <= batchBytes) {
    for (let i = 0; i < value.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      value[i] = x & 0xff;
    }
    builder.append({ value, timestamp });
  }
  return { records: builder.recordCount, data: builder.build() };
}

export interface EncodeRate {
  recordBytes: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
}

/** How fast BatchBuilder encodes records (producer-side cost, for reference). */
export function measureEncode(recordBytes: number, batchBytes: number, totalBytes: number): EncodeRate {
  const value = new Uint8Array(recordBytes).fill(7);
  const timestamp = Date.now();
  let records = 0;
  let bytes = 0;
  const start = performance.now();
  while (bytes < totalBytes) {
    const builder = new BatchBuilder(batchBytes + recordBytes + 256);
    while (builder.recordCount === 0 || builder.sizeBytes + recordBytes + 8 <= batchBytes) builder.append({ value, timestamp });
    records += builder.recordCount;
    bytes += builder.build().length;
  }
  const seconds = (performance.now() - start) / 1000;
  return { recordBytes, records, seconds, recordsPerSec: records / seconds };
}

export interface AppendPhaseOptions {
  topic: string;
  recordBytes: number;
  batchBytes: number;
  acks: Acks;
  inflight: number;
  maxBytes: number;
  maxSeconds: number;
  /** Topic settings (e.g. segmentBytes) for the topic this phase creates. */
  overrides?: Partial<LogConfig>;
}

export interface AppendPhaseResult {
  topic: string;
  recordBytes: number;
  acks: Acks;
  records: number;
  bytes: number;
  batches: number;
  recordsPerBatch: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** MB/s of each step (one step when not interleaved). */
  stepMbPerSec: number[];
  /** Time spent inside PartitionLog.append (frame check + CRC + stamping). */
  appendCallMs: number;
  /** CPU time of the process over wall time (1.0 = one core busy). */
  cpuCores: number;
  /** For acks=1: extra time until the background fsyncs caught up. */
  drainSeconds: number;
  io: IoStats;
}

/** Creates the phase's one-partition topic and appends to it. */
export async function runAppendPhase(manager: LogManager, counting: CountingIO, options: AppendPhaseOptions): Promise<AppendPhaseResult> {
  manager.createTopic(options.topic, 1, options.overrides ?? {});
  return appendLoop(manager.partition(options.topic, 0), counting, options);
}

export async function appendLoop(log: PartitionLog, counting: CountingIO, options: AppendPhaseOptions): Promise<AppendPhaseResult> {
  const appender = new LogAppender(log, counting, options);
  await appender.step(options.maxBytes);
  return appender.finish();
}

/**
 * Appends in steps (so the benchmark can interleave them with raw writes),
 * adding up time, bytes and I/O over the steps. Each of `inflight` producers
 * owns one frame and appends it again once the previous append was acked.
 */
export class LogAppender {
  private readonly frames: PrebuiltFrame[];
  private bytes = 0;
  private records = 0;
  private batches = 0;
  private ms = 0;
  private readonly steps: number[] = [];
  private appendCallMs = 0;
  private cpuMicros = 0;
  private readonly io = emptyStats();

  constructor(
    private readonly log: PartitionLog,
    private readonly counting: CountingIO,
    private readonly options: AppendPhaseOptions,
  ) {
    this.frames = Array.from({ length: options.inflight }, (_, i) => buildFrame(options.recordBytes, options.batchBytes, i + 1));
  }

  /** False once the phase's byte or time budget is spent. */
  get more(): boolean {
    return this.bytes + this.frames[0]!.data.length <= this.options.maxBytes && this.ms < this.options.maxSeconds * 1000;
  }

  /** Appends about `stepBytes` more (whole frames, within the phase's budgets). */
  async step(stepBytes: number): Promise<void> {
    const log = this.log;
    const acks = this.options.acks;
    const limit = Math.min(this.options.maxBytes, this.bytes + stepBytes);
    const ioBefore = this.counting.snapshot();
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const deadline = start + this.options.maxSeconds * 1000 - this.ms;
    const producer = async (frame: PrebuiltFrame): Promise<void> => {
      while (this.bytes + frame.data.length <= limit && performance.now() < deadline) {
        const t = performance.now();
        const { nextOffset } = log.append(frame.data, 0);
        this.appendCallMs += performance.now() - t;
        this.bytes += frame.data.length;
        this.records += frame.records;
        this.batches++;
        await log.waitFor(nextOffset, acks);
      }
    };
    const bytesBefore = this.bytes;
    await Promise.all(this.frames.map(producer));
    const ms = performance.now() - start;
    this.ms += ms;
    if (this.bytes > bytesBefore) this.steps.push((this.bytes - bytesBefore) / 1e3 / ms);
    const cpu = process.cpuUsage(cpuBefore);
    this.cpuMicros += cpu.user + cpu.system;
    addStats(this.io, diffStats(this.counting.snapshot(), ioBefore));
  }

  /** Waits until everything appended is durable (not counted in the rate) and returns the figures. */
  async finish(): Promise<AppendPhaseResult> {
    const drainStart = performance.now();
    await this.log.waitFor(this.log.logEndOffset, "all");
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const seconds = this.ms / 1000;
    return {
      topic: this.log.topic,
      recordBytes: this.options.recordBytes,
      acks: this.options.acks,
      records: this.records,
      bytes: this.bytes,
      batches: this.batches,
      recordsPerBatch: this.frames[0]!.records,
      seconds,
      recordsPerSec: this.records / seconds,
      mbPerSec: this.bytes / 1e6 / seconds,
      stepMbPerSec: this.steps,
      appendCallMs: this.appendCallMs,
      cpuCores: this.cpuMicros / 1000 / this.ms,
      drainSeconds,
      io: this.io,
    };
  }
}
