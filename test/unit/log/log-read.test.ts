/** Reading a partition: raw frames by offset and byte limit, and offsets by timestamp. */
import { afterEach, describe, expect, test } from "bun:test";
import { resolveLogConfig, type LogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { decodeAll, expectCode, expectedStored, plain, Rng, TempDirs, TrackingIO } from "./helpers";

const temp = new TempDirs();
const logs: PartitionLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => {});
  temp.cleanup();
});

function makeLog(overrides: Partial<LogConfig> = {}, dir = temp.make(), recoveryPoint: number | null = null): PartitionLog {
  const config = resolveLogConfig({ retentionMs: -1, ...overrides });
  const { log } = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir, recoveryPoint });
  logs.push(log);
  return log;
}

async function appendBatches(log: PartitionLog, batches: ProducerRecord[][]): Promise<void> {
  let next = 0;
  for (const b of batches) next = log.append(encodeBatch(b), 1).nextOffset;
  await log.waitFor(next, "all");
}

const at = (timestamp: number, size = 10): ProducerRecord => ({ key: null, value: new Uint8Array(size), timestamp });

function firstAtOrAfter(records: ProducerRecord[], t: number, from = 0): number | null {
  for (let o = from; o < records.length; o++) if (records[o]!.timestamp! >= t) return o;
  return null;
}

describe("offsetForTimestamp", () => {
  test("finds the first record with timestamp >= T across segments, even when timestamps go backwards", async () => {
    const log = makeLog({ indexIntervalBytes: 64 });
    // seg 0: 100..500, seg 1: 200..300 (older than seg 0's max), seg 2: 50, 1000, 700
    const segments: ProducerRecord[][][] = [
      [[at(100), at(150)], [at(500)], [at(120)]],
      [[at(200)], [at(250), at(300)], [at(220)]],
      [[at(50)], [at(1000), at(700)], [at(1000)]],
    ];
    const records = segments.flat(2);
    for (let s = 0; s < segments.length; s++) {
      await appendBatches(log, segments[s]!);
      if (s < segments.length - 1) log.roll();
    }
    expect(log.segmentCount).toBe(3);
    for (const t of [0, 50, 100, 101, 150, 151, 200, 250, 300, 301, 499, 500, 501, 700, 999, 1000]) {
      expect(log.offsetForTimestamp(t)).toBe(firstAtOrAfter(records, t));
    }
    expect(log.offsetForTimestamp(1001)).toBeNull();
    expect(log.offsetForTimestamp(Number.MAX_SAFE_INTEGER)).toBeNull();
    await log.close();
    const reopened = makeLog({ indexIntervalBytes: 64 }, log.dir, 12);
    for (const t of [0, 151, 251, 501, 701, 1000, 1001]) {
      expect(reopened.offsetForTimestamp(t)).toBe(firstAtOrAfter(records, t));
    }
    reopened.config = { ...reopened.config, retentionBytes: 1 };
    expect(reopened.enforceRetention()).toBe(2);
    expect(reopened.offsetForTimestamp(200)).toBe(firstAtOrAfter(records, 200, 8));
    expect(reopened.offsetForTimestamp(0)).toBe(8);
  });

  test("many records in long segments: every record's own timestamp finds it (seeded)", async () => {
    const rng = new Rng(77);
    const log = makeLog({ segmentBytes: 4096, indexIntervalBytes: 100 });
    const records: ProducerRecord[] = [];
    let clock = 10_000;
    const batches: ProducerRecord[][] = [];
    for (let i = 0; i < 150; i++) {
      const b: ProducerRecord[] = [];
      for (let n = rng.int(1, 5); n > 0; n--) {
        clock += rng.int(0, 20);
        b.push(at(rng.chance(0.1) ? clock - rng.int(0, 500) : clock, rng.int(0, 60)));
      }
      records.push(...b);
      batches.push(b);
    }
    await appendBatches(log, batches);
    expect(log.segmentCount).toBeGreaterThan(3);
    const probes = new Set<number>([0, clock + 1]);
    for (const r of records) for (const d of [-1, 0, 1]) probes.add(r.timestamp! + d);
    for (const t of probes) expect(log.offsetForTimestamp(t)).toBe(firstAtOrAfter(records, t));
  });

  test("only durable records are considered", async () => {
    const log = makeLog();
    await appendBatches(log, [[at(100)]]);
    log.append(encodeBatch([at(200)]), 1);
    expect(log.offsetForTimestamp(150)).toBeNull();
    await log.waitFor(2, "all");
    expect(log.offsetForTimestamp(150)).toBe(1);
  });

  test("an empty log has no offset for any timestamp", () => {
    expect(makeLog().offsetForTimestamp(0)).toBeNull();
  });
});

