/**
 * Crash recovery: torn tails of every length, flipped bytes, zero and garbage
 * tails, corruption before the recovery point, and a recovery that reads only
 * the tail of the log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { HEADER_SIZE } from "../../../src/log/batch-frame";
import { nodeFileIO, type FileIO } from "../../../src/log/file-io";
import { resolveLogConfig, type LogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog, type RecoveryReport } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { segmentFileName } from "../../../src/log/segment";
import { decodeAll, expectCode, expectedStored, plain, Rng, TempDirs, TrackingIO } from "./helpers";

const temp = new TempDirs();
const imageTemp = new TempDirs();
afterEach(() => temp.cleanup());
afterAll(() => imageTemp.cleanup());

const CONFIG: LogConfig = resolveLogConfig({ segmentBytes: 4096, indexIntervalBytes: 200, retentionMs: -1 });

function makeRecords(rng: Rng, count: number, clock: { now: number }): ProducerRecord[] {
  return Array.from({ length: count }, () => ({
    key: rng.chance(0.3) ? null : rng.bytes(rng.int(1, 8)),
    value: rng.bytes(rng.int(5, 60)),
    timestamp: (clock.now += rng.int(0, 50)),
  }));
}

function open(dir: string, recoveryPoint: number | null, io: FileIO = nodeFileIO, config = CONFIG) {
  return openPartitionLog({ io, config, topic: "t", partition: 0, dir, recoveryPoint });
}

async function appendAll(log: PartitionLog, records: ProducerRecord[][]): Promise<void> {
  let last = 0;
  for (const batch of records) last = log.append(encodeBatch(batch), 3).nextOffset;
  await log.waitFor(last, "all");
}

function readEverything(log: PartitionLog): ReturnType<typeof decodeAll> {
  const out: ReturnType<typeof decodeAll> = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const result = log.read(offset, 1 << 20);
    out.push(...decodeAll(result.data).filter((r) => r.offset >= offset));
    offset = result.nextOffset;
  }
  return out;
}

function expectLogHolds(log: PartitionLog, model: ProducerRecord[]): void {
  expect(log.logEndOffset).toBe(model.length);
  expect(log.highWatermark).toBe(model.length);
  expect(readEverything(log).map(plain)).toEqual(model.map((r, i) => plain(expectedStored(r, i))));
}

/** After recovery, appends continue at the right offset and read back. */
async function expectAppendsContinue(log: PartitionLog, model: ProducerRecord[]): Promise<void> {
  const extra: ProducerRecord[] = [{ key: null, value: new TextEncoder().encode("after recovery"), timestamp: 9e12 }];
  const result = log.append(encodeBatch(extra), 4);
  expect(result.baseOffsets).toEqual([model.length]);
  await log.waitFor(result.nextOffset, "all");
  expectLogHolds(log, [...model, ...extra]);
}

/**
 * A crash image: several sealed segments, then a last segment holding some
 * batches before the recovery point and one batch after it. Files are copied
 * while the log is open, after the data is durable.
 */
interface CrashImage {
  dir: string;
  recoveryPoint: number;
  /** Every record, the last batch included. */
  records: ProducerRecord[];
  lastBatch: ProducerRecord[];
  lastSegment: string;
  lastBatchPosition: number;
  lastBatchSize: number;
}

async function buildCrashImage(): Promise<CrashImage> {
  const rng = new Rng(1234);
  const clock = { now: 1_700_000_000_000 };
  const live = imageTemp.make("kc-live-");
  const { log } = open(live, null);
  const batches: ProducerRecord[][] = [];
  for (let i = 0; i < 60; i++) batches.push(makeRecords(rng, rng.int(1, 6), clock));
  await appendAll(log, batches);
  log.roll();
  const inLast: ProducerRecord[][] = [];
  for (let i = 0; i < 8; i++) inLast.push(makeRecords(rng, rng.int(1, 3), clock));
  await appendAll(log, inLast);
  log.syncIndexes();
  const recoveryPoint = log.highWatermark;
  const lastBatch = makeRecords(rng, 3, clock);
  await appendAll(log, [lastBatch]);
  expect(log.segmentCount).toBeGreaterThanOrEqual(4);
  // The last segment holds batches before the recovery point and the one after it.
  expect(log.active.baseOffset).toBeLessThan(recoveryPoint);
  const lastSegment = segmentFileName(log.active.baseOffset, "log");
  const dir = imageTemp.make("kc-image-");
  for (const name of fs.readdirSync(live)) fs.copyFileSync(path.join(live, name), path.join(dir, name));
  await log.close();
  const records = [...batches.flat(), ...inLast.flat(), ...lastBatch];
  const lastBatchSize = encodeBatch(lastBatch).length;
  const lastBatchPosition = fs.statSync(path.join(dir, lastSegment)).size - lastBatchSize;
  return { dir, recoveryPoint, records, lastBatch, lastSegment, lastBatchPosition, lastBatchSize };
}

