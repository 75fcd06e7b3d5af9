/** Segment indexes: missing or damaged .index/.timeindex files are rebuilt and reads stay right. */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { resolveLogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { parseSegmentFileName, segmentFileName } from "../../../src/log/segment";
import { copyTree, decodeAll, expectedStored, plain, Rng, TempDirs, TrackingIO } from "./helpers";

const temp = new TempDirs();
afterEach(() => temp.cleanup());

const config = resolveLogConfig({ segmentBytes: 2048, indexIntervalBytes: 128, retentionMs: -1 });

interface Built {
  dir: string;
  records: ProducerRecord[];
  recoveryPoint: number;
  sealedBases: number[];
}

/** A log with several sealed segments; timestamps rise with small dips so the time index matters. */
async function build(): Promise<Built> {
  const rng = new Rng(5);
  const dir = temp.make();
  const { log } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir, recoveryPoint: null });
  const records: ProducerRecord[] = [];
  let clock = 1_000_000;
  for (let i = 0; i < 90; i++) {
    const batch: ProducerRecord[] = [];
    for (let n = rng.int(1, 4); n > 0; n--) {
      clock += rng.int(-30, 100);
      batch.push({ key: rng.bytes(4), value: rng.bytes(rng.int(10, 80)), timestamp: clock });
    }
    records.push(...batch);
    log.append(encodeBatch(batch), 1);
  }
  await log.waitFor(records.length, "all");
  expect(log.segmentCount).toBeGreaterThanOrEqual(4);
  await log.close();
  const bases = fs
    .readdirSync(dir)
    .map(parseSegmentFileName)
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  return { dir, records, recoveryPoint: records.length, sealedBases: bases.slice(0, -1) };
}

function expectReadsAndTimestampsRight(log: PartitionLog, records: ProducerRecord[]): void {
  for (let offset = 0; offset < records.length; offset++) {
    const result = log.read(offset, 1);
    const got = decodeAll(result.data).find((r) => r.offset === offset);
    expect(got && plain(got)).toEqual(plain(expectedStored(records[offset]!, offset)));
  }
  const probes = new Set<number>();
  for (const r of records) for (const d of [-1, 0, 1]) probes.add(r.timestamp! + d);
  for (const t of probes) {
    const expected = records.findIndex((r) => r.timestamp! >= t);
    expect(log.offsetForTimestamp(t)).toBe(expected < 0 ? null : expected);
  }
}

function indexPaths(dir: string, base: number) {
  return { index: path.join(dir, segmentFileName(base, "index")), time: path.join(dir, segmentFileName(base, "timeindex")) };
}

const damages: Record<string, (file: string, entryBytes: number) => void> = {
  deleted: (file) => fs.rmSync(file, { force: true }),
  empty: (file) => fs.writeFileSync(file, Buffer.alloc(0)),
  "cut mid-entry": (file) => {
    const size = fs.statSync(file).size;
    fs.truncateSync(file, Math.max(1, size - 3));
  },
  "last entry cut off": (file, entryBytes) => {
    const size = fs.statSync(file).size;
    fs.truncateSync(file, Math.max(0, size - entryBytes));
  },
  "zero-filled tail": (file, entryBytes) => fs.appendFileSync(file, Buffer.alloc(entryBytes * 3)),
  garbage: (file, entryBytes) => fs.writeFileSync(file, Buffer.from(new Rng(fs.statSync(file).size).bytes(entryBytes * 5))),
};

