/**
 * Model-based test: random appends, reads, rolls, retention, checkpoints and
 * reopenings (clean and from a crash image) against an in-memory model.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { LogManager } from "../../../src/log/log-manager";
import type { LogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { copyTree, decodeAll, expectedStored, plain, Rng, silentLogger, TempDirs } from "./helpers";

const temp = new TempDirs();
afterEach(() => temp.cleanup());

interface ModelSegment {
  base: number;
  size: number;
  maxTimestamp: number;
}

class Model {
  records: ProducerRecord[] = [];
  logStart = 0;
  segments: ModelSegment[] = [{ base: 0, size: 0, maxTimestamp: -1 }];

  get end(): number {
    return this.records.length;
  }

  get active(): ModelSegment {
    return this.segments[this.segments.length - 1]!;
  }

  get totalSize(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  /** Mirrors PartitionLog.maybeRoll + append. */
  append(records: ProducerRecord[][], bytes: number, segmentBytes: number): void {
    if (this.active.size > 0 && this.active.size + bytes > segmentBytes) this.roll();
    this.active.size += bytes;
    for (const batch of records) {
      for (const r of batch) {
        this.records.push(r);
        this.active.maxTimestamp = Math.max(this.active.maxTimestamp, r.timestamp!);
      }
    }
  }

  roll(): void {
    if (this.active.size === 0) return;
    this.segments.push({ base: this.end, size: 0, maxTimestamp: -1 });
  }

  retain(retentionBytes: number, retentionMs: number, now: number): void {
    let total = this.totalSize;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const overSize = retentionBytes >= 0 && total - retentionBytes > 0 && total - oldest.size >= retentionBytes;
      const overAge = retentionMs >= 0 && oldest.maxTimestamp >= 0 && oldest.maxTimestamp < now - retentionMs;
      if (!overSize && !overAge) break;
      this.segments.shift();
      total -= oldest.size;
    }
    this.logStart = this.segments[0]!.base;
  }

  offsetForTimestamp(t: number): number | null {
    for (let o = this.logStart; o < this.end; o++) if (this.records[o]!.timestamp! >= t) return o;
    return null;
  }
}

