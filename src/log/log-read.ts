/** Reads from a partition's segments: raw frame bytes by offset, and offsets by timestamp. */
import { KafkaCloneError } from "../errors";
import { declaredFrameSize, HEADER_SIZE, readBaseOffset, readRecordCount } from "./batch-frame";
import { readAt, type FileIO } from "./file-io";
import { scanFrames } from "./frame-scanner";
import { decodeRecords } from "./record-codec";
import type { Segment } from "./segment";

/** Where a sequential reader left off, so the next read needs no index lookup. */
export interface ReadPosition {
  segmentBase: number;
  position: number;
  offset: number;
}

export interface ReadResult {
  /** Whole frames, as stored. The first may start before the requested offset. */
  data: Uint8Array;
  /** The offset after the last record in `data` (the requested offset when empty). */
  nextOffset: number;
  next: ReadPosition;
}

const MIN_WINDOW = 64 * 1024;
const EMPTY = new Uint8Array(0);

export function floorSegmentIndex(segments: Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Reads whole frames starting with the one holding `offset`, up to `maxBytes`
 * (at least one frame, even a larger one), never past `highWatermark`.
 */
export function readFromLog(
  io: FileIO,
  segments: Segment[],
  offset: number,
  highWatermark: number,
  maxBytes: number,
  indexIntervalBytes: number,
  hint?: ReadPosition,
): ReadResult {
  if (offset >= highWatermark) return emptyResult(offset, hint);
  let index = floorSegmentIndex(segments, offset);
  while (index < segments.length) {
    const segment = segments[index]!;
    const isLast = index === segments.length - 1;
    if (!isLast && offset >= segment.nextOffset) {
      index++;
      continue;
    }
    if (!isLast) segment.ensureIndexes(indexIntervalBytes);
    const useHint = hint !== undefined && hint.segmentBase === segment.baseOffset && hint.offset === offset;
    const start = useHint ? hint.position : segment.lookupPosition(offset);
    const result = readFromSegment(io, segment, start, offset, maxBytes, isLast ? Number.MAX_SAFE_INTEGER : segment.nextOffset);
    if (result !== null) return result;
    if (isLast) break;
    index++;
  }
  return emptyResult(offset, hint);
}

/**
 * Frames at or past `endOffset` are not read: in a sealed segment they are
 * bytes a deposed leader appended after the next segment began.
 */
function readFromSegment(
  io: FileIO,
  segment: Segment,
  start: number,
  offset: number,
  maxBytes: number,
  endOffset: number,
): ReadResult | null {
  const limit = segment.durableSize;
  if (start >= limit) return null;
  let window = readAt(io, segment.fd, start, Math.min(limit - start, Math.max(maxBytes, MIN_WINDOW)));
  let first = 0;
  for (;;) {
    if (first + HEADER_SIZE > window.length) {
      if (start + first >= limit) return null;
      window = readAt(io, segment.fd, start + first, Math.min(limit - start - first, Math.max(maxBytes, MIN_WINDOW)));
      start += first;
      first = 0;
      continue;
    }
    const size = declaredFrameSize(window, first);
    if (size < HEADER_SIZE) throw corrupt(segment, start + first, `frame length ${size - 4} is shorter than a header`);
    if (readBaseOffset(window, first) >= endOffset) return null;
    if (readBaseOffset(window, first) + readRecordCount(window, first) > offset) break;
    first += size;
  }
  const firstSize = declaredFrameSize(window, first);
  if (first + firstSize > window.length) {
    const frame = readAt(io, segment.fd, start + first, firstSize);
    if (frame.length < firstSize) throw corrupt(segment, start + first, "frame runs past the end of the file");
    return resultOf(segment, frame, start + first + firstSize, lastOffsetAfter(frame, 0));
  }
  let end = first + firstSize;
  let nextOffset = lastOffsetAfter(window, first);
  while (end + HEADER_SIZE <= window.length) {
    const size = declaredFrameSize(window, end);
    if (size < HEADER_SIZE || end + size > window.length || end + size - first > maxBytes) break;
    if (readBaseOffset(window, end) >= endOffset) break;
    nextOffset = lastOffsetAfter(window, end);
    end += size;
  }
  return resultOf(segment, window.subarray(first, end), start + end, nextOffset);
}

function lastOffsetAfter(buf: Uint8Array, pos: number): number {
  return readBaseOffset(buf, pos) + readRecordCount(buf, pos);
}

function resultOf(segment: Segment, data: Uint8Array, endPosition: number, nextOffset: number): ReadResult {
  return { data, nextOffset, next: { segmentBase: segment.baseOffset, position: endPosition, offset: nextOffset } };
}

function emptyResult(offset: number, hint?: ReadPosition): ReadResult {
  return { data: EMPTY, nextOffset: offset, next: hint ?? { segmentBase: -1, position: 0, offset } };
}

function corrupt(segment: Segment, position: number, reason: string): KafkaCloneError {
  return new KafkaCloneError("CORRUPT_MESSAGE", `${segment.logPath} at position ${position}: ${reason}`);
}

/** The first offset below `highWatermark` whose record timestamp is >= `timestamp`, or null. */
export function offsetForTimestamp(
  io: FileIO,
  segments: Segment[],
  timestamp: number,
  highWatermark: number,
  indexIntervalBytes: number,
): number | null {
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const sealed = i < segments.length - 1;
    if (sealed) segment.ensureIndexes(indexIntervalBytes);
    if (segment.maxTimestamp < timestamp) continue;
    const end = sealed ? Math.min(segment.nextOffset, highWatermark) : highWatermark;
    const from = segment.lookupPosition(segment.baseOffset + segment.lookupTimestamp(timestamp));
    let found: number | null = null;
    const scan = scanFrames(io, segment.fd, from, segment.durableSize, ({ header, bytes }) => {
      if (header.baseOffset >= end) return false;
      if (header.maxTimestamp < timestamp) return true;
      found = decodeRecords(bytes).find((record) => record.timestamp >= timestamp)?.offset ?? null;
      return found === null;
    });
    if (found !== null) return found;
    if (scan.stopReason !== null) throw corrupt(segment, scan.validEnd, scan.stopReason);
  }
  return null;
}