describe("read", () => {
  test("returns whole frames up to maxBytes, at least one, never past the high watermark", async () => {
    const log = makeLog();
    const batches = [[at(1, 100), at(2, 100)], [at(3, 100)], [at(4, 100)]];
    await appendBatches(log, batches);
    const sizes = batches.map((b) => encodeBatch(b).length);
    const one = log.read(1, 1);
    expect(one.data.length).toBe(sizes[0]);
    expect(one.nextOffset).toBe(2);
    const two = log.read(0, sizes[0]! + sizes[1]!);
    expect(two.data.length).toBe(sizes[0]! + sizes[1]!);
    expect(two.nextOffset).toBe(3);
    const three = log.read(0, sizes[0]! + sizes[1]! + sizes[2]! - 1);
    expect(three.nextOffset).toBe(3);
    expect(log.read(4, 100).data.length).toBe(0);
    await expectCode(() => log.read(5, 100), "OFFSET_OUT_OF_RANGE");
    await expectCode(() => log.read(-1, 100), "OFFSET_OUT_OF_RANGE");
  });

  test("frames far larger than the read window and than maxBytes read back whole", async () => {
    const rng = new Rng(3);
    const log = makeLog({ indexIntervalBytes: 1_000_000, segmentBytes: 4 * 1024 * 1024 });
    const records: ProducerRecord[] = [];
    const batches: ProducerRecord[][] = [];
    for (let i = 0; i < 12; i++) {
      const size = rng.pick([10, 1000, 70_000, 200_000]);
      const b = [{ key: rng.bytes(3), value: rng.bytes(size), timestamp: 1 + i }];
      records.push(...b);
      batches.push(b);
    }
    await appendBatches(log, batches);
    for (let offset = 0; offset < records.length; offset++) {
      for (const maxBytes of [1, 50_000, 100_000, 1 << 20]) {
        const result = log.read(offset, maxBytes);
        const got = decodeAll(result.data);
        expect(got[0]!.offset).toBe(offset);
        for (const r of got) expect(plain(r)).toEqual(plain(expectedStored(records[r.offset]!, r.offset)));
        if (got.length > 1) expect(result.data.length).toBeLessThanOrEqual(maxBytes);
        expect(result.nextOffset).toBe(got[got.length - 1]!.offset + 1);
      }
    }
  });

  test("a sequential reader following `next` hints reads everything once, across segments", async () => {
    const rng = new Rng(8);
    const log = makeLog({ segmentBytes: 2048, indexIntervalBytes: 300 });
    const records: ProducerRecord[] = [];
    const batches: ProducerRecord[][] = [];
    for (let i = 0; i < 80; i++) {
      const b = Array.from({ length: rng.int(1, 3) }, () => at(i, rng.int(0, 120)));
      records.push(...b);
      batches.push(b);
    }
    await appendBatches(log, batches);
    let offset = 0;
    let hint: ReturnType<PartitionLog["read"]>["next"] | undefined;
    const seen: number[] = [];
    while (offset < log.highWatermark) {
      const result = log.read(offset, 700, hint);
      seen.push(...decodeAll(result.data).map((r) => r.offset));
      offset = result.nextOffset;
      hint = result.next;
    }
    expect(seen).toEqual(records.map((_, i) => i));
    expect(log.read(offset, 700, hint).data.length).toBe(0);
  });
});
