import { describe, expect, test } from "bun:test";
import {
  CHECKSUM_START,
  checkFrame,
  declaredFrameSize,
  HEADER_SIZE,
  nextOffsetAfter,
  readBaseOffset,
  readBatchHeader,
  stampBatch,
} from "../../../src/log/batch-frame";
import { decodeRecords, encodeBatch } from "../../../src/log/record-codec";

const enc = new TextEncoder();

function sampleFrame(): Uint8Array {
  return encodeBatch([
    { key: enc.encode("k1"), value: enc.encode("hello"), timestamp: 1_000 },
    { key: null, value: enc.encode("world"), timestamp: 1_005, headers: [["h", enc.encode("v")]] },
    { key: enc.encode("k3"), value: null, timestamp: 990 },
  ]);
}

function failReason(buf: Uint8Array, pos = 0): string {
  const check = checkFrame(buf, pos);
  if (check.ok) throw new Error("expected checkFrame to fail");
  return check.reason;
}

describe("batch frame", () => {
  test("header fields describe the frame", () => {
    const frame = sampleFrame();
    const header = readBatchHeader(frame);
    expect(header.frameSize).toBe(frame.length);
    expect(declaredFrameSize(frame, 0)).toBe(frame.length);
    expect(header).toMatchObject({ baseOffset: 0, leaderEpoch: 0, version: 1, flags: 0, recordCount: 3 });
    expect(header).toMatchObject({ firstTimestamp: 1_000, maxTimestamp: 1_005, producerId: -1, baseSequence: -1 });
  });

  test("stamping base offset and leader epoch keeps the checksum valid and leaves the payload alone", () => {
    const frame = sampleFrame();
    const before = frame.slice(CHECKSUM_START);
    for (const [base, epoch] of [
      [0, 0],
      [1, 1],
      [2 ** 32 + 5, 7],
      [Number.MAX_SAFE_INTEGER - 10, 2 ** 31 - 1],
    ] as const) {
      stampBatch(frame, 0, base, epoch);
      const check = checkFrame(frame, 0);
      expect(check.ok).toBe(true);
      if (check.ok) {
        expect(check.header.baseOffset).toBe(base);
        expect(check.header.leaderEpoch).toBe(epoch);
      }
      expect(readBaseOffset(frame)).toBe(base);
      expect(frame.slice(CHECKSUM_START)).toEqual(before);
      expect(decodeRecords(frame).map((r) => r.offset)).toEqual([base, base + 1, base + 2]);
    }
    const check = checkFrame(frame, 0);
    expect(check.ok && nextOffsetAfter(check.header)).toBe(Number.MAX_SAFE_INTEGER - 7);
  });

  test("stamping works on a frame inside a larger buffer", () => {
    const a = sampleFrame();
    const b = sampleFrame();
    const buf = new Uint8Array(10 + a.length + b.length).subarray(10);
    buf.set(a, 0);
    buf.set(b, a.length);
    stampBatch(buf, a.length, 100, 3);
    expect(checkFrame(buf, 0).ok).toBe(true);
    const second = checkFrame(buf, a.length);
    expect(second.ok && second.header.baseOffset).toBe(100);
  });

  test("a flipped byte anywhere after the stamped fields fails the checksum", () => {
    const frame = sampleFrame();
    for (let i = CHECKSUM_START; i < frame.length; i++) {
      const copy = frame.slice();
      copy[i] ^= 0x10;
      const check = checkFrame(copy, 0);
      expect(check.ok).toBe(false);
      if (i >= HEADER_SIZE && !check.ok) expect(check.reason).toContain("checksum");
    }
    const copy = frame.slice();
    copy[frame.length - 1] ^= 0x01;
    expect(failReason(copy)).toContain("checksum mismatch");
  });

  test("a flipped checksum byte fails too", () => {
    const frame = sampleFrame();
    frame[16] ^= 0xff;
    expect(failReason(frame)).toContain("checksum");
  });

  test("truncated frames, length 0 and short lengths are rejected", () => {
    const frame = sampleFrame();
    for (const cut of [0, 1, 3, 4, 20, HEADER_SIZE - 1, HEADER_SIZE, frame.length - 1]) {
      const reason = failReason(frame.subarray(0, cut));
      expect(reason.length).toBeGreaterThan(0);
    }
    expect(failReason(frame.subarray(0, frame.length - 1))).toContain("runs past the end");
    expect(failReason(new Uint8Array(64))).toBe("length is 0");
    const short = frame.slice();
    new DataView(short.buffer).setUint32(0, 20);
    expect(failReason(short)).toContain("shorter than a header");
    const huge = frame.slice();
    new DataView(huge.buffer).setUint32(0, 0xffff_ffff);
    expect(checkFrame(huge, 0).ok).toBe(false);
    expect(checkFrame(frame, 0, frame.length - 1).ok).toBe(false);
  });

  test("readBatchHeader refuses buffers shorter than a header", () => {
    expect(() => readBatchHeader(new Uint8Array(HEADER_SIZE - 1))).toThrow();
  });
});
