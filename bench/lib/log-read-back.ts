/** Reading a whole partition back through PartitionLog.read, and decoding it. */
import { checkFrame, declaredFrameSize } from "../../src/log/batch-frame";
import type { ReadPosition } from "../../src/log/log-read";
import type { PartitionLog } from "../../src/log/partition-log";
import { decodeRecords } from "../../src/log/record-codec";
import { addStats, type CountingIO, diffStats, emptyStats, type IoStats } from "./counting-io";

export interface ReadPhaseResult {
  bytes: number;
  records: number;
  reads: number;
  seconds: number;
  mbPerSec: number;
  io: IoStats;
}

/**
 * Reads [logStartOffset, highWatermark) front to back with `maxBytes` per
 * log.read, following each result's `next`, in steps of about `stepBytes`.
 */
export class PartitionReader {
  private readonly end: number;
  private offset: number;
  private hint: ReadPosition | undefined;
  private bytes = 0;
  private reads = 0;
  private ms = 0;
  private readonly io = emptyStats();

  constructor(
    private readonly log: PartitionLog,
    private readonly counting: CountingIO,
    private readonly maxBytes: number,
    private readonly keep?: (data: Uint8Array) => void,
  ) {
    this.end = log.highWatermark;
    this.offset = log.logStartOffset;
  }

  get done(): boolean {
    return this.offset >= this.end;
  }

  step(stepBytes: number): void {
    const ioBefore = this.counting.snapshot();
    const start = performance.now();
    const stop = this.bytes + stepBytes;
    while (this.offset < this.end && this.bytes < stop) {
      const result = this.log.read(this.offset, this.maxBytes, this.hint);
      if (result.data.length === 0) throw new Error(`read at offset ${this.offset} returned nothing before the end ${this.end}`);
      this.bytes += result.data.length;
      this.reads++;
      this.keep?.(result.data);
      this.offset = result.nextOffset;
      this.hint = result.next;
    }
    this.ms += performance.now() - start;
    addStats(this.io, diffStats(this.counting.snapshot(), ioBefore));
  }

  finish(): ReadPhaseResult {
    return {
      bytes: this.bytes,
      records: this.offset - this.log.logStartOffset,
      reads: this.reads,
      seconds: this.ms / 1000,
      mbPerSec: this.bytes / 1e6 / (this.ms / 1000),
      io: this.io,
    };
  }
}

/** Collects up to `limitBytes` of read results to decode later. */
export function collectChunks(limitBytes: number): { chunks: Uint8Array[]; keep: (data: Uint8Array) => void } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  return {
    chunks,
    keep: (data) => {
      if (total >= limitBytes) return;
      chunks.push(data);
      total += data.length;
    },
  };
}

export interface DecodeResult {
  bytes: number;
  records: number;
  frames: number;
  /** decodeRecords over every frame (records/s and MB/s). */
  decodeSeconds: number;
  decodeRecordsPerSec: number;
  decodeMbPerSec: number;
  /** checkFrame (length, version, CRC-32) over every frame. */
  checkSeconds: number;
  checkMbPerSec: number;
}

export function measureDecode(chunks: Uint8Array[]): DecodeResult {
  let bytes = 0;
  let records = 0;
  let frames = 0;
  const decodeStart = performance.now();
  for (const chunk of chunks) {
    for (let pos = 0; pos < chunk.length; ) {
      const size = declaredFrameSize(chunk, pos);
      records += decodeRecords(chunk, pos).length;
      frames++;
      pos += size;
    }
    bytes += chunk.length;
  }
  const decodeSeconds = (performance.now() - decodeStart) / 1000;
  const checkStart = performance.now();
  for (const chunk of chunks) {
    for (let pos = 0; pos < chunk.length; ) {
      const check = checkFrame(chunk, pos);
      if (!check.ok) throw new Error(`frame at ${pos} failed its check: ${check.reason}`);
      pos += check.header.frameSize;
    }
  }
  const checkSeconds = (performance.now() - checkStart) / 1000;
  return {
    bytes,
    records,
    frames,
    decodeSeconds,
    decodeRecordsPerSec: records / decodeSeconds,
    decodeMbPerSec: bytes / 1e6 / decodeSeconds,
    checkSeconds,
    checkMbPerSec: bytes / 1e6 / checkSeconds,
  };
}
