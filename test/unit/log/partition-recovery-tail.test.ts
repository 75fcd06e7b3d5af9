/** Recovery reads only the tail: from the recovery point on, whatever segment it falls in. */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { nodeFileIO } from "../../../src/log/file-io";
import { resolveLogConfig } from "../../../src/log/log-config";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { segmentFileName } from "../../../src/log/segment";
import { Rng, TempDirs, TrackingIO } from "./helpers";
import { appendAll, expectAppendsContinue, expectLogHolds, makeRecords, openAt as open } from "./recovery-fixtures";

const temp = new TempDirs();
afterEach(() => temp.cleanup());

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
    const recoveryPoint = await log.prepareCheckpoint();
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
    const recoveryPoint = await first.log.prepareCheckpoint();
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