async function runSeed(seed: number, steps: number): Promise<void> {
  const rng = new Rng(seed);
  let dir = temp.make("kc-model-");
  const config: Partial<LogConfig> = {
    segmentBytes: rng.int(1024, 6000),
    indexIntervalBytes: rng.int(64, 1500),
    retentionBytes: -1,
    retentionMs: -1,
  };
  const open = (d: string) =>
    LogManager.open(d, { defaults: config, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger });
  let manager = open(dir);
  manager.createTopic("model", 1);
  let log: PartitionLog = manager.partition("model", 0);
  const model = new Model();
  let clock = 1_600_000_000_000;
  const segmentBytes = log.config.segmentBytes;

  const checkRead = (offset: number, maxBytes: number) => {
    const result = log.read(offset, maxBytes);
    if (offset === model.end) {
      expect(result.data.length).toBe(0);
      expect(result.nextOffset).toBe(offset);
      return;
    }
    expect(result.data.length).toBeGreaterThan(0);
    const records = decodeAll(result.data);
    expect(records[0]!.offset).toBeLessThanOrEqual(offset);
    expect(records[records.length - 1]!.offset).toBeGreaterThanOrEqual(offset);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      expect(r.offset).toBe(records[0]!.offset + i);
      expect(r.offset).toBeGreaterThanOrEqual(model.logStart);
      expect(plain(r)).toEqual(plain(expectedStored(model.records[r.offset]!, r.offset)));
    }
    expect(result.nextOffset).toBe(records[records.length - 1]!.offset + 1);
  };

  const checkAll = () => {
    expect(log.logStartOffset).toBe(model.logStart);
    expect(log.logEndOffset).toBe(model.end);
    expect(log.highWatermark).toBe(model.end);
    expect(log.segmentCount).toBe(model.segments.length);
    expect(log.sizeBytes).toBe(model.totalSize);
    let offset = model.logStart;
    let hint: ReturnType<PartitionLog["read"]>["next"] | undefined;
    let expected = model.logStart;
    while (offset < model.end) {
      const result = log.read(offset, rng.int(1, 3 * segmentBytes), hint);
      const records = decodeAll(result.data).filter((r) => r.offset >= offset);
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) {
        expect(r.offset).toBe(expected++);
        expect(plain(r)).toEqual(plain(expectedStored(model.records[r.offset]!, r.offset)));
      }
      offset = result.nextOffset;
      hint = result.next;
    }
    expect(expected).toBe(model.end);
  };

  const reopen = async (crash: boolean) => {
    if (crash) {
      // A crash image: files as they are now (everything acknowledged is durable), then the old process is gone.
      const image = temp.make("kc-model-crash-");
      copyTree(dir, image);
      await manager.close();
      dir = image;
    } else {
      await manager.close();
    }
    manager = open(dir);
    log = manager.partition("model", 0);
    const report = manager.recoveryReports.get("model 0")!;
    expect(report.truncatedBytes).toBe(0);
    expect(report.nextOffset).toBe(model.end);
    if (!crash) expect(report.scannedBytes).toBe(0);
    checkAll();
  };

  for (let step = 0; step < steps; step++) {
    const op = rng.next();
    if (op < 0.45) {
      const durableEnd = model.end;
      const calls = rng.int(1, 3);
      let last = 0;
      for (let c = 0; c < calls; c++) {
        const batches: ProducerRecord[][] = [];
        const frames: Uint8Array[] = [];
        for (let f = rng.int(1, 3); f > 0; f--) {
          const batch: ProducerRecord[] = [];
          for (let n = rng.int(1, 12); n > 0; n--) {
            clock += rng.int(-50, 400);
            batch.push({
              key: rng.chance(0.2) ? null : rng.bytes(rng.int(0, 30)),
              value: rng.chance(0.05) ? null : rng.bytes(rng.int(0, rng.chance(0.1) ? 2000 : 200)),
              timestamp: clock,
              headers: rng.chance(0.2) ? [["h", rng.bytes(rng.int(0, 10))]] : undefined,
            });
          }
          batches.push(batch);
          frames.push(encodeBatch(batch));
        }
        const data = Buffer.concat(frames);
        model.append(batches, data.length, segmentBytes);
        const result = log.append(new Uint8Array(data), 1);
        expect(result.nextOffset).toBe(model.end);
        last = result.nextOffset;
      }
      // Nothing written yet this turn: readers still see only the old, durable end.
      expect(log.highWatermark).toBe(durableEnd);
      expect(log.read(durableEnd, 1 << 20).data.length).toBe(0);
      await log.waitFor(last, rng.chance(0.5) ? "all" : "1");
      await log.waitFor(last, "all");
    } else if (op < 0.7) {
      const offset = rng.int(model.logStart, model.end);
      checkRead(offset, rng.pick([1, 10, 100, 500, 4096, 20_000]));
    } else if (op < 0.75) {
      model.roll();
      log.roll();
    } else if (op < 0.82) {
      const t = clock - rng.int(-100, 20_000);
      expect(log.offsetForTimestamp(t)).toBe(model.offsetForTimestamp(t));
    } else if (op < 0.87) {
      const bySize = rng.chance(0.5);
      const retentionBytes = bySize ? rng.int(1, model.totalSize + 100) : -1;
      const retentionMs = bySize ? -1 : rng.int(1, 30_000);
      const now = clock + rng.int(0, 5_000);
      model.retain(retentionBytes, retentionMs, now);
      const saved = log.config;
      log.config = { ...saved, retentionBytes, retentionMs };
      log.enforceRetention(now);
      log.config = saved;
      expect(log.logStartOffset).toBe(model.logStart);
      expect(log.segmentCount).toBe(model.segments.length);
    } else if (op < 0.9) {
      await manager.checkpoint();
    } else if (op < 0.95) {
      await reopen(rng.chance(0.5));
    } else {
      checkAll();
    }
  }
  await reopen(false);
  await reopen(true);
  await manager.close();
  expect(fs.existsSync(path.join(dir, "recovery-point-offset-checkpoint"))).toBe(true);
}

describe("partition log against a model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`seed ${seed}`, async () => {
      try {
        await runSeed(seed, 250);
      } catch (error) {
        console.error(`model test failed with seed ${seed} (rerun one seed with KC_MODEL_SEED=${seed})`);
        throw error;
      }
    }, 60_000);
  }
  const extra = Number(process.env.KC_MODEL_SEED ?? "");
  if (Number.isSafeInteger(extra) && process.env.KC_MODEL_SEED) {
    test(`seed ${extra} (from KC_MODEL_SEED)`, async () => {
      await runSeed(extra, 1000);
    }, 600_000);
  }
});
