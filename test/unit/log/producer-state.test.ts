import { afterEach, describe, expect, test } from "bun:test";
import { resolveLogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { PRODUCER_SNAPSHOT_FILE } from "../../../src/log/producer-state";
import { encodeBatch, type ProducerIdentity } from "../../../src/log/record-codec";
import fs from "node:fs";
import path from "node:path";
import { copyTree, errnoError, expectCode, TempDirs, TrackingIO } from "./helpers";
import { offsetsIn } from "./log-fixtures";

const config = resolveLogConfig({ segmentBytes: 2048, indexIntervalBytes: 256, retentionMs: -1 });
const temp = new TempDirs();
const open: PartitionLog[] = [];
const enc = new TextEncoder();

function openLog(dir: string, recoveryPoint: number | null = null, io = new TrackingIO()) {
  const opened = openPartitionLog({ io, config, topic: "t", partition: 0, dir, recoveryPoint });
  open.push(opened.log);
  return { ...opened, io };
}

function frame(producerId: number, baseSequence: number, count: number, producerEpoch = 0): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({ value: enc.encode(`p${producerId}-s${baseSequence + i}`), timestamp: 1_700_000_000_000 + i }));
  const identity: ProducerIdentity = { producerId, producerEpoch, baseSequence };
  return encodeBatch(records, identity);
}

afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => {});
  temp.cleanup();
});

describe("idempotent appends", () => {
  test("a retried batch is answered with its original offset and not appended again", async () => {
    const { log } = openLog(temp.make());
    const first = log.append(frame(7, 0, 3), 1);
    const retry = log.append(frame(7, 0, 3), 1);
    expect(retry.baseOffsets).toEqual(first.baseOffsets);
    expect(retry.nextOffset).toBe(3);
    expect(log.logEndOffset).toBe(3);
    await log.waitFor(retry.nextOffset, "all");
    expect(offsetsIn(log)).toEqual([0, 1, 2]);
    const next = log.append(frame(7, 3, 2), 1);
    expect(next.baseOffsets).toEqual([3]);
  });

  test("a batch that skips a sequence is refused and nothing is appended", async () => {
    const { log } = openLog(temp.make());
    log.append(frame(7, 0, 2), 1);
    await expectCode(() => log.append(frame(7, 5, 1), 1), "OUT_OF_ORDER_SEQUENCE");
    // A request mixing a good batch and a gap appends neither.
    await expectCode(() => log.append(concat(frame(7, 2, 1), frame(7, 9, 1)), 1), "OUT_OF_ORDER_SEQUENCE");
    expect(log.logEndOffset).toBe(2);
    expect(log.append(frame(7, 2, 1), 1).baseOffsets).toEqual([2]);
  });

  test("an older producer epoch is fenced; a newer one starts again at sequence 0", async () => {
    const { log } = openLog(temp.make());
    log.append(frame(7, 0, 2, 3), 1);
    await expectCode(() => log.append(frame(7, 2, 1, 2), 1), "INVALID_PRODUCER_EPOCH");
    await expectCode(() => log.append(frame(7, 4, 1, 4), 1), "OUT_OF_ORDER_SEQUENCE");
    expect(log.append(frame(7, 0, 1, 4), 1).baseOffsets).toEqual([2]);
  });

  test("batches without a producer id are never deduplicated", async () => {
    const { log } = openLog(temp.make());
    const plain = encodeBatch([{ value: enc.encode("x") }]);
    log.append(plain.slice(), 1);
    log.append(plain.slice(), 1);
    expect(log.logEndOffset).toBe(2);
  });

  test("a failed write forgets the batches it carried, so their retry is appended", async () => {
    const io = new TrackingIO();
    const { log } = openLog(temp.make(), null, io);
    await log.waitFor(log.append(frame(7, 0, 1), 1).nextOffset, "all");
    io.onLogWrite = () => {
      throw errnoError("ENOSPC");
    };
    const failed = log.append(frame(7, 1, 1), 1);
    await expectCode(log.waitFor(failed.nextOffset, "all"), "STORAGE_ERROR");
    io.onLogWrite = null;
    const retried = log.append(frame(7, 1, 1), 1);
    expect(retried.baseOffsets).toEqual([1]);
    await log.waitFor(retried.nextOffset, "all");
    expect(offsetsIn(log)).toEqual([0, 1]);
  });
});

describe("producer state after a restart", () => {
  async function writeSome(dir: string) {
    const { log } = openLog(dir);
    let next = 0;
    for (let s = 0; s < 60; s += 3) next = log.append(frame(11, s, 3), 1).nextOffset;
    await log.waitFor(next, "all");
    return log;
  }

  test("the snapshot taken at a checkpoint lets a reopened log recognise retries", async () => {
    const dir = temp.make();
    const log = await writeSome(dir);
    const point = await log.prepareCheckpoint();
    const after = log.append(frame(11, 60, 3), 1);
    await log.waitFor(after.nextOffset, "all");
    const image = temp.make();
    copyTree(dir, image);
    const reopened = openLog(image, point).log;
    expect(reopened.append(frame(11, 57, 3), 1).baseOffsets).toEqual([57]);
    expect(reopened.append(frame(11, 60, 3), 1).baseOffsets).toEqual([60]);
    expect(reopened.append(frame(11, 63, 1), 1).baseOffsets).toEqual([63]);
  });

  test("without a snapshot the state is replayed from the log", async () => {
    const dir = temp.make();
    const log = await writeSome(dir);
    const point = await log.prepareCheckpoint();
    const image = temp.make();
    copyTree(dir, image);
    fs.rmSync(path.join(image, PRODUCER_SNAPSHOT_FILE));
    const reopened = openLog(image, point).log;
    expect(reopened.append(frame(11, 30, 3), 1).baseOffsets).toEqual([30]);
    expect(reopened.logEndOffset).toBe(60);
  });

  test("a snapshot naming batches a torn tail lost does not swallow their retry", async () => {
    const dir = temp.make();
    const log = await writeSome(dir);
    const point = await log.prepareCheckpoint();
    const image = temp.make();
    copyTree(dir, image);
    const segments = fs.readdirSync(image).filter((name) => name.endsWith(".log")).sort();
    const last = path.join(image, segments[segments.length - 1]!);
    fs.truncateSync(last, fs.statSync(last).size - 5);
    const reopened = openLog(image, null).log;
    expect(reopened.logEndOffset).toBe(57);
    expect(point).toBe(60);
    expect(reopened.append(frame(11, 57, 3), 1).baseOffsets).toEqual([57]);
    expect(reopened.logEndOffset).toBe(60);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
