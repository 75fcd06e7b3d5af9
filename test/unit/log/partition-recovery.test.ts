/**
 * Crash recovery from a crash image: torn tails of every length, flipped
 * bytes, zero and garbage tails, corruption before the recovery point.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { HEADER_SIZE } from "../../../src/log/batch-frame";
import type { RecoveryReport } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { segmentFileName } from "../../../src/log/segment";
import { expectCode, Rng, TempDirs } from "./helpers";
import { appendAll, expectAppendsContinue, expectLogHolds, makeRecords, openAt as open } from "./recovery-fixtures";

const temp = new TempDirs();
const imageTemp = new TempDirs();
afterEach(() => temp.cleanup());
afterAll(() => imageTemp.cleanup());

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
  const recoveryPoint = await log.prepareCheckpoint();
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
