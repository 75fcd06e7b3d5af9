/** Group commit, durability and acks, and how write and fsync failures are handled. */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { batch, fileSize, gateDatasync, LogFixture, offsetsIn, settled } from "./log-fixtures";
import { errnoError, expectCode, until } from "./helpers";

const fixture = new LogFixture();
afterEach(() => fixture.cleanup());
const makeLog = fixture.make.bind(fixture);

describe("group commit", () => {
  test("appends made in one turn share one write and one fsync", async () => {
    const { log, io } = makeLog();
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 3000; i++) {
      const result = log.append(batch(2), 1);
      expect(result.baseOffsets).toEqual([i * 2]);
      waits.push(log.waitFor(result.nextOffset, "all"));
    }
    await Promise.all(waits);
    // More buffers than IOV_MAX may take a few writev calls, never more fsyncs.
    expect(io.logWrites).toBeLessThanOrEqual(3);
    expect(io.datasyncCalls).toBe(1);
    expect(log.highWatermark).toBe(6000);
    expect(offsetsIn(log)).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });

  test("concurrent producers share fsyncs: far fewer fsyncs than appends", async () => {
    const { log, io } = makeLog();
    const producers = 20;
    const perProducer = 25;
    await Promise.all(
      Array.from({ length: producers }, async () => {
        for (let i = 0; i < perProducer; i++) {
          const result = log.append(batch(1), 1);
          await log.waitFor(result.nextOffset, "all");
          expect(log.highWatermark).toBeGreaterThanOrEqual(result.nextOffset);
        }
      }),
    );
    expect(log.highWatermark).toBe(producers * perProducer);
    expect(io.datasyncCalls).toBeLessThanOrEqual((producers * perProducer) / 5);
  });

  test("acks=all resolves only after fsync completes; acks=1 after the write; readers see only durable bytes", async () => {
    const { log, io } = makeLog();
    await log.waitFor(log.append(batch(3), 1).nextOffset, "all");
    const gate = gateDatasync(io);
    const result = log.append(batch(2), 1);
    const all = settled(log.waitFor(result.nextOffset, "all"));
    await log.waitFor(result.nextOffset, "1");
    await until(() => gate.started > 0, "the fsync to start");
    expect(all.done).toBe(false);
    expect(log.highWatermark).toBe(3);
    expect(log.logEndOffset).toBe(5);
    expect(log.read(3, 1000).data.length).toBe(0);
    await expectCode(() => log.read(4, 1000), "OFFSET_OUT_OF_RANGE");
    expect(offsetsIn(log)).toEqual([0, 1, 2]);
    await log.waitFor(5, "0");
    gate.release();
    await log.waitFor(result.nextOffset, "all");
    expect(all.done).toBe(true);
    expect(all.error).toBeUndefined();
    expect(log.highWatermark).toBe(5);
    expect(offsetsIn(log)).toEqual([0, 1, 2, 3, 4]);
  });

  test("onDurable listeners hear each advance of the high watermark", async () => {
    const { log } = makeLog();
    const seen: number[] = [];
    const off = log.onDurable(() => seen.push(log.highWatermark));
    await log.waitFor(log.append(batch(2), 1).nextOffset, "all");
    off();
    await log.waitFor(log.append(batch(2), 1).nextOffset, "all");
    expect(seen).toEqual([2]);
  });

  test("a throwing onDurable listener does not break durability for everyone else", async () => {
    const { log } = makeLog();
    log.onDurable(() => {
      throw new Error("listener bug");
    });
    await log.waitFor(log.append(batch(1), 1).nextOffset, "all");
    await log.waitFor(log.append(batch(1), 1).nextOffset, "all");
    expect(log.highWatermark).toBe(2);
  });

  test("waiters registered out of offset order each resolve when their own offset is durable", async () => {
    const { log, io } = makeLog();
    const gate = gateDatasync(io);
    const a = log.append(batch(1), 1);
    await until(() => gate.started === 1, "the first fsync to start");
    const b = log.append(batch(1), 1);
    const waitB = settled(log.waitFor(b.nextOffset, "all"));
    const waitA = log.waitFor(a.nextOffset, "all");
    gate.releaseNext();
    // The second fsync stays gated, so this resolves only if A is not stuck behind B.
    await waitA;
    expect(waitB.done).toBe(false);
    await until(() => gate.started === 2, "the second fsync to start");
    gate.release();
    await until(() => waitB.done, "the second append to be acknowledged");
    expect(log.highWatermark).toBe(2);
  });

  test("waiting for an offset that was never assigned is refused, not left hanging", async () => {
    const { log } = makeLog();
    log.append(batch(2), 1);
    await expectCode(log.waitFor(3, "all"), "OFFSET_OUT_OF_RANGE");
    await log.waitFor(2, "all");
  });

  test("close waits for the fsync it started; nothing is acknowledged early", async () => {
    const { log, io } = makeLog();
    const gate = gateDatasync(io);
    const result = log.append(batch(2), 1);
    const all = settled(log.waitFor(result.nextOffset, "all"));
    const closing = settled(log.close());
    await until(() => gate.started > 0, "the fsync to start");
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(all.done).toBe(false);
    expect(closing.done).toBe(false);
    gate.release();
    await until(() => closing.done, "close");
    expect(all.done).toBe(true);
    expect(all.error).toBeUndefined();
  });
});

