/**
 * Reopen after an unclean stop: fill a partition, checkpoint, append a little
 * more, then abandon the LogManager without closing it and time opening the
 * directory with a fresh one. Done for two segment sizes, so the reopen time
 * can be compared across the number of sealed segments.
 */
import fs from "node:fs";
import path from "node:path";
import { LogManager } from "../../src/log/log-manager";
import { RECOVERY_CHECKPOINT_FILE } from "../../src/log/recovery-checkpoint";
import { appendLoop, buildFrame } from "./log-append";
import { MIB } from "./config";
import { CountingIO } from "./counting-io";
import { median } from "../../src/bench/raw-io";
import { silentLogger } from "./silent-logger";

const TOPIC = "reopen";

export interface ReopenOptions {
  workDir: string;
  partitionMiB: number;
  segments: number;
  tailMiB: number;
  repeat: number;
  batchBytes: number;
  inflight: number;
}

export interface ReopenResult {
  segmentsConfigured: number;
  segments: number;
  segmentBytes: number;
  partitionBytes: number;
  fillSeconds: number;
  /** Bytes appended after the last checkpoint. */
  tailBytes: number;
  /** Each reopen's wall time in ms; the first is the one right after the unclean stop. */
  reopenMs: number[];
  medianMs: number;
  /** What recovery scanned and read from disk on the first reopen. */
  scannedBytes: number;
  readBytes: number;
  /** fdatasync calls made by the first reopen. */
  fsyncs: number;
  truncatedBytes: number;
  /** Reopen with the checkpoint file removed: every segment scanned (reference). */
  fullScanMs: number;
  fullScanBytes: number;
  fullScanFsyncs: number;
}

function openManager(dir: string, counting: CountingIO): LogManager {
  return LogManager.open(dir, { io: counting.io, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger });
}

export async function runReopen(options: ReopenOptions): Promise<ReopenResult> {
  const dir = path.join(options.workDir, `reopen-${options.segments}`);
  // Size segments in whole frames so the partition ends up with exactly `segments` segments.
  const frameBytes = buildFrame(1024, options.batchBytes, 1).data.length;
  const framesPerSegment = Math.max(4, Math.floor((options.partitionMiB * MIB) / options.segments / frameBytes));
  const segmentBytes = framesPerSegment * frameBytes;
  const tailFrames = Math.min(Math.max(1, Math.round((options.tailMiB * MIB) / frameBytes)), Math.floor(framesPerSegment / 2));
  const totalFrames = framesPerSegment * options.segments;
  const writerIO = new CountingIO();
  const writer = openManager(dir, writerIO);
  writer.createTopic(TOPIC, 1, { segmentBytes });
  const log = writer.partition(TOPIC, 0);
  const fill = { topic: TOPIC, recordBytes: 1024, batchBytes: options.batchBytes, inflight: options.inflight, maxSeconds: 3600 };
  const filled = await appendLoop(log, writerIO, { ...fill, acks: "1", maxBytes: (totalFrames - tailFrames) * frameBytes });
  await writer.checkpoint();
  const tail = await appendLoop(log, writerIO, { ...fill, acks: "all", maxBytes: tailFrames * frameBytes });
  const expectedEnd = log.logEndOffset;
  const segments = log.segmentCount;
  // The writer is abandoned here: no close, no final checkpoint, index tail unsynced.

  const checkpointFile = path.join(dir, RECOVERY_CHECKPOINT_FILE);
  const savedCheckpoint = fs.readFileSync(checkpointFile);
  const reopenMs: number[] = [];
  let scannedBytes = 0;
  let readBytes = 0;
  let fsyncs = 0;
  let truncatedBytes = 0;
  for (let i = 0; i < options.repeat; i++) {
    const counting = new CountingIO();
    const start = performance.now();
    const reopened = openManager(dir, counting);
    reopenMs.push(performance.now() - start);
    const report = reopened.recoveryReports.get(`${TOPIC} 0`);
    const end = reopened.partition(TOPIC, 0).logEndOffset;
    if (end !== expectedEnd) throw new Error(`reopened log ends at ${end}, expected ${expectedEnd}`);
    if (i === 0) {
      scannedBytes = report?.scannedBytes ?? -1;
      truncatedBytes = report?.truncatedBytes ?? -1;
      readBytes = counting.stats.preadBytes;
      fsyncs = counting.stats.datasyncCalls;
    }
    await reopened.close();
    // close() checkpoints; put the stale checkpoint back so the next reopen scans the same tail.
    fs.writeFileSync(checkpointFile, savedCheckpoint);
  }

  fs.rmSync(checkpointFile);
  const fullIO = new CountingIO();
  const fullStart = performance.now();
  const full = openManager(dir, fullIO);
  const fullScanMs = performance.now() - fullStart;
  const fullScanBytes = full.recoveryReports.get(`${TOPIC} 0`)?.scannedBytes ?? -1;
  const fullScanFsyncs = fullIO.stats.datasyncCalls;
  await full.close();
  await writer.close().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    segmentsConfigured: options.segments,
    segments,
    segmentBytes,
    partitionBytes: filled.bytes + tail.bytes,
    fillSeconds: filled.seconds + filled.drainSeconds,
    tailBytes: tail.bytes,
    reopenMs,
    medianMs: median(reopenMs),
    scannedBytes,
    readBytes,
    fsyncs,
    truncatedBytes,
    fullScanMs,
    fullScanBytes,
    fullScanFsyncs,
  };
}
