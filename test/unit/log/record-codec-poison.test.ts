/**
 * A poison batch: its checksum is right (a producer computed it), so the
 * broker stores it as it stores every batch, but its payload declares far
 * more than it holds. Decoding one declaring 28 million records made a
 * consumer allocate 215 MiB (in 140 ms) before noticing the bytes are not
 * there; it is refused as CORRUPT_MESSAGE at once instead.
 */
import { describe, expect, test } from "bun:test";
import { checkFrame, computeChecksum, HEADER_SIZE } from "../../../src/log/batch-frame";
import { decodeRecords, encodeBatch } from "../../../src/log/record-codec";
import { KafkaCloneError } from "../../../src/errors";

function poisonBatch(payload: number[]): Uint8Array {
  const template = encodeBatch([{ value: new TextEncoder().encode("x") }]);
  const frame = new Uint8Array(HEADER_SIZE + payload.length);
  frame.set(template.subarray(0, HEADER_SIZE));
  frame.set(payload, HEADER_SIZE);
  const dv = new DataView(frame.buffer);
  dv.setUint32(0, frame.length - 4);
  dv.setUint32(16, computeChecksum(frame, 0, frame.length));
  return frame;
}

describe("a batch whose payload declares more than it holds", () => {
  test("passes the broker's frame check, and is refused by the consumer's decoder without allocating for it", () => {
    const rssBefore = process.memoryUsage().rss;
    for (const payload of [
      [0xdd, 0x01, 0xad, 0x64, 0x65], // array32 of 28,140,645 records
      [0xdd, 0x0f, 0xff, 0xff, 0xff], // array32 of 268,435,455 records
      [0x91, 0x94, 0x00, 0xc0, 0xc0, 0xdd, 0x0f, 0xff, 0xff, 0xff], // one record whose headers claim 268 million pairs
      [0x91, 0x93, 0x00, 0xc0, 0xc6, 0x7f, 0xff, 0xff, 0xff], // a value of 2 GiB in 9 bytes
    ]) {
      const frame = poisonBatch(payload);
      expect(checkFrame(frame, 0).ok).toBe(true);
      const started = performance.now();
      let error: unknown;
      try {
        decodeRecords(frame, 0);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KafkaCloneError);
      expect((error as KafkaCloneError).code).toBe("CORRUPT_MESSAGE");
      expect((error as KafkaCloneError).message).toMatch(/payload is not MessagePack: payload is not valid MessagePack/);
      expect(performance.now() - started).toBeLessThan(100);
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });
});
