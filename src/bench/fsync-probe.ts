/**
 * The disk's own latency, for reading the latency figures beside it: small
 * appends each followed by fdatasync, paced like the broker's group commits
 * at the moderate rate (about one per millisecond).
 */
import fs from "node:fs";
import { LatencyRecorder, type LatencySummary } from "./latency";

export interface FsyncProbeResult {
  writeBytes: number;
  perSecond: number;
  /** write + fdatasync, ms */
  latency: LatencySummary;
}

export async function probeFsyncLatency(file: string, seconds: number, writeBytes = 4096, perSecond = 1000): Promise<FsyncProbeResult> {
  const recorder = new LatencyRecorder();
  const chunk = Buffer.alloc(writeBytes, 0x5a);
  const fd = fs.openSync(file, "a");
  try {
    const start = performance.now();
    for (let i = 0; performance.now() - start < seconds * 1000; i++) {
      const t = performance.now();
      fs.writeSync(fd, chunk);
      fs.fdatasyncSync(fd);
      recorder.recordMs(performance.now() - t);
      const next = start + ((i + 1) * 1000) / perSecond;
      const wait = next - performance.now();
      if (wait >= 1) await Bun.sleep(wait);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return { writeBytes, perSecond, latency: recorder.summary() };
}
