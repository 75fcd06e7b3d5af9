import { describe, expect, test } from "bun:test";
import { Unpackr, pack } from "msgpackr";
import { checkFrame, HEADER_SIZE, readBatchHeader } from "../../../src/log/batch-frame";
import { BatchBuilder, decodeRecords, encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { expectedStored, plain, Rng } from "./helpers";

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);

function roundTrip(records: ProducerRecord[]): void {
  const frame = encodeBatch(records);
  const check = checkFrame(frame, 0);
  expect(check.ok).toBe(true);
  const decoded = decodeRecords(frame);
  expect(decoded.map(plain)).toEqual(records.map((r, i) => plain(expectedStored(r, i))));
}

/** The record array msgpackr itself should see in the payload. */
function expectedPayload(records: ProducerRecord[]): unknown[] {
  const first = records[0]!.timestamp!;
  return records.map((r) => {
    const item: unknown[] = [r.timestamp! - first, r.key ?? null, r.value];
    if (r.headers && r.headers.length > 0) item.push(r.headers.map(([n, v]) => [n, v]));
    return item;
  });
}

const plainUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bin: Array.from(value) };
  if (Array.isArray(value)) return value.map(normalize);
  return value;
}

describe("record codec", () => {
  test("round trips null keys, empty values, null values and plain records", () => {
    roundTrip([
      { key: null, value: b("v0"), timestamp: 1_000 },
      { value: new Uint8Array(0), timestamp: 1_000 },
      { key: b("k"), value: null, timestamp: 1_001 },
      { key: new Uint8Array(0), value: b("x".repeat(300)), timestamp: 1_002 },
    ]);
  });

  test("round trips headers, including more than 15 and non-ASCII names", () => {
    const many = Array.from({ length: 40 }, (_, i) => [`h-${i}`, b(`v${i}`)] as [string, Uint8Array]);
    roundTrip([
      { key: b("a"), value: b("1"), timestamp: 5, headers: [["trace", b("abc")], ["ünï", new Uint8Array(0)]] },
      { key: b("b"), value: b("2"), timestamp: 5, headers: many },
      { key: b("c"), value: b("3"), timestamp: 6, headers: Array.from({ length: 15 }, (_, i) => [`x${i}`, b("y")] as [string, Uint8Array]) },
      { key: b("d"), value: b("4"), timestamp: 6, headers: Array.from({ length: 16 }, (_, i) => [`x${i}`, b("y".repeat(300))] as [string, Uint8Array]) },
      { key: b("e"), value: b("5"), timestamp: 7, headers: [] },
    ]);
  });

  test("round trips values larger than 64 KiB and keys of every bin size", () => {
    const rng = new Rng(7);
    roundTrip([
      { key: rng.bytes(255), value: rng.bytes(256), timestamp: 10 },
      { key: rng.bytes(65_535), value: rng.bytes(65_536), timestamp: 11 },
      { key: rng.bytes(3), value: rng.bytes(200_000), timestamp: 12, headers: [["big", rng.bytes(70_000)]] },
    ]);
  });

  test("round trips timestamp deltas of every integer width, negative ones included", () => {
    const base = 1_700_000_000_000;
    const deltas = [0, 1, 127, 128, -1, -32, -33, -1000, 40_000, -40_000, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2 ** 40)];
    const records = deltas.map((d, i) => ({ key: b(`k${i}`), value: b(`v${i}`), timestamp: base + d }));
    const frame = encodeBatch(records);
    const header = readBatchHeader(frame);
    expect(header.firstTimestamp).toBe(base);
    expect(header.maxTimestamp).toBe(base + 2 ** 40);
    roundTrip(records);
  });

  test("msgpackr decodes the hand-written payload to the same structure it would pack", () => {
    const rng = new Rng(11);
    const records: ProducerRecord[] = [
      { key: null, value: b("a"), timestamp: 100 },
      { key: b("k"), value: null, timestamp: 90, headers: [["n", b("v")]] },
      { key: rng.bytes(70_000), value: rng.bytes(10), timestamp: 100_000, headers: Array.from({ length: 20 }, (_, i) => [`h${i}`, rng.bytes(i)] as [string, Uint8Array]) },
    ];
    const frame = encodeBatch(records);
    const payload = frame.subarray(HEADER_SIZE);
    const decoded = plainUnpackr.unpack(payload);
    expect(normalize(decoded)).toEqual(normalize(expectedPayload(records)));
    // And msgpackr's own encoding of that structure decodes to the same thing.
    expect(normalize(plainUnpackr.unpack(pack(expectedPayload(records))))).toEqual(normalize(decoded));
  });

  test("the builder reports its record count and size, and rejects empty batches and bad timestamps", () => {
    const builder = new BatchBuilder(8);
    expect(() => builder.build()).toThrow();
    builder.append({ key: b("k"), value: b("v"), timestamp: 1 });
    builder.append({ key: b("k"), value: b("v".repeat(100)), timestamp: 2 });
    expect(builder.recordCount).toBe(2);
    const size = builder.sizeBytes;
    const frame = builder.build({ producerId: 42, producerEpoch: 3, baseSequence: 7 });
    expect(frame.length).toBe(size);
    const header = readBatchHeader(frame);
    expect(header).toMatchObject({ frameSize: frame.length, recordCount: 2, producerId: 42, producerEpoch: 3, baseSequence: 7, version: 1 });
    const bad = new BatchBuilder();
    expect(() => bad.append({ value: b("x"), timestamp: -1 })).toThrow();
    expect(() => bad.append({ value: b("x"), timestamp: 1.5 })).toThrow();
  });

  test("a random mix of records round trips (seeded)", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = new Rng(seed);
      const base = rng.int(0, 2 ** 41);
      const records: ProducerRecord[] = [];
      const n = rng.int(1, 60);
      for (let i = 0; i < n; i++) {
        const headers = rng.chance(0.3)
          ? Array.from({ length: rng.int(0, 20) }, (_, j) => [`h${j}`, rng.bytes(rng.int(0, 40))] as [string, Uint8Array])
          : undefined;
        records.push({
          key: rng.chance(0.2) ? null : rng.bytes(rng.int(0, 50)),
          value: rng.chance(0.1) ? null : rng.bytes(rng.pick([0, 1, 31, 255, 256, 1000, 70_000])),
          timestamp: Math.max(0, base + rng.int(-100_000, 100_000)),
          headers,
        });
      }
      try {
        roundTrip(records);
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`);
      }
    }
  });
});
