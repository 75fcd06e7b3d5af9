/** Retention: how many of a partition's oldest sealed segments are past retention.bytes or retention.ms. */
import type { LogConfig } from "./log-config";
import type { Segment } from "./segment";

/**
 * Counts from the oldest segment, never the active one, stopping at the first
 * segment that is kept or `busy` (its bytes are not yet durable).
 * By size, a segment goes while the log stays at least `retentionBytes` without it.
 * By age, it goes when its newest record is older than `retentionMs`.
 */
export function expiredSegmentCount(
  segments: readonly Segment[],
  totalBytes: number,
  config: LogConfig,
  nowMs: number,
  busy: (segment: Segment) => boolean,
): number {
  const { retentionBytes, retentionMs } = config;
  let excess = retentionBytes < 0 ? 0 : totalBytes - retentionBytes;
  let count = 0;
  while (count < segments.length - 1) {
    const oldest = segments[count]!;
    if (busy(oldest)) break;
    const overSize = excess > 0 && excess >= oldest.size;
    oldest.ensureIndexes(config.indexIntervalBytes);
    const overAge = retentionMs >= 0 && oldest.maxTimestamp >= 0 && oldest.maxTimestamp < nowMs - retentionMs;
    if (!overSize && !overAge) break;
    excess -= oldest.size;
    count++;
  }
  return count;
}
