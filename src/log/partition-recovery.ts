/**
 * Opens a partition directory and recovers its exact log end.
 *
 * Everything before the recovery point was fsynced and checkpointed, so it is
 * trusted without being read. Recovery scans from the last index entry before
 * that point to the end, keeps the longest valid prefix, and truncates a torn
 * tail. An invalid batch before the recovery point is corruption: an error.
 *
 * Idempotent-producer state comes from the snapshot taken with the checkpoint
 * plus the batches scanned after it; without a usable snapshot the batches
 * before the scan are replayed too.
 */
import fs from "node:fs";
import { KafkaCloneError } from "../errors";
import { readBatchHeader, HEADER_SIZE } from "./batch-frame";
import { readAt, type FileIO } from "./file-io";
import { scanFrames } from "./frame-scanner";
import type { LogConfig } from "./log-config";
import { floorSegmentIndex } from "./log-read";
import { PartitionLog } from "./partition-log";
import { ProducerStateTable } from "./producer-state";
import { frameOf, parseSegmentFileName, Segment } from "./segment";

export interface RecoveryOptions {
  io: FileIO;
  config: LogConfig;
  topic: string;
  partition: number;
  dir: string;
  /** The checkpointed offset below which the log is durable, or null to scan everything. */
  recoveryPoint: number | null;
}

export interface RecoveryReport {
  scannedBytes: number;
  truncatedBytes: number;
  removedSegments: number;
  nextOffset: number;
  /** Why the tail was cut, when it was. */
  truncationReason: string | null;
}

export function openPartitionLog(options: RecoveryOptions): { log: PartitionLog; report: RecoveryReport } {
  const { io, dir, config } = options;
  fs.mkdirSync(dir, { recursive: true });
  const segments = listSegments(dir).map((base) => Segment.open(io, dir, base));
  const report: RecoveryReport = { scannedBytes: 0, truncatedBytes: 0, removedSegments: 0, nextOffset: 0, truncationReason: null };
  if (segments.length === 0) {
    if ((options.recoveryPoint ?? 0) > 0) {
      throw new KafkaCloneError("CORRUPT_MESSAGE", `${dir}: no segments, but the recovery point is ${options.recoveryPoint}`);
    }
    segments.push(Segment.create(io, dir, 0));
  }
  const firstBase = segments[0]!.baseOffset;
  const recoveryPoint = options.recoveryPoint === null ? null : Math.max(options.recoveryPoint, firstBase);
  const startIndex = recoveryPoint === null ? 0 : floorSegmentIndex(segments, recoveryPoint);
  for (let i = 0; i < startIndex; i++) segments[i]!.nextOffset = segments[i + 1]!.baseOffset;

  let { position, offset } = resumePoint(io, segments[startIndex]!, recoveryPoint);
  const snapshot = ProducerStateTable.readSnapshot(dir);
  const producers = snapshot?.table ?? new ProducerStateTable();
  const replayFrom = snapshot === null ? firstBase : Math.max(snapshot.offset, firstBase);
  if (replayFrom < offset) replayProducers(io, segments.slice(0, startIndex + 1), replayFrom, offset, producers, config.indexIntervalBytes);
  let kept = segments.length;
  for (let i = startIndex; i < segments.length; i++) {
    const segment = segments[i]!;
    const nextBase = i + 1 < segments.length ? segments[i + 1]!.baseOffset : Number.MAX_SAFE_INTEGER;
    if (i > startIndex) {
      if (segment.baseOffset !== offset) {
        report.truncationReason = `${segment.logPath} starts at ${segment.baseOffset}, expected ${offset}`;
        kept = i;
        break;
      }
      position = 0;
      segment.resumeIndexingAt(0, offset);
    }
    const scan = scanFrames(
      io,
      segment.fd,
      position,
      segment.size,
      ({ position: at, header }) => {
        segment.noteAppended(frameOf(at, header), config.indexIntervalBytes);
        report.scannedBytes += header.frameSize;
        offset = header.baseOffset + header.recordCount;
        if (header.producerId >= 0 && header.baseOffset >= replayFrom) producers.record(header, header.baseOffset);
      },
      (header) => {
        if (offset === nextBase) return "past the segment's end";
        return header.baseOffset === offset ? null : `batch claims offset ${header.baseOffset}, expected ${offset}`;
      },
    );
    if (scan.stopReason !== null && offset === nextBase) {
      // The next segment begins here: whatever follows was appended by a deposed leader.
      report.truncatedBytes += segment.size - scan.validEnd;
      segment.truncateTo(scan.validEnd, offset);
      continue;
    }
    if (scan.stopReason !== null) {
      if (recoveryPoint !== null && offset < recoveryPoint) {
        throw new KafkaCloneError(
          "CORRUPT_MESSAGE",
          `${segment.logPath}: invalid batch at position ${scan.validEnd}, before the recovery point ${recoveryPoint}: ${scan.stopReason}`,
        );
      }
      report.truncatedBytes += segment.size - scan.validEnd;
      report.truncationReason = `${segment.logPath} at position ${scan.validEnd}: ${scan.stopReason}`;
      segment.truncateTo(scan.validEnd, offset);
      kept = i + 1;
      break;
    }
  }
  for (const removed of segments.splice(kept)) {
    report.truncatedBytes += removed.size;
    report.removedSegments++;
    removed.delete();
  }
  if (recoveryPoint !== null && offset < recoveryPoint) {
    throw new KafkaCloneError("CORRUPT_MESSAGE", `${dir}: the log ends at ${offset}, before its recovery point ${recoveryPoint}`);
  }
  for (let i = startIndex; i < segments.length; i++) {
    const segment = segments[i]!;
    io.datasyncSync(segment.fd);
    segment.durableSize = segment.size;
    if (i < segments.length - 1) {
      segment.seal();
      segment.releaseIndexes();
    }
  }
  if (report.removedSegments > 0) io.syncDirectory(dir);
  report.nextOffset = offset;
  // A snapshot taken before a crash may name batches the torn tail lost.
  producers.truncateTo(offset);
  return { log: new PartitionLog(options.topic, options.partition, dir, io, config, segments, producers), report };
}

