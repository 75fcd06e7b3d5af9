/**
 * Frame authentication after the handshake: every frame carries a 16-byte
 * tag, HMAC-SHA256 (truncated) under the connection's key for its direction,
 * over an implicit 64-bit frame counter, the frame's length and its bytes:
 *
 *   u32 length (body + 16) | body | tag = HMAC(key, counter | length | body)[0..16)
 *
 * The counter is not sent: each side counts the frames of a direction, from
 * 0 after the handshake. A frame replayed, dropped, reordered or moved to
 * another connection (other keys) fails its check, and so does one reflected
 * back to its sender (the two directions have different keys). The MAC runs
 * over the chunks as they are (record batches are never copied for it): one
 * HMAC per frame, about 0.6 ms per MiB — small beside the fsync a produce
 * waits for.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { KafkaCloneError } from "../errors";
import type { FrameGuard } from "../net/framed-connection";

export const FRAME_TAG_BYTES = 16;
const HEADER_BYTES = 12;

function tag(key: Uint8Array, counter: number, length: number, body: readonly Uint8Array[]): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  header.writeUInt32BE(counter >>> 0, 4);
  header.writeUInt32BE(length, 8);
  const h = createHmac("sha256", key).update(header);
  for (const chunk of body) h.update(chunk);
  return h.digest().subarray(0, FRAME_TAG_BYTES);
}

export class FrameMac implements FrameGuard {
  private sent = 0;
  private received = 0;

  constructor(
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {}

  seal(chunks: readonly Uint8Array[]): Uint8Array[] {
    const first = chunks[0];
    if (first === undefined || first.length < 4) throw new KafkaCloneError("INVALID_ARGUMENT", "a sealed frame needs its length prefix");
    const declared = new DataView(first.buffer, first.byteOffset, 4).getUint32(0);
    const body: Uint8Array[] = first.length > 4 ? [first.subarray(4)] : [];
    let total = first.length - 4;
    for (let i = 1; i < chunks.length; i++) {
      if (chunks[i]!.length === 0) continue;
      body.push(chunks[i]!);
      total += chunks[i]!.length;
    }
    // One frame per send: a second frame inside these chunks would be sealed as part of the first.
    if (declared !== total) throw new KafkaCloneError("INVALID_ARGUMENT", `a sealed send must be exactly one frame (declared ${declared} bytes, given ${total})`);
    const length = total + FRAME_TAG_BYTES;
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, length);
    const mac = tag(this.sendKey, this.sent++, length, body);
    return [prefix, ...body, mac];
  }

  open(frame: Uint8Array): Uint8Array {
    if (frame.length < FRAME_TAG_BYTES) throw new KafkaCloneError("AUTHENTICATION_FAILED", "a frame is too short to carry its authentication tag");
    const body = frame.subarray(0, frame.length - FRAME_TAG_BYTES);
    const expected = tag(this.receiveKey, this.received, frame.length, [body]);
    if (!timingSafeEqual(expected, frame.subarray(body.length))) {
      throw new KafkaCloneError("AUTHENTICATION_FAILED", `frame ${this.received} failed its authentication check (forged, replayed, reordered or corrupted)`);
    }
    this.received++;
    return body;
  }
}