describe("index rebuild", () => {
  for (const [name, damage] of Object.entries(damages)) {
    test(`sealed segments' indexes ${name} are rebuilt; reads and offsetForTimestamp stay right`, async () => {
      const built = await build();
      for (const base of built.sealedBases) {
        const { index, time } = indexPaths(built.dir, base);
        damage(index, 8);
        damage(time, 12);
      }
      const { log, report } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir: built.dir, recoveryPoint: built.recoveryPoint });
      expect(report.scannedBytes).toBe(0);
      expectReadsAndTimestampsRight(log, built.records);
      await log.close();
      for (const base of built.sealedBases) {
        const { index, time } = indexPaths(built.dir, base);
        expect(fs.statSync(index).size % 8).toBe(0);
        expect(fs.statSync(time).size % 12).toBe(0);
        expect(fs.statSync(time).size).toBeGreaterThan(0);
      }
      // Reopened again, the rebuilt indexes load as they are.
      const again = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir: built.dir, recoveryPoint: built.recoveryPoint });
      expectReadsAndTimestampsRight(again.log, built.records);
      await again.log.close();
    });
  }

  test("only the time index damaged: retention by age still sees each segment's true newest record", async () => {
    const built = await build();
    const first = built.sealedBases[0]!;
    const second = built.sealedBases[1]!;
    const newest = Math.max(...built.records.slice(first, second).map((r) => r.timestamp!));
    damages["last entry cut off"]!(indexPaths(built.dir, first).time, 12);
    const { log } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir: built.dir, recoveryPoint: built.recoveryPoint });
    log.config = { ...log.config, retentionMs: 1000 };
    expect(log.enforceRetention(newest + 1000)).toBe(0);
    expect(log.enforceRetention(newest + 1001)).toBeGreaterThanOrEqual(1);
    expect(log.logStartOffset).toBeGreaterThanOrEqual(second);
    await log.close();
  });

  test("the active segment's damaged time index is rebuilt by recovery, not trusted in part", async () => {
    const liveDir = temp.make();
    const first = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir: liveDir, recoveryPoint: null });
    // The newest record comes early in the segment, far before the last index entry.
    const records: ProducerRecord[] = [{ value: new Uint8Array(50), timestamp: 9_000_000 }];
    for (let i = 0; i < 15; i++) records.push({ value: new Uint8Array(50), timestamp: 1_000 + i });
    for (const r of records) first.log.append(encodeBatch([r]), 1);
    await first.log.waitFor(records.length, "all");
    expect(first.log.segmentCount).toBe(1);
    const recoveryPoint = await first.log.prepareCheckpoint();
    // An unclean stop: the files as they are while the log is open.
    const dir = temp.make();
    copyTree(liveDir, dir);
    await first.log.close();
    const { index, time } = indexPaths(dir, 0);
    expect(fs.statSync(index).size).toBeGreaterThan(8);
    fs.writeFileSync(time, Buffer.from(new Rng(3).bytes(36)));
    const { log } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir, recoveryPoint });
    expect(log.offsetForTimestamp(9_000_000)).toBe(0);
    expectReadsAndTimestampsRight(log, records);
    const more: ProducerRecord[] = [{ value: new Uint8Array([1]), timestamp: 500 }];
    log.append(encodeBatch(more), 1);
    await log.waitFor(records.length + 1, "all");
    log.roll();
    await log.close();
    // Sealed now: its indexes on disk must describe the whole segment.
    const again = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir, recoveryPoint: null });
    expectReadsAndTimestampsRight(again.log, [...records, ...more]);
    await again.log.close();
  });

  test("stray index files without a .log are removed on open", async () => {
    const built = await build();
    const stray = path.join(built.dir, segmentFileName(999_999, "index"));
    fs.writeFileSync(stray, Buffer.alloc(8));
    const { log } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir: built.dir, recoveryPoint: built.recoveryPoint });
    expect(fs.existsSync(stray)).toBe(false);
    await log.close();
  });

  test("a sealed segment corrupted inside is reported when its index is rebuilt", async () => {
    const built = await build();
    const base = built.sealedBases[1]!;
    const { index } = indexPaths(built.dir, base);
    fs.rmSync(index);
    const file = path.join(built.dir, segmentFileName(base, "log"));
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const { log } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir: built.dir, recoveryPoint: built.recoveryPoint });
    let caught: unknown;
    try {
      log.read(base, 100);
    } catch (error) {
      caught = error;
    }
    expect((caught as { code?: string }).code).toBe("CORRUPT_MESSAGE");
    expect(String((caught as Error).message)).toContain(file);
    await log.close();
  });
});
