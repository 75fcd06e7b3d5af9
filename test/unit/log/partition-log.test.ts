/** Group commit, durability, acks, write and fsync failures, rolls and retention of one partition log. */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { resolveLogConfig, type LogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { segmentFileName } from "../../../src/log/segment";
import { decodeAll, type Deferred, deferred, errnoError, expectCode, TempDirs, TrackingIO, until } from "./helpers";

const temp = new TempDirs();
const open: PartitionLog[] = [];
afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => {});
  temp.cleanup();
});

const enc = new TextEncoder();
let clock = 1_700_000_000_000;

function batch(n = 1, size = 20): Uint8Array {
  const records: ProducerRecord[] = [];
  for (let i = 0; i < n; i++) records.push({ key: enc.encode(`k${i}`), value: new Uint8Array(size).fill(i), timestamp: clock++ });
  return encodeBatch(records);
}

function makeLog(overrides: Partial<LogConfig> = {}, io = new TrackingIO(), dir = temp.make()) {
  const config = resolveLogConfig({ retentionMs: -1, ...overrides });
  const { log } = openPartitionLog({ io, config, topic: "t", partition: 0, dir, recoveryPoint: null });
  open.push(log);
  return { log, io, dir };
}

function settled<T>(promise: Promise<T>): { done: boolean; error: unknown } {
  const state = { done: false, error: undefined as unknown };
  promise.then(
    () => (state.done = true),
    (error) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}

function offsetsIn(log: PartitionLog): number[] {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const result = log.read(offset, 1 << 20);
    out.push(...decodeAll(result.data).filter((r) => r.offset >= offset).map((r) => r.offset));
    offset = result.nextOffset;
  }
  return out;
}

function fileSize(dir: string, base = 0): number {
  return fs.statSync(path.join(dir, segmentFileName(base, "log"))).size;
}

/** A datasync that waits for a release before really syncing. */
function gateDatasync(io: TrackingIO) {
  const gates: Deferred<void>[] = [];
  let started = 0;
  io.onDatasync = (fd) => {
    started++;
    const gate = deferred<void>();
    gates.push(gate);
    return gate.promise.then(() => new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res()))));
  };
  return {
    get started() {
      return started;
    },
    /** Lets the oldest waiting fsync run; later ones stay gated. */
    releaseNext() {
      gates.shift()?.resolve();
    },
    /** Lets every fsync run, now and from now on. */
    release() {
      for (const gate of gates.splice(0)) gate.resolve();
      io.onDatasync = null;
    },
  };
}

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
    const reopened = openPartitionLog({ io: new TrackingIO(), config: log.config, topic: "t", partition: 0, dir, recoveryPoint: null });
    open.push(reopened.log);
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
    const reopened = openPartitionLog({ io: new TrackingIO(), config: log.config, topic: "t", partition: 0, dir, recoveryPoint: null });
    open.push(reopened.log);
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
