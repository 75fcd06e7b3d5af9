import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import type { ConsumerRecord } from "../../../src/client/consumer";
import { decodeFrameFast, decodeFrameInto } from "../../../src/client/record-decoder";
import { checkFrame, HEADER_SIZE, stampBatch, writeBatchHeader } from "../../../src/log/batch-frame";
import { BatchBuilder, decodeRecords, type ProducerRecord } from "../../../src/log/record-codec";

const utf8 = new TextEncoder();

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** The generic decoder's view of the frame, as the consumer used to build it. */
function expected(frame: Uint8Array, fromOffset = 0): ConsumerRecord[] {
  return decodeRecords(frame, 0)
    .filter((r) => r.offset >= fromOffset)
    .map((r) => ({ topic: "t", partition: 3, ...r }));
}

function fast(frame: Uint8Array, fromOffset = 0): ConsumerRecord[] {
  const check = checkFrame(frame, 0);
  if (!check.ok) throw new Error(check.reason);
  const out: ConsumerRecord[] = [];
  decodeFrameInto(out, frame, 0, check.header, "t", 3, fromOffset);
  return out.map((r) => ({ ...r }));
}

/** Whether the hand-written path took the frame (rather than falling back). */
function takenFast(frame: Uint8Array): boolean {
  const check = checkFrame(frame, 0);
  if (!check.ok) throw new Error(check.reason);
  return decodeFrameFast([], frame, 0, check.header, "t", 3, 0);
}

function built(records: ProducerRecord[], baseOffset = 1000): Uint8Array {
  const builder = new BatchBuilder(64);
  for (const record of records) builder.append(record);
  const frame = builder.build();
  stampBatch(frame, 0, baseOffset, 7);
  return frame;
}

/** A frame whose payload is whatever MessagePack `items` packs to (not BatchBuilder's encodings). */
function packed(items: unknown[], recordCount = items.length, timestamp = 1_700_000_000_000): Uint8Array {
  const payload = new Packr({ useRecords: false }).pack(items);
  const frame = new Uint8Array(HEADER_SIZE + payload.length);
  frame.set(payload, HEADER_SIZE);
  writeBatchHeader(frame, { recordCount, firstTimestamp: timestamp, maxTimestamp: timestamp + 10, producerId: -1, producerEpoch: 0, baseSequence: -1 });
  stampBatch(frame, 0, 50, 1);
  return frame;
}

describe("decodeFrameInto (the consumer's fast record decoder)", () => {
  test("decodes BatchBuilder frames exactly as decodeRecords does: keys, null values, headers, every size class", () => {
    const t0 = 1_700_000_000_000;
    const records: ProducerRecord[] = [
      { value: bytes(100, 1), timestamp: t0 },
      { key: utf8.encode("k"), value: bytes(1, 2), timestamp: t0 + 5 },
      { key: null, value: null, timestamp: t0 - 3 },
      { key: bytes(0, 0), value: bytes(0, 0), timestamp: t0 + 127 },
      { value: bytes(255, 3), timestamp: t0 + 128 },
      { value: bytes(256, 4), timestamp: t0 - 33 },
      { value: bytes(70_000, 5), timestamp: t0 + 3_000_000_000 },
      { value: bytes(10, 6), timestamp: t0, headers: [["trace", utf8.encode("abc")], ["", bytes(300, 7)], ["ünïcode", bytes(0, 0)]] },
      { value: bytes(10, 8), timestamp: t0, headers: Array.from({ length: 17 }, (_, i) => [`h${i}`, bytes(i, i)] as [string, Uint8Array]) },
    ];
    const frame = built(records);
    expect(takenFast(frame)).toBe(true);
    expect(fast(frame)).toEqual(expected(frame));
    expect(fast(frame).map((r) => r.offset)).toEqual(records.map((_, i) => 1000 + i));
  });

  test("skips records before fromOffset (a push may start mid-frame)", () => {
    const frame = built(Array.from({ length: 10 }, (_, i) => ({ value: bytes(8, i), timestamp: 1 + i })), 500);
    expect(fast(frame, 504)).toEqual(expected(frame, 504));
    expect(fast(frame, 504)[0]!.offset).toBe(504);
    expect(fast(frame, 510)).toEqual([]);
  });

  test("other valid MessagePack encodings fall back to decodeRecords", () => {
    const frame = packed([
      [200, null, new Uint8Array([1, 2, 3])], // uint8 delta (0xcc), not a fixint
      [0, "text key is not bin", null],
      [1, null, new Uint8Array([4]), [["h", new Uint8Array([5])]]], // fixstr header name (BatchBuilder writes str32)
    ]);
    expect(() => decodeRecords(frame, 0)).toThrow(); // a string key is not a record
    const ok = packed([
      [200, null, new Uint8Array([1, 2, 3])],
      [1, null, new Uint8Array([4]), [["h", new Uint8Array([5])]]],
    ]);
    expect(takenFast(ok)).toBe(false);
    expect(fast(ok)).toEqual(expected(ok));
  });

  test("damaged payloads are refused like decodeRecords refuses them", () => {
    const wrongCount = packed([[0, null, new Uint8Array([1])]], 2);
    expect(() => fast(wrongCount)).toThrow(/header says 2 records/);
    const notRecords = packed([[0, null]]);
    expect(() => fast(notRecords)).toThrow(/wrong shape/);
  });

  test("random BatchBuilder frames agree with decodeRecords", () => {
    let x = 12345;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x % n;
    };
    for (let round = 0; round < 200; round++) {
      const count = 1 + rand(20);
      const records: ProducerRecord[] = Array.from({ length: count }, () => ({
        key: rand(3) === 0 ? null : bytes(rand(40), rand(256)),
        value: rand(5) === 0 ? null : bytes(rand(3) === 0 ? rand(70_000) : rand(300), rand(256)),
        timestamp: 1_700_000_000_000 + rand(2_000_000) - 1_000_000,
        headers: rand(4) === 0 ? [[`n${rand(100)}`, bytes(rand(20), 1)]] : undefined,
      }));
      const frame = built(records, rand(1_000_000));
      expect(takenFast(frame)).toBe(true);
      expect(fast(frame)).toEqual(expected(frame));
    }
  });
});
