/**
 * Walks the batch frames of a log file from a position, reading in large
 * chunks, and stops at the first frame that is not valid.
 */
import { checkFrame, declaredFrameSize, HEADER_SIZE, LENGTH_SIZE, type BatchHeader } from "./batch-frame";
import { readAt, type FileIO } from "./file-io";

const CHUNK_BYTES = 1 << 20;

export interface ScannedFrame {
  position: number;
  header: BatchHeader;
  /** The frame's bytes; only valid until the callback returns. */
  bytes: Uint8Array;
}

export interface ScanResult {
  /** Position just after the last valid frame. */
  validEnd: number;
  /** Why the scan stopped before `end`, or null when it reached `end`. */
  stopReason: string | null;
}

/**
 * Calls `onFrame` for each valid frame in [from, end) until it returns false.
 * A frame is valid when its length, version and checksum check out and
 * `accept` (if given) returns no objection.
 */
export function scanFrames(
  io: FileIO,
  fd: number,
  from: number,
  end: number,
  onFrame: (frame: ScannedFrame) => boolean | void,
  accept?: (header: BatchHeader) => string | null,
): ScanResult {
  let pos = from;
  let chunk: Uint8Array = new Uint8Array(0);
  let chunkStart = from;
  while (pos < end) {
    let rel = pos - chunkStart;
    if (rel + HEADER_SIZE > chunk.length) {
      chunk = readAt(io, fd, pos, Math.min(CHUNK_BYTES, end - pos));
      chunkStart = pos;
      rel = 0;
    }
    const size = declaredFrameSize(chunk, rel);
    if (size > LENGTH_SIZE && size <= end - pos && rel + size > chunk.length) {
      chunk = readAt(io, fd, pos, Math.max(size, Math.min(CHUNK_BYTES, end - pos)));
      chunkStart = pos;
      rel = 0;
    }
    const check = checkFrame(chunk, rel);
    if (!check.ok) return { validEnd: pos, stopReason: check.reason };
    const rejection = accept?.(check.header) ?? null;
    if (rejection !== null) return { validEnd: pos, stopReason: rejection };
    const goOn = onFrame({ position: pos, header: check.header, bytes: chunk.subarray(rel, rel + size) });
    pos += size;
    if (goOn === false) break;
  }
  return { validEnd: pos, stopReason: null };
}