/** Records the idempotent batches in [from, to) of already-trusted segments. */
function replayProducers(io: FileIO, segments: Segment[], from: number, to: number, producers: ProducerStateTable, indexIntervalBytes: number): void {
  for (let i = floorSegmentIndex(segments, from); i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.baseOffset >= to) break;
    if (i < segments.length - 1) segment.ensureIndexes(indexIntervalBytes);
    const start = segment.baseOffset <= from ? segment.lookupPosition(from) : 0;
    const scan = scanFrames(io, segment.fd, start, segment.size, ({ header }) => {
      if (header.baseOffset >= to) return false;
      if (header.producerId >= 0 && header.baseOffset >= from) producers.record(header, header.baseOffset);
      return true;
    });
    if (scan.stopReason !== null && scan.validEnd < segment.size && i < segments.length - 1) {
      throw new KafkaCloneError("CORRUPT_MESSAGE", `${segment.logPath}: invalid batch at position ${scan.validEnd} while rebuilding producer state: ${scan.stopReason}`);
    }
  }
}

function listSegments(dir: string): number[] {
  const names = fs.readdirSync(dir);
  const bases = new Set<number>();
  for (const name of names) {
    const base = parseSegmentFileName(name);
    if (base !== null) bases.add(base);
  }
  for (const name of names) {
    const match = /^(\d{20})\.(index|timeindex)$/.exec(name);
    if (match && !bases.has(Number(match[1]))) fs.rmSync(`${dir}/${name}`, { force: true });
  }
  return [...bases].sort((a, b) => a - b);
}

/**
 * Where scanning starts in the segment holding the recovery point: at the
 * recovery point itself when the indexes mark it exactly (a clean close
 * leaves such entries), else at the last index entry before it, if that
 * entry points at the batch it claims to; with no usable index, at 0.
 */
function resumePoint(io: FileIO, segment: Segment, recoveryPoint: number | null): { position: number; offset: number } {
  let position = 0;
  let offset = segment.baseOffset;
  const relative = (recoveryPoint ?? 0) - segment.baseOffset;
  const indexesOk =
    relative > 0 && segment.offsetIndex.load(segment.size + 1) && segment.timeIndex.load(Number.MAX_SAFE_INTEGER);
  if (indexesOk) {
    const at = segment.offsetIndex.floor(relative);
    const before = segment.offsetIndex.floor(relative - 1);
    // The time entry at the point holds the max timestamp of everything before it.
    const atIsExact =
      at !== null &&
      at.key === relative &&
      segment.timeIndex.hasValue(relative) &&
      (at.value === segment.size || pointsAtBatch(io, segment, at.value, recoveryPoint!));
    const resumeAt = atIsExact ? at : before;
    if (resumeAt !== null && (atIsExact || pointsAtBatch(io, segment, resumeAt.value, segment.baseOffset + resumeAt.key))) {
      position = resumeAt.value;
      offset = segment.baseOffset + resumeAt.key;
    }
  }
  segment.resumeIndexingAt(position, offset);
  return { position, offset };
}

function pointsAtBatch(io: FileIO, segment: Segment, position: number, offset: number): boolean {
  if (position >= segment.size) return false;
  const header = readAt(io, segment.fd, position, HEADER_SIZE);
  return header.length === HEADER_SIZE && readBatchHeader(header).baseOffset === offset;
}
