/**
 * Reads a topic's batch headers straight from the data directory, once every
 * process is stopped: per partition, the leader epoch each batch was written
 * at, in offset order. Leader epochs must never go down along a partition's
 * log — a lower epoch after a higher one is a deposed leader's write that
 * made it into the log. Frames a deposed leader appended to a sealed segment
 * past the point where the next segment begins are not part of the log and
 * are skipped, as recovery skips them; a torn tail of the last segment ends
 * the scan.
 */
import fs from "node:fs";
import path from "node:path";
import { checkFrame } from "../../src/log/batch-frame";
import { parseSegmentFileName } from "../../src/log/segment";

export interface EpochSpan {
  baseOffset: number;
  recordCount: number;
  epoch: number;
}

export function epochsOnDisk(dataDir: string, topic: string): Map<number, EpochSpan[]> {
  const result = new Map<number, EpochSpan[]>();
  const topicDir = path.join(dataDir, "topics", topic);
  for (const name of fs.readdirSync(topicDir)) {
    const dir = path.join(topicDir, name);
    if (!/^\d+$/.test(name) || !fs.statSync(dir).isDirectory()) continue;
    const bases = fs.readdirSync(dir).map(parseSegmentFileName).filter((b): b is number => b !== null).sort((a, b) => a - b);
    const spans: EpochSpan[] = [];
    bases.forEach((base, i) => {
      const nextBase = bases[i + 1] ?? Number.MAX_SAFE_INTEGER;
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, `${String(base).padStart(20, "0")}.log`)));
      for (let pos = 0; pos < bytes.length; ) {
        const check = checkFrame(bytes, pos);
        if (!check.ok || check.header.baseOffset >= nextBase) break;
        spans.push({ baseOffset: check.header.baseOffset, recordCount: check.header.recordCount, epoch: check.header.leaderEpoch });
        pos += check.header.frameSize;
      }
    });
    result.set(Number(name), spans);
  }
  return result;
}

/** Every place where a partition's leader epoch goes down along its offsets. */
export function epochRegressions(spans: Map<number, EpochSpan[]>): string[] {
  const found: string[] = [];
  for (const [partition, list] of spans) {
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]!;
      const at = list[i]!;
      if (at.epoch < before.epoch) {
        found.push(`partition ${partition}: offset ${at.baseOffset} written at epoch ${at.epoch}, after offset ${before.baseOffset} at epoch ${before.epoch}`);
      }
    }
  }
  return found;
}