describe("write and fsync failures", () => {
  test("a write error rejects every waiting caller, acknowledges nothing unwritten, and the log recovers", async () => {
    const { log, io, dir } = makeLog();
    await log.waitFor(log.append(batch(2), 1).nextOffset, "all");
    const sizeBefore = fileSize(dir);
    let fail = true;
    io.onLogWrite = () => {
      if (fail) throw errnoError("ENOSPC", "no space left on device");
      return undefined;
    };
    const b = log.append(batch(1), 1);
    const c = log.append(batch(3), 1);
    expect(b.baseOffsets).toEqual([2]);
    const waits = [log.waitFor(b.nextOffset, "all"), log.waitFor(c.nextOffset, "1"), log.waitFor(c.nextOffset, "all")];
    for (const wait of waits) {
      const error = await expectCode(wait, "STORAGE_ERROR");
      expect(error.message).toContain("ENOSPC");
    }
    expect(fileSize(dir)).toBe(sizeBefore);
    expect(log.logEndOffset).toBe(2);
    expect(log.highWatermark).toBe(2);
    expect(log.storageFailure).toBeNull();
    fail = false;
    const d = log.append(batch(2), 1);
    expect(d.baseOffsets).toEqual([2]);
    await log.waitFor(d.nextOffset, "all");
    expect(offsetsIn(log)).toEqual([0, 1, 2, 3]);
    expect(fileSize(dir)).toBeGreaterThan(sizeBefore);
  });

  test("a short write followed by an error is cut back to the last whole write", async () => {
    const { log, io, dir } = makeLog();
    await log.waitFor(log.append(batch(2), 1).nextOffset, "all");
    const sizeBefore = fileSize(dir);
    let calls = 0;
    io.onLogWrite = (fd, chunks) => {
      calls++;
      if (calls === 1) return fs.writeSync(fd, chunks[0]!.subarray(0, 17));
      throw errnoError("ENOSPC");
    };
    const b = log.append(batch(4, 500), 1);
    await expectCode(log.waitFor(b.nextOffset, "all"), "STORAGE_ERROR");
    expect(calls).toBe(2);
    expect(fileSize(dir)).toBe(sizeBefore);
    io.onLogWrite = null;
    const c = log.append(batch(1), 1);
    expect(c.baseOffsets).toEqual([2]);
    await log.waitFor(c.nextOffset, "all");
    expect(offsetsIn(log)).toEqual([0, 1, 2]);
    await log.close();
    const reopened = fixture.reopen(dir, log.config);
    expect(reopened.report.truncatedBytes).toBe(0);
    expect(offsetsIn(reopened.log)).toEqual([0, 1, 2]);
  });

  test("a short write that the retry completes is acknowledged", async () => {
    const { log, io } = makeLog();
    let calls = 0;
    io.onLogWrite = (fd, chunks) => {
      calls++;
      return calls === 1 ? fs.writeSync(fd, chunks[0]!.subarray(0, 30)) : undefined;
    };
    const results = [log.append(batch(2), 1), log.append(batch(2), 1)];
    await log.waitFor(results[1]!.nextOffset, "all");
    expect(calls).toBe(2);
    expect(offsetsIn(log)).toEqual([0, 1, 2, 3]);
  });

  test("a failed write during an explicit roll does not create a second segment with the same base", async () => {
    const { log, io, dir } = makeLog();
    io.onLogWrite = () => {
      throw errnoError("EIO");
    };
    const a = log.append(batch(1), 1);
    const wait = log.waitFor(a.nextOffset, "all");
    log.roll();
    await expectCode(wait, "STORAGE_ERROR");
    io.onLogWrite = null;
    expect(log.segmentCount).toBe(1);
    const b = log.append(batch(2), 1);
    expect(b.baseOffsets).toEqual([0]);
    await log.waitFor(b.nextOffset, "all");
    log.roll();
    await log.waitFor(log.append(batch(1), 1).nextOffset, "all");
    expect(log.segmentCount).toBe(2);
    expect(offsetsIn(log)).toEqual([0, 1, 2]);
    await log.close();
    const reopened = fixture.reopen(dir, log.config);
    expect(offsetsIn(reopened.log)).toEqual([0, 1, 2]);
  });

  test("a write error during a size roll inside append fails the earlier appends and keeps the new one", async () => {
    const { log, io } = makeLog({ segmentBytes: 1024 });
    const a = log.append(batch(1, 700), 1);
    const waitA = log.waitFor(a.nextOffset, "all");
    io.onLogWrite = () => {
      throw errnoError("ENOSPC");
    };
    // B does not fit: the roll writes A first, which fails; B then goes where A was.
    const b = log.append(batch(1, 700), 1);
    io.onLogWrite = null;
    expect(b.baseOffsets).toEqual([0]);
    await expectCode(waitA, "STORAGE_ERROR");
    await log.waitFor(b.nextOffset, "all");
    expect(log.segmentCount).toBe(1);
    expect(offsetsIn(log)).toEqual([0]);
  });

  test("an fsync error rejects waiters with STORAGE_ERROR, refuses further writes, and reads keep working", async () => {
    const { log, io } = makeLog();
    await log.waitFor(log.append(batch(3), 1).nextOffset, "all");
    io.onDatasync = () => Promise.reject(errnoError("EIO", "input/output error"));
    const b = log.append(batch(2), 1);
    const c = log.append(batch(1), 1);
    const waits = [log.waitFor(b.nextOffset, "all"), log.waitFor(c.nextOffset, "all")];
    for (const wait of waits) {
      const error = await expectCode(wait, "STORAGE_ERROR");
      expect(error.message).toContain("EIO");
    }
    expect(log.storageFailure?.code).toBe("STORAGE_ERROR");
    io.onDatasync = null;
    await expectCode(() => log.append(batch(1), 1), "STORAGE_ERROR");
    await expectCode(() => log.roll(), "STORAGE_ERROR");
    await expectCode(log.waitFor(c.nextOffset, "all"), "STORAGE_ERROR");
    expect(log.highWatermark).toBe(3);
    expect(offsetsIn(log)).toEqual([0, 1, 2]);
    expect(log.offsetForTimestamp(0)).toBe(0);
    await log.close();
  });
});