function workCopy(image: CrashImage): string {
  const dir = temp.make("kc-work-");
  for (const name of fs.readdirSync(image.dir)) fs.copyFileSync(path.join(image.dir, name), path.join(dir, name));
  return dir;
}

function damage(dir: string, file: string, change: (bytes: Buffer) => Buffer): void {
  const p = path.join(dir, file);
  fs.writeFileSync(p, change(fs.readFileSync(p)));
}

let image: CrashImage;
beforeAll(async () => {
  image = await buildCrashImage();
});

async function expectRecoversToPrefix(dir: string, kept: ProducerRecord[], truncated: number): Promise<RecoveryReport> {
  const { log, report } = open(dir, image.recoveryPoint);
  try {
    expect(report.nextOffset).toBe(kept.length);
    expect(report.truncatedBytes).toBe(truncated);
    expectLogHolds(log, kept);
    await expectAppendsContinue(log, kept);
  } finally {
    await log.close();
  }
  // The recovered log reopens cleanly, with nothing left to truncate.
  const again = open(dir, image.recoveryPoint);
  expect(again.report.truncatedBytes).toBe(0);
  expect(again.log.logEndOffset).toBe(kept.length + 1);
  await again.log.close();
  return report;
}

describe("crash recovery", () => {
  test("the intact image reopens with every record", async () => {
    const dir = workCopy(image);
    const report = await expectRecoversToPrefix(dir, image.records, 0);
    expect(report.truncationReason).toBeNull();
  });

  test("a cut at every byte inside the last batch keeps exactly the batches before it", async () => {
    const before = image.records.slice(0, image.records.length - image.lastBatch.length);
    for (let cut = image.lastBatchPosition; cut < image.lastBatchPosition + image.lastBatchSize; cut++) {
      const dir = workCopy(image);
      fs.truncateSync(path.join(dir, image.lastSegment), cut);
      try {
        const report = await expectRecoversToPrefix(dir, before, cut - image.lastBatchPosition);
        if (cut > image.lastBatchPosition) expect(report.truncationReason).toContain(image.lastSegment);
      } catch (error) {
        throw new Error(`cut at ${cut}: ${(error as Error).message}`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("a flipped byte in the tail batch truncates that batch", async () => {
    const before = image.records.slice(0, image.records.length - image.lastBatch.length);
    for (let i = 0; i < image.lastBatchSize; i++) {
      if (i >= 12 && i < 16) continue; // the leader epoch is stamped, outside the checksum
      const dir = workCopy(image);
      damage(dir, image.lastSegment, (bytes) => {
        bytes[image.lastBatchPosition + i] ^= 0x41;
        return bytes;
      });
      try {
        await expectRecoversToPrefix(dir, before, image.lastBatchSize);
      } catch (error) {
        throw new Error(`flip at byte ${i} of the last batch: ${(error as Error).message}`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("4 KiB of zeros after the last batch are cut off", async () => {
    const dir = workCopy(image);
    damage(dir, image.lastSegment, (bytes) => Buffer.concat([bytes, Buffer.alloc(4096)]));
    const report = await expectRecoversToPrefix(dir, image.records, 4096);
    expect(report.truncationReason).toContain("length is 0");
  });

  test("random garbage after the last batch is cut off", async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const rng = new Rng(seed);
      const garbage = Buffer.from(rng.bytes(rng.int(1, 5000)));
      if (seed === 6) garbage.writeUInt32BE(100, 0); // a plausible length, a bad checksum
      const dir = workCopy(image);
      damage(dir, image.lastSegment, (bytes) => Buffer.concat([bytes, garbage]));
      try {
        await expectRecoversToPrefix(dir, image.records, garbage.length);
      } catch (error) {
        throw new Error(`garbage seed ${seed}: ${(error as Error).message}`);
      }
    }
  });

  test("a whole frame copied after the last batch (a replayed write) is cut off", async () => {
    const dir = workCopy(image);
    damage(dir, image.lastSegment, (bytes) => {
      const last = bytes.subarray(image.lastBatchPosition, image.lastBatchPosition + image.lastBatchSize);
      return Buffer.concat([bytes, last]);
    });
    const report = await expectRecoversToPrefix(dir, image.records, image.lastBatchSize);
    expect(report.truncationReason).toContain("expected");
  });

  test("an empty segment file after a torn segment is removed", async () => {
    const dir = workCopy(image);
    const base = image.records.length;
    fs.writeFileSync(path.join(dir, segmentFileName(base + 7, "log")), Buffer.alloc(0));
    fs.truncateSync(path.join(dir, image.lastSegment), image.lastBatchPosition + 10);
    const { log, report } = open(dir, image.recoveryPoint);
    expect(report.removedSegments).toBe(1);
    expect(fs.existsSync(path.join(dir, segmentFileName(base + 7, "log")))).toBe(false);
    expectLogHolds(log, image.records.slice(0, image.records.length - image.lastBatch.length));
    await log.close();
  });

  test("a flipped byte before the recovery point fails open with CORRUPT_MESSAGE naming the file and position", async () => {
    const dir = workCopy(image);
    const logFile = path.join(dir, image.lastSegment);
    const base = Number(image.lastSegment.slice(0, 20));
    const index = fs.readFileSync(path.join(dir, segmentFileName(base, "index")));
    // The last index entry before the recovery point: where recovery starts reading.
    let position = 0;
    for (let at = 0; at + 8 <= index.length; at += 8) {
      if (base + index.readUInt32BE(at) < image.recoveryPoint) position = index.readUInt32BE(at + 4);
    }
    expect(position).toBeGreaterThan(0);
    damage(dir, image.lastSegment, (bytes) => {
      bytes[position + HEADER_SIZE + 3] ^= 0x08;
      return bytes;
    });
    const error = await expectCode(() => open(dir, image.recoveryPoint), "CORRUPT_MESSAGE");
    expect(error.message).toContain(logFile);
    expect(error.message).toContain(`position ${position}`);
    // Without a recovery point the same bytes are just a torn tail.
    const { log } = open(dir, null);
    expect(log.logEndOffset).toBeLessThan(image.recoveryPoint);
    await log.close();
  });

  test("a log that ends before its recovery point fails open", async () => {
    const dir = workCopy(image);
    fs.truncateSync(path.join(dir, image.lastSegment), 0);
    await expectCode(() => open(dir, image.recoveryPoint), "CORRUPT_MESSAGE");
  });

  test("a recovery point with no segments at all fails open", async () => {
    await expectCode(() => open(temp.make(), 5), "CORRUPT_MESSAGE");
  });
});

describe("recovery from a recovery point in an older segment", () => {
  async function threeSegmentsAfterPoint() {
    const rng = new Rng(31);
    const clock = { now: 5_000 };
    const live = temp.make();
    const { log } = open(live, null);
    const batches: ProducerRecord[][] = [];
    const add = async (n: number) => {
      const more = Array.from({ length: n }, () => makeRecords(rng, rng.int(1, 3), clock));
      batches.push(...more);
      await appendAll(log, more);
    };
    await add(10);
    log.syncIndexes();
    const recoveryPoint = log.highWatermark;
    const pointSegment = log.active.baseOffset;
    await add(8);
    log.roll();
    const middle = log.active.baseOffset;
    await add(8);
    log.roll();
    const last = log.active.baseOffset;
    await add(5);
    const image = temp.make();
    for (const name of fs.readdirSync(live)) fs.copyFileSync(path.join(live, name), path.join(image, name));
    await log.close();
    return { image, recoveryPoint, pointSegment, middle, last, batches };
  }

  test("segments after the point are scanned whole; their indexes are rebuilt and right", async () => {
    const built = await threeSegmentsAfterPoint();
    const records = built.batches.flat();
    for (const base of [built.middle, built.last]) {
      fs.rmSync(path.join(built.image, segmentFileName(base, "index")), { force: true });
      fs.writeFileSync(path.join(built.image, segmentFileName(base, "timeindex")), Buffer.alloc(7));
    }
    const { log, report } = open(built.image, built.recoveryPoint);
    expect(report.truncatedBytes).toBe(0);
    expectLogHolds(log, records);
    for (const [i, r] of records.entries()) {
      const expected = records.findIndex((x) => x.timestamp! >= r.timestamp!);
      expect(log.offsetForTimestamp(r.timestamp!)).toBe(expected);
      expect(i).toBeGreaterThanOrEqual(expected);
    }
    await expectAppendsContinue(log, records);
    await log.close();
  });

  test("a torn tail in a sealed segment after the point cuts the log there and drops later segments", async () => {
    const built = await threeSegmentsAfterPoint();
    const records = built.batches.flat();
    const middleFile = path.join(built.image, segmentFileName(built.middle, "log"));
    const size = fs.statSync(middleFile).size;
    fs.truncateSync(middleFile, size - 3);
    const { log, report } = open(built.image, built.recoveryPoint);
    expect(report.removedSegments).toBe(1);
    expect(fs.existsSync(path.join(built.image, segmentFileName(built.last, "log")))).toBe(false);
    expect(log.segmentCount).toBe(2);
    const kept = records.slice(0, log.logEndOffset);
    expect(log.logEndOffset).toBeGreaterThan(built.middle);
    expect(log.logEndOffset).toBeLessThan(built.last);
    expectLogHolds(log, kept);
    await expectAppendsContinue(log, kept);
    await log.close();
  });

  test("a segment whose name does not continue the log is dropped as a torn tail", async () => {
    const built = await threeSegmentsAfterPoint();
    const records = built.batches.flat();
    fs.renameSync(path.join(built.image, segmentFileName(built.last, "log")), path.join(built.image, segmentFileName(built.last + 1, "log")));
    const { log, report } = open(built.image, built.recoveryPoint);
    expect(report.truncationReason).toContain("expected");
    expectLogHolds(log, records.slice(0, built.last));
    await log.close();
  });
});

describe("recovery reads only the tail", () => {
  test("segments wholly before the recovery point are not read", async () => {
    const rng = new Rng(99);
    const clock = { now: 1_700_000_000_000 };
    const dir = temp.make();
    const config = resolveLogConfig({ segmentBytes: 1024, indexIntervalBytes: 128, retentionMs: -1 });
    const first = open(dir, null, nodeFileIO, config);
    const model: ProducerRecord[] = [];
    for (let i = 0; i < 150; i++) {
      const batch = makeRecords(rng, rng.int(1, 4), clock);
      model.push(...batch);
      first.log.append(encodeBatch(batch), 1);
    }
    await first.log.waitFor(model.length, "all");
    first.log.syncIndexes();
    const recoveryPoint = first.log.highWatermark;
    const tailStart = first.log.active.baseOffset;
    for (let i = 0; i < 3; i++) {
      const batch = makeRecords(rng, 2, clock);
      model.push(...batch);
      first.log.append(encodeBatch(batch), 1);
    }
    await first.log.waitFor(model.length, "all");
    const sealed = first.log.segmentCount - 1;
    expect(sealed).toBeGreaterThanOrEqual(20);
    // An unclean stop: copy the files while the log is open.
    const image = temp.make();
    for (const name of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, name), path.join(image, name));
    await first.log.close();

    const io = new TrackingIO();
    const { log, report } = open(image, recoveryPoint, io, config);
    let readBefore = 0;
    let readTail = 0;
    for (const [file, n] of io.bytesRead) {
      if (!file.endsWith(".log")) continue;
      const base = Number(path.basename(file).slice(0, 20));
      if (base < tailStart) readBefore += n;
      else readTail += n;
    }
    expect(readBefore).toBe(0);
    expect(readTail).toBeGreaterThan(0);
    expect(readTail).toBeLessThanOrEqual(1024 + 4096);
    expect(report.scannedBytes).toBeGreaterThan(0);
    expect(report.scannedBytes).toBeLessThan(1024);
    expect(report.nextOffset).toBe(model.length);
    expectLogHolds(log, model);
    await log.close();
  });
});
