/**
 * One segment: `<base>.log` holding frames back to back, a sparse `.index`
 * (relative offset → position, an entry every `indexIntervalBytes`) and a
 * `.timeindex` (max timestamp before a relative offset → that offset).
 */
import fs from "node:fs";
import path from "node:path";
import { KafkaCloneError } from "../errors";
import type { BatchHeader } from "./batch-frame";
import type { FileIO } from "./file-io";
import { scanFrames } from "./frame-scanner";
import { IndexFile } from "./index-file";

export const NO_TIMESTAMP = -1;

export function segmentFileName(baseOffset: number, extension: "log" | "index" | "timeindex"): string {
  return `${String(baseOffset).padStart(20, "0")}.${extension}`;
}

/** The base offset a `.log` file name stands for, or null when it is not a segment name. */
export function parseSegmentFileName(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name);
  if (!match) return null;
  const base = Number(match[1]);
  return Number.isSafeInteger(base) ? base : null;
}

export interface AppendedFrame {
  position: number;
  baseOffset: number;
  recordCount: number;
  maxTimestamp: number;
  size: number;
}

export class Segment {
  readonly fd: number;
  /** Bytes written to the file. */
  size: number;
  /** Bytes known to be fsynced; readers never look past this. */
  durableSize: number;
  /** The offset after the last batch written; exact for segments recovery scanned or that were written here. */
  nextOffset: number;
  maxTimestamp = NO_TIMESTAMP;
  readonly createdAtMs: number;
  readonly offsetIndex: IndexFile;
  readonly timeIndex: IndexFile;
  private indexesLoaded: boolean;
  private bytesSinceIndexEntry = 0;
  private timestampAtLastTimeEntry = NO_TIMESTAMP;

  private constructor(
    private readonly io: FileIO,
    readonly dir: string,
    readonly baseOffset: number,
    fresh: boolean,
  ) {
    // A new segment never takes over a file that exists: a deposed leader still
    // running must not be able to replace a segment the current one writes.
    this.fd = io.openAppend(this.logPath, fresh);
    this.size = io.size(this.fd);
    this.durableSize = this.size;
    this.nextOffset = baseOffset;
    this.createdAtMs = fresh ? Date.now() : fileBirthMs(this.logPath);
    this.offsetIndex = new IndexFile(io, this.filePath("index"), { keyBytes: 4 });
    this.timeIndex = new IndexFile(io, this.filePath("timeindex"), { keyBytes: 8 });
    this.indexesLoaded = fresh;
  }

  static create(io: FileIO, dir: string, baseOffset: number): Segment {
    const segment = new Segment(io, dir, baseOffset, true);
    segment.offsetIndex.clear();
    segment.timeIndex.clear();
    io.syncDirectory(dir);
    return segment;
  }

  /**
   * Swaps an empty segment for a new file at the same base. Whoever still has
   * the old file open (a deposed leader) now writes to an unlinked inode.
   */
  static replaceEmpty(io: FileIO, segment: Segment): Segment {
    segment.delete();
    return Segment.create(io, segment.dir, segment.baseOffset);
  }

  /** Opens an existing segment without reading it; indexes load on first use. */
  static open(io: FileIO, dir: string, baseOffset: number): Segment {
    return new Segment(io, dir, baseOffset, false);
  }

  get logPath(): string {
    return this.filePath("log");
  }

