/**
 * Keeps a partition of `__consumer_offsets` small without a log cleaner:
 * rewrite the latest record of every live key into a fresh segment, and once
 * that rewrite is durable delete every segment before it. Built only on the
 * partition log's public API (roll, append, waitFor, enforceRetention).
 *
 * Crash safety: until the rewrite is durable the old segments are untouched,
 * and replaying old records followed by the rewrite gives the same state (the
 * rewrite restates the latest values). Deletion removes only whole segments
 * that lie entirely before the rewrite.
 */
import type { PartitionLog } from "../../log/partition-log";
import { BatchBuilder, type ProducerRecord } from "../../log/record-codec";

const MAX_BATCH_BYTES = 1024 * 1024;

export interface RewriteReport {
  records: number;
  bytesBefore: number;
  bytesAfter: number;
  segmentsDeleted: number;
}

/** Appends `records` as frames of at most ~1 MiB; returns the offset after the last one (the log end when there are none). */
export function appendRecords(log: PartitionLog, records: readonly ProducerRecord[], epoch: number): number {
  let end = log.logEndOffset;
  let builder = new BatchBuilder();
  const flush = () => {
    if (builder.recordCount === 0) return;
    end = log.append(builder.build(), epoch).nextOffset;
    builder = new BatchBuilder();
  };
  for (const record of records) {
    if (builder.sizeBytes >= MAX_BATCH_BYTES) flush();
    builder.append(record);
  }
  flush();
  return end;
}

/**
 * `liveRecords` is called after the roll, in the same turn, so it sees every
 * record appended before the roll (the old segments hold nothing newer).
 */
export async function rewriteLatest(log: PartitionLog, epoch: number, liveRecords: () => ProducerRecord[]): Promise<RewriteReport> {
  const bytesBefore = log.sizeBytes;
  log.roll();
  const records = liveRecords();
  const end = appendRecords(log, records, epoch);
  await log.waitFor(end, "all");
  // Retention by size with the limit set to "everything since the roll" removes exactly the segments before it.
  const saved = log.config;
  log.config = { ...saved, retentionMs: -1, retentionBytes: Math.max(0, log.sizeBytes - bytesBefore) };
  let segmentsDeleted: number;
  try {
    segmentsDeleted = log.enforceRetention();
  } finally {
    log.config = saved;
  }
  return { records: records.length, bytesBefore, bytesAfter: log.sizeBytes, segmentsDeleted };
}
