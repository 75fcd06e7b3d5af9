/** Appending, closing, rolling and retention of one partition log. */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { encodeBatch } from "../../../src/log/record-codec";
import { batch, gateDatasync, LogFixture, offsetsIn } from "./log-fixtures";
import { expectCode, until } from "./helpers";

const fixture = new LogFixture();
afterEach(() => fixture.cleanup());
const makeLog = fixture.make.bind(fixture);
const enc = new TextEncoder();

describe("append", () => {
  test("append refuses malformed input before assigning anything", async () => {
    const { log } = makeLog();
    await expectCode(() => log.append(new Uint8Array(0), 1), "INVALID_RECORD");
    const good = batch(2);
    const bad = batch(1);
    bad[bad.length - 1] ^= 1;
    const both = new Uint8Array(good.length + bad.length);
    both.set(good);
    both.set(bad, good.length);
    await expectCode(() => log.append(both, 1), "CORRUPT_MESSAGE");
    await expectCode(() => log.append(good.subarray(0, good.length - 1), 1), "CORRUPT_MESSAGE");
    expect(log.logEndOffset).toBe(0);
    const ok = log.append(good, 1);
    expect(ok.baseOffsets).toEqual([0]);
    await log.close();
    await expectCode(() => log.append(batch(1), 1), "LOG_CLOSED");
  });

  test("several frames in one append get consecutive base offsets and the leader epoch", async () => {
    const { log } = makeLog();
    const frames = [batch(2), batch(3), batch(1)];
    const data = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      data.set(f, at);
      at += f.length;
    }
    const result = log.append(data, 7);
    expect(result.baseOffsets).toEqual([0, 2, 5]);
    expect(result.nextOffset).toBe(6);
    await log.waitFor(6, "all");
    const read = log.read(0, 1 << 20);
    expect(read.data).toEqual(data);
    expect(new DataView(read.data.buffer, read.data.byteOffset).getInt32(12)).toBe(7);
  });
});

describe("closing", () => {
  test("close called twice at once closes the files once, and both calls resolve", async () => {
    const { log, io } = makeLog();
    const result = log.append(batch(2), 1);
    const acked = log.waitFor(result.nextOffset, "all");
    const closes = [log.close(), log.close()];
    await Promise.all(closes);
    await acked;
    await log.close();
    expect(io.paths.size).toBe(0);
    await expectCode(log.waitFor(5, "all"), "LOG_CLOSED");
  });
});

describe("rolls and retention", () => {
  test("a segment rolls when the next append would pass segment.bytes, and by age", async () => {
    const { log, dir } = makeLog({ segmentBytes: 1024 });
    for (let i = 0; i < 20; i++) log.append(batch(1, 100), 1);
    await log.waitFor(20, "all");
    expect(log.segmentCount).toBeGreaterThan(2);
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".log"))) {
      expect(fs.statSync(path.join(dir, name)).size).toBeLessThanOrEqual(1024);
    }
    const aged = makeLog({ segmentMs: 1 });
    aged.log.append(batch(1), 1);
    const created = aged.log.active.createdAtMs;
    await until(() => Date.now() - created > 1, "the clock to pass segment.ms");
    aged.log.append(batch(1), 1);
    expect(aged.log.segmentCount).toBe(2);
    expect(aged.log.active.baseOffset).toBe(1);
  });

  test("retention never deletes a segment whose fsync is still in flight", async () => {
    const { log, io } = makeLog();
    await log.waitFor(log.append(batch(5, 200), 1).nextOffset, "all");
    const gate = gateDatasync(io);
    log.append(batch(5, 200), 1);
    log.roll();
    const last = log.append(batch(1), 1);
    await until(() => gate.started > 0, "the fsync to start");
    log.config = { ...log.config, retentionBytes: 1 };
    log.enforceRetention();
    gate.release();
    await log.waitFor(last.nextOffset, "all");
    expect(log.storageFailure).toBeNull();
    await log.waitFor(log.append(batch(1), 1).nextOffset, "all");
    expect(log.enforceRetention()).toBe(1);
    expect(log.logStartOffset).toBe(10);
    expect(offsetsIn(log)).toEqual([10, 11]);
  });

  test("retention by age uses each segment's newest record timestamp", async () => {
    const { log } = makeLog();
    const at = (ts: number) => encodeBatch([{ value: enc.encode("x"), timestamp: ts }]);
    log.append(at(1_000), 1);
    log.append(at(5_000), 1);
    log.roll();
    log.append(at(2_000), 1);
    log.roll();
    log.append(at(9_000), 1);
    await log.waitFor(4, "all");
    log.config = { ...log.config, retentionMs: 1_000 };
    expect(log.enforceRetention(5_500)).toBe(0);
    expect(log.enforceRetention(6_001)).toBe(2);
    expect(log.logStartOffset).toBe(3);
    expect(log.enforceRetention(1e12)).toBe(0);
    expect(log.segmentCount).toBe(1);
    await expectCode(() => log.read(0, 100), "OFFSET_OUT_OF_RANGE");
  });
});
