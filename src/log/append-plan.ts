/**
 * What one append does with its frames: each gets the next offset and is
 * stamped, except a retried idempotent batch already in the log, which keeps
 * its original offset and is not written again.
 */
import { type BatchHeader, stampBatch } from "./batch-frame";
import type { ProducerStateTable } from "./producer-state";
import type { AppendedFrame } from "./segment";

export interface AppendPlan {
  /** The frames to write, as slices of the request's bytes. */
  chunks: Uint8Array[];
  frames: AppendedFrame[];
  /** Every frame's base offset, in order. */
  baseOffsets: number[];
  /** The offset after the last frame appended. */
  nextOffset: number;
  /** The offset after the last frame appended or recognised: what acknowledging waits for. */
  waitUntil: number;
  bytes: number;
}

/**
 * Plans appending `headers`' frames (laid back to back in `data`) at
 * `startOffset`, the first at file position `startPosition`. Records each new
 * idempotent batch in `producers`; throws on an idempotence violation, after
 * which the caller forgets what was recorded from `startOffset` on.
 */
export function planAppend(
  data: Uint8Array,
  headers: BatchHeader[],
  startOffset: number,
  startPosition: number,
  leaderEpoch: number,
  producers: ProducerStateTable,
): AppendPlan {
  const plan: AppendPlan = { chunks: [], frames: [], baseOffsets: [], nextOffset: startOffset, waitUntil: startOffset, bytes: 0 };
  let inData = 0;
  for (const header of headers) {
    const frameStart = inData;
    inData += header.frameSize;
    const idempotent = header.producerId >= 0;
    const original = idempotent ? producers.check(header) : null;
    if (original !== null) {
      plan.baseOffsets.push(original);
      plan.waitUntil = Math.max(plan.waitUntil, original + header.recordCount);
      continue;
    }
    const baseOffset = plan.nextOffset;
    stampBatch(data, frameStart, baseOffset, leaderEpoch);
    if (idempotent) producers.record(header, baseOffset);
    plan.chunks.push(data.subarray(frameStart, inData));
    plan.frames.push({
      position: startPosition + plan.bytes,
      baseOffset,
      recordCount: header.recordCount,
      maxTimestamp: header.maxTimestamp,
      size: header.frameSize,
    });
    plan.baseOffsets.push(baseOffset);
    plan.nextOffset += header.recordCount;
    plan.bytes += header.frameSize;
  }
  plan.waitUntil = Math.max(plan.waitUntil, plan.nextOffset);
  return plan;
}