  filePath(extension: "log" | "index" | "timeindex"): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, extension));
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Records index entries for frames just written at their positions. */
  noteAppended(frame: AppendedFrame, indexIntervalBytes: number): void {
    if (frame.position > 0 && this.bytesSinceIndexEntry >= indexIntervalBytes) {
      const relative = frame.baseOffset - this.baseOffset;
      this.offsetIndex.append(relative, frame.position);
      if (this.maxTimestamp > this.timestampAtLastTimeEntry) {
        this.timeIndex.append(this.maxTimestamp, relative);
        this.timestampAtLastTimeEntry = this.maxTimestamp;
      }
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += frame.size;
    if (frame.maxTimestamp > this.maxTimestamp) this.maxTimestamp = frame.maxTimestamp;
    this.nextOffset = frame.baseOffset + frame.recordCount;
  }

  /**
   * At a clean close: index entries for the log end (offset → file size, and
   * the max timestamp before it), so reopening at this recovery point reads nothing.
   */
  markEnd(): void {
    if (this.size === 0) return;
    const relative = this.nextOffset - this.baseOffset;
    if ((this.offsetIndex.last()?.value ?? 0) < this.size) this.offsetIndex.append(relative, this.size);
    if ((this.timeIndex.last()?.value ?? -1) < relative) this.timeIndex.append(this.maxTimestamp, relative);
    this.bytesSinceIndexEntry = 0;
    this.timestampAtLastTimeEntry = this.maxTimestamp;
  }

  /** Adds a closing time entry so a sealed segment's max timestamp is known without reading it. */
  seal(): void {
    const span = this.nextOffset - this.baseOffset;
    // Always ends at the segment's end, so a time index cut short is recognisable.
    if (span > 0 && (this.timeIndex.last()?.value ?? -1) < span) {
      this.timeIndex.append(this.maxTimestamp, span);
      this.timestampAtLastTimeEntry = this.maxTimestamp;
    }
    this.offsetIndex.sync();
    this.timeIndex.sync();
  }

  /**
   * Loads a sealed segment's indexes, rebuilding them from the log when they
   * are missing or implausible. `nextOffset` must already be set.
   */
  ensureIndexes(indexIntervalBytes: number): void {
    if (this.indexesLoaded) return;
    const offsetSpan = this.nextOffset - this.baseOffset;
    // An entry may point at the very end: the one a clean close leaves.
    const offsetsOk = this.offsetIndex.load(this.size + 1, offsetSpan);
    const timesOk = this.timeIndex.load(offsetSpan + 1);
    const offsetsMissing = this.offsetIndex.length === 0 && this.size > indexIntervalBytes * 2;
    const timesIncomplete = this.size > 0 && this.timeIndex.last()?.value !== offsetSpan;
    if (!offsetsOk || !timesOk || offsetsMissing || timesIncomplete) {
      this.rebuildIndexes(indexIntervalBytes);
    } else {
      this.maxTimestamp = this.timeIndex.last()?.key ?? NO_TIMESTAMP;
      this.timestampAtLastTimeEntry = this.maxTimestamp;
    }
    this.indexesLoaded = true;
  }

  /** Rebuilds both indexes by scanning the whole log file; corruption is an error. */
  rebuildIndexes(indexIntervalBytes: number): void {
    const end = this.nextOffset;
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.bytesSinceIndexEntry = 0;
    this.maxTimestamp = NO_TIMESTAMP;
    this.timestampAtLastTimeEntry = NO_TIMESTAMP;
    const result = scanFrames(this.io, this.fd, 0, this.size, ({ position, header }) => {
      // Frames at or past the segment's end were written by a deposed leader: not part of the log.
      if (header.baseOffset >= end) return false;
      this.noteAppended(frameOf(position, header), indexIntervalBytes);
    });
    if (result.stopReason !== null) {
      throw new KafkaCloneError(
        "CORRUPT_MESSAGE",
        `${this.logPath}: invalid batch at position ${result.validEnd} while rebuilding its index: ${result.stopReason}`,
      );
    }
    // clear() emptied the files; seal() writes every entry and fsyncs them.
    this.seal();
    this.indexesLoaded = true;
  }

  /**
   * Prepares recovery from a batch boundary the caller trusts: keeps the index
   * entries up to it (loaded beforehand) so scanning can resume there.
   */
  resumeIndexingAt(position: number, offset: number): void {
    const relative = offset - this.baseOffset;
    if (position === 0) {
      this.offsetIndex.clear();
      this.timeIndex.clear();
    } else {
      this.offsetIndex.truncateWhile((e) => e.value <= position);
      this.timeIndex.truncateWhile((e) => e.value <= relative);
    }
    this.maxTimestamp = this.timeIndex.last()?.key ?? NO_TIMESTAMP;
    this.timestampAtLastTimeEntry = this.maxTimestamp;
    const lastEntry = this.offsetIndex.last();
    this.bytesSinceIndexEntry = lastEntry === null ? position : position - lastEntry.value;
    this.nextOffset = offset;
    this.indexesLoaded = true;
  }

  /** Drops bytes from `position` on (a torn tail), with their index entries. */
  truncateTo(position: number, nextOffset: number): void {
    this.io.truncate(this.fd, position);
    this.size = position;
    this.durableSize = Math.min(this.durableSize, position);
    const relative = nextOffset - this.baseOffset;
    this.offsetIndex.truncateWhile((e) => e.value < position);
    this.timeIndex.truncateWhile((e) => e.value <= relative);
    this.nextOffset = nextOffset;
  }

  /** A position at or before the batch holding `offset`. */
  lookupPosition(offset: number): number {
    return this.offsetIndex.floor(offset - this.baseOffset)?.value ?? 0;
  }

  /** The relative offset from which no earlier record has a timestamp >= `timestamp`. */
  lookupTimestamp(timestamp: number): number {
    return this.timeIndex.floor(timestamp - 1)?.value ?? 0;
  }

  /** Closes the file descriptors; index entries are fsynced first, for a clean reopen. */
  /** Syncs the indexes and closes every file; the files are closed even when a sync fails (a failing disk). */
  close(): void {
    try {
      this.offsetIndex.sync();
      this.timeIndex.sync();
    } finally {
      try {
        this.offsetIndex.close();
      } finally {
        try {
          this.timeIndex.close();
        } finally {
          this.io.close(this.fd);
        }
      }
    }
  }

  /** Frees a sealed segment's in-memory indexes; they reload on demand. */
  releaseIndexes(): void {
    this.offsetIndex.release();
    this.timeIndex.release();
    this.indexesLoaded = false;
  }

  delete(): void {
    this.close();
    for (const ext of ["log", "index", "timeindex"] as const) fs.rmSync(this.filePath(ext), { force: true });
  }
}

export function frameOf(position: number, header: BatchHeader): AppendedFrame {
  return {
    position,
    baseOffset: header.baseOffset,
    recordCount: header.recordCount,
    maxTimestamp: header.maxTimestamp,
    size: header.frameSize,
  };
}

function fileBirthMs(file: string): number {
  const stat = fs.statSync(file);
  return stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
}
