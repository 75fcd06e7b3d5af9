/**
 * The batch frame: identical on disk and on the wire, so a fetch can send file
 * bytes as they are.
 *
 *   off size field
 *    0   4  length          bytes that follow this field
 *    4   8  baseOffset      stamped by the broker
 *   12   4  leaderEpoch     stamped by the broker
 *   16   4  checksum        CRC-32 of bytes [20, end): stamping never changes it
 *   20   1  version         1
 *   21   1  flags           reserved, 0
 *   22   4  recordCount
 *   26   8  firstTimestamp  ms since the epoch
 *   34   8  maxTimestamp
 *   42   8  producerId      -1 when not idempotent
 *   50   2  producerEpoch
 *   52   4  baseSequence    -1 when not idempotent
 *   56      payload         MessagePack array of records (see record-codec.ts)
 *
 * Integers are big-endian, as on every network wire.
 */
import { KafkaCloneError } from "../errors";

export const LENGTH_SIZE = 4;
export const HEADER_SIZE = 56;
export const CHECKSUM_START = 20;
export const FRAME_VERSION = 1;
export const NO_PRODUCER_ID = -1;
export const NO_SEQUENCE = -1;

const OFFSET_BASE = 4;
const OFFSET_EPOCH = 12;
const OFFSET_CHECKSUM = 16;
const OFFSET_VERSION = 20;
const OFFSET_FLAGS = 21;
const OFFSET_COUNT = 22;
const OFFSET_FIRST_TS = 26;
const OFFSET_MAX_TS = 34;
const OFFSET_PRODUCER_ID = 42;
const OFFSET_PRODUCER_EPOCH = 50;
const OFFSET_BASE_SEQUENCE = 52;

