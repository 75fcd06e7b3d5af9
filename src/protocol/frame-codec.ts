/**
 * TCP framing shared by every port:
 *
 *   u32 frameLength      bytes after this field
 *   u32 envelopeLength
 *   envelope             MessagePack
 *   attachment           raw bytes (record batches), the rest of the frame
 *
 * Batches travel as the attachment so they are never re-encoded: the broker
 * appends produce bytes as they arrive and pushes file bytes as they are.
 */
import { Packr } from "msgpackr";
import { KafkaCloneError } from "../errors";
import { assertMsgpackBounds } from "./msgpack-bounds";

export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
const PREFIX = 8;
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export interface DecodedFrame {
  envelope: unknown;
  attachment: Uint8Array;
}

/**
 * Cuts a byte stream into frames. The declared length is checked against the
 * maximum before anything is allocated for it.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private expected = -1;

  /** May be changed between frames (a port allows only small frames before a peer has authenticated). */
  constructor(public maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while a frame has begun (a byte of its length or more) but is not complete. */
  get hasPartialFrame(): boolean {
    return this.expected >= 0 || this.buffered > 0;
  }

  /** What an unfinished frame looks like so far ("10 of 200 bytes"), or null between frames. */
  describePartial(): string | null {
    if (this.expected >= 0) return `${this.buffered} of ${this.expected} bytes`;
    return this.buffered > 0 ? `${this.buffered} of 4 header bytes` : null;
  }

  /** Adds received bytes; returns every complete frame (without its length prefix). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        const head = this.take(4);
        const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
        if (length > this.maxFrameBytes) {
          throw new KafkaCloneError("FRAME_TOO_LARGE", `declared frame length ${length} exceeds the maximum ${this.maxFrameBytes}`);
        }
        if (length < 4) throw new KafkaCloneError("INVALID_REQUEST", `declared frame length ${length} is too short`);
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  /** Removes `n` buffered bytes, copying only when they span several chunks. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      // Every byte is overwritten below: skip zero-filling (frames reach 1 MiB on the hot path).
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[0]!;
        const used = Math.min(chunk.length, n - filled);
        out.set(chunk.subarray(0, used), filled);
        filled += used;
        if (used === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(used);
      }
    }
    this.buffered -= n;
    return out;
  }
}

/** Splits a frame (without its length prefix) into envelope and attachment. */
export function parseFrame(frame: Uint8Array): DecodedFrame {
  if (frame.length < 4) throw new KafkaCloneError("INVALID_REQUEST", "frame too short for an envelope length");
  const envelopeLength = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0);
  if (envelopeLength > frame.length - 4) {
    throw new KafkaCloneError("INVALID_REQUEST", `envelope length ${envelopeLength} exceeds the frame (${frame.length - 4} bytes)`);
  }
  const packed = frame.subarray(4, 4 + envelopeLength);
  assertMsgpackBounds(packed, "envelope");
  let envelope: unknown;
  try {
    envelope = packr.unpack(packed);
  } catch (error) {
    throw new KafkaCloneError("INVALID_REQUEST", `envelope is not valid MessagePack: ${(error as Error).message}`);
  }
  return { envelope, attachment: frame.subarray(4 + envelopeLength) };
}

/**
 * Encodes a frame as chunks to write in order: the prefix and envelope in one
 * buffer, then the attachments as they are (never copied).
 */
export function encodeFrame(envelope: unknown, attachments: readonly Uint8Array[] = []): Uint8Array[] {
  const packed = packr.pack(envelope);
  let attachmentBytes = 0;
  for (const a of attachments) attachmentBytes += a.length;
  const head = new Uint8Array(PREFIX + packed.length);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, 4 + packed.length + attachmentBytes);
  dv.setUint32(4, packed.length);
  head.set(packed, PREFIX);
  return attachments.length === 0 ? [head] : [head, ...attachments.filter((a) => a.length > 0)];
}

/** One contiguous buffer for a frame's chunks (tests and small frames). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