export interface BatchHeader {
  /** Whole frame size in bytes, the length field included. */
  frameSize: number;
  baseOffset: number;
  leaderEpoch: number;
  checksum: number;
  version: number;
  flags: number;
  recordCount: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export interface BatchHeaderFields {
  recordCount: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function readInt64(dv: DataView, at: number): number {
  return dv.getInt32(at) * 0x1_0000_0000 + dv.getUint32(at + 4);
}

function writeInt64(dv: DataView, at: number, value: number): void {
  dv.setInt32(at, Math.floor(value / 0x1_0000_0000));
  dv.setUint32(at + 4, value >>> 0);
}

/** The frame size declared at `pos`, or -1 when fewer than 4 bytes remain. */
export function declaredFrameSize(buf: Uint8Array, pos: number): number {
  if (pos + LENGTH_SIZE > buf.length) return -1;
  return view(buf).getUint32(pos) + LENGTH_SIZE;
}

export function readBatchHeader(buf: Uint8Array, pos = 0): BatchHeader {
  if (pos + HEADER_SIZE > buf.length) {
    throw new KafkaCloneError("INVALID_RECORD", `batch header needs ${HEADER_SIZE} bytes, ${buf.length - pos} remain`);
  }
  const dv = view(buf);
  return {
    frameSize: dv.getUint32(pos) + LENGTH_SIZE,
    baseOffset: readInt64(dv, pos + OFFSET_BASE),
    leaderEpoch: dv.getInt32(pos + OFFSET_EPOCH),
    checksum: dv.getUint32(pos + OFFSET_CHECKSUM),
    version: dv.getUint8(pos + OFFSET_VERSION),
    flags: dv.getUint8(pos + OFFSET_FLAGS),
    recordCount: dv.getInt32(pos + OFFSET_COUNT),
    firstTimestamp: readInt64(dv, pos + OFFSET_FIRST_TS),
    maxTimestamp: readInt64(dv, pos + OFFSET_MAX_TS),
    producerId: readInt64(dv, pos + OFFSET_PRODUCER_ID),
    producerEpoch: dv.getInt16(pos + OFFSET_PRODUCER_EPOCH),
    baseSequence: dv.getInt32(pos + OFFSET_BASE_SEQUENCE),
  };
}

export function readBaseOffset(buf: Uint8Array, pos = 0): number {
  return readInt64(view(buf), pos + OFFSET_BASE);
}

export function readRecordCount(buf: Uint8Array, pos = 0): number {
  return view(buf).getInt32(pos + OFFSET_COUNT);
}

export function readMaxTimestamp(buf: Uint8Array, pos = 0): number {
  return readInt64(view(buf), pos + OFFSET_MAX_TS);
}

/** Writes the broker-owned fields in place; the checksum stays valid (O(1)). */
export function stampBatch(buf: Uint8Array, pos: number, baseOffset: number, leaderEpoch: number): void {
  const dv = view(buf);
  writeInt64(dv, pos + OFFSET_BASE, baseOffset);
  dv.setInt32(pos + OFFSET_EPOCH, leaderEpoch);
}

export function computeChecksum(buf: Uint8Array, pos: number, frameSize: number): number {
  return Bun.hash.crc32(buf.subarray(pos + CHECKSUM_START, pos + frameSize)) >>> 0;
}

/** Fills in every header field of a frame whose payload already sits at `HEADER_SIZE`. */
export function writeBatchHeader(frame: Uint8Array, fields: BatchHeaderFields): void {
  const dv = view(frame);
  dv.setUint32(0, frame.length - LENGTH_SIZE);
  writeInt64(dv, OFFSET_BASE, 0);
  dv.setInt32(OFFSET_EPOCH, 0);
  dv.setUint8(OFFSET_VERSION, FRAME_VERSION);
  dv.setUint8(OFFSET_FLAGS, 0);
  dv.setInt32(OFFSET_COUNT, fields.recordCount);
  writeInt64(dv, OFFSET_FIRST_TS, fields.firstTimestamp);
  writeInt64(dv, OFFSET_MAX_TS, fields.maxTimestamp);
  writeInt64(dv, OFFSET_PRODUCER_ID, fields.producerId);
  dv.setInt16(OFFSET_PRODUCER_EPOCH, fields.producerEpoch);
  dv.setInt32(OFFSET_BASE_SEQUENCE, fields.baseSequence);
  dv.setUint32(OFFSET_CHECKSUM, computeChecksum(frame, 0, frame.length));
}

export type FrameCheck =
  | { ok: true; header: BatchHeader }
  | { ok: false; reason: string };

/**
 * Checks one frame at `pos` without decoding its payload: the length fits,
 * the version is known, the checksum matches and the counts are sane.
 */
export function checkFrame(buf: Uint8Array, pos: number, maxFrameSize = 0x7fff_ffff): FrameCheck {
  const remaining = buf.length - pos;
  if (remaining < LENGTH_SIZE) return { ok: false, reason: `only ${remaining} bytes left, no room for a length` };
  const frameSize = declaredFrameSize(buf, pos);
  if (frameSize === LENGTH_SIZE) return { ok: false, reason: "length is 0" };
  if (frameSize < HEADER_SIZE) return { ok: false, reason: `length ${frameSize - LENGTH_SIZE} is shorter than a header` };
  if (frameSize > maxFrameSize) return { ok: false, reason: `frame of ${frameSize} bytes exceeds the maximum ${maxFrameSize}` };
  if (frameSize > remaining) return { ok: false, reason: `frame of ${frameSize} bytes runs past the end (${remaining} left)` };
  const header = readBatchHeader(buf, pos);
  if (header.version !== FRAME_VERSION) return { ok: false, reason: `unknown frame version ${header.version}` };
  const actual = computeChecksum(buf, pos, frameSize);
  if (actual !== header.checksum) {
    return { ok: false, reason: `checksum mismatch (stored ${hex(header.checksum)}, computed ${hex(actual)})` };
  }
  if (header.recordCount < 1) return { ok: false, reason: `record count ${header.recordCount} is not positive` };
  if (header.maxTimestamp < header.firstTimestamp) return { ok: false, reason: "max timestamp is before the first timestamp" };
  return { ok: true, header };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** Checks the frames laid back to back in a request; throws before anything is used. */
export function checkFrames(data: Uint8Array): BatchHeader[] {
  const headers: BatchHeader[] = [];
  for (let pos = 0; pos < data.length; ) {
    const check = checkFrame(data, pos);
    if (!check.ok) throw new KafkaCloneError("CORRUPT_MESSAGE", `batch at byte ${pos} of the request: ${check.reason}`);
    headers.push(check.header);
    pos += check.header.frameSize;
  }
  if (headers.length === 0) throw new KafkaCloneError("INVALID_RECORD", "no batches to append");
  return headers;
}

/** The offset after the batch's last record. */
export function nextOffsetAfter(header: BatchHeader): number {
  return header.baseOffset + header.recordCount;
}
