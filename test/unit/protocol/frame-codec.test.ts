import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { KafkaCloneError } from "../../../src/errors";
import { concatChunks, DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, parseFrame } from "../../../src/protocol/frame-codec";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function lengthPrefix(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    return (error as KafkaCloneError).code;
  }
  throw new Error("expected a KafkaCloneError");
}

/** Three frames with attachments of different sizes, as one byte stream. */
function sampleStream(): { stream: Uint8Array; frames: Uint8Array[] } {
  const encoded = [
    encodeFrame([1, "metadata", 1, {}]),
    encodeFrame([1, "produce", 2, { topic: "t" }], [bytes(1, 2, 3), bytes(), bytes(4, 5)]),
    encodeFrame([3, "records", { n: 1 }], [new Uint8Array(300).fill(7)]),
  ].map(concatChunks);
  return { stream: concatChunks(encoded), frames: encoded.map((f) => f.subarray(4)) };
}

describe("FrameDecoder", () => {
  test("a stream split at every byte boundary yields the same frames", () => {
    const { stream, frames } = sampleStream();
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const got = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(got).toEqual(frames);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  test("a stream fed one byte at a time yields the same frames", () => {
    const { stream, frames } = sampleStream();
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(got).toEqual(frames);
  });

  test("a stream split at every pair of boundaries yields the same frames", () => {
    const { stream, frames } = sampleStream();
    for (let a = 0; a <= stream.length; a += 7) {
      for (let b = a; b <= stream.length; b += 5) {
        const decoder = new FrameDecoder();
        const got = [...decoder.push(stream.subarray(0, a)), ...decoder.push(stream.subarray(a, b)), ...decoder.push(stream.subarray(b))];
        expect(got).toEqual(frames);
      }
    }
  });

  test("many frames in one chunk all come out, in order", () => {
    const encoded = Array.from({ length: 1000 }, (_, i) => concatChunks(encodeFrame([1, "metadata", i + 1, null], i % 3 === 0 ? [bytes(i & 0xff)] : [])));
    const decoder = new FrameDecoder();
    const frames = decoder.push(concatChunks(encoded));
    expect(frames.length).toBe(1000);
    frames.forEach((frame, i) => expect(parseFrame(frame).envelope).toEqual([1, "metadata", i + 1, null]));
  });

  test("a frame plus part of the next keeps the rest for later", () => {
    const { stream, frames } = sampleStream();
    const firstEnd = frames[0]!.length + 4;
    const decoder = new FrameDecoder();
    expect(decoder.push(stream.subarray(0, firstEnd + 6))).toEqual([frames[0]!]);
    expect(decoder.bufferedBytes).toBe(2);
    expect(decoder.describePartial()).toBe(`2 of ${frames[1]!.length} bytes`);
    expect(decoder.push(stream.subarray(firstEnd + 6))).toEqual(frames.slice(1));
    expect(decoder.describePartial()).toBeNull();
  });

  test("a declared length over the maximum fails with FRAME_TOO_LARGE from the 4 length bytes alone", () => {
    expect(codeOf(() => new FrameDecoder(1024).push(lengthPrefix(1025)))).toBe("FRAME_TOO_LARGE");
    expect(codeOf(() => new FrameDecoder().push(bytes(0xff, 0xff, 0xff, 0xff)))).toBe("FRAME_TOO_LARGE");
    expect(codeOf(() => new FrameDecoder().push(lengthPrefix(DEFAULT_MAX_FRAME_BYTES + 1)))).toBe("FRAME_TOO_LARGE");
    // "GET " as a length: an HTTP request is refused before its headers are read.
    expect(codeOf(() => new FrameDecoder().push(new TextEncoder().encode("GET / HTTP/1.1\r\n")))).toBe("FRAME_TOO_LARGE");
  });

  test("the length is checked before anything is allocated: memory follows the bytes received, not the bytes declared", () => {
    const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES);
    expect(decoder.push(concatChunks([lengthPrefix(DEFAULT_MAX_FRAME_BYTES), bytes(1, 2, 3)]))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(3);
    expect(decoder.describePartial()).toBe(`3 of ${DEFAULT_MAX_FRAME_BYTES} bytes`);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) new FrameDecoder().push(lengthPrefix(DEFAULT_MAX_FRAME_BYTES));
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024); // 1000 x 100 MiB would be 100 GB
  });

  test("exactly the maximum is allowed", () => {
    const decoder = new FrameDecoder(16);
    const frame = new Uint8Array(16).fill(9);
    expect(decoder.push(concatChunks([lengthPrefix(16), frame]))).toEqual([frame]);
  });

  test("lengths too short to hold an envelope length are INVALID_REQUEST", () => {
    for (const length of [0, 1, 2, 3]) expect(codeOf(() => new FrameDecoder().push(lengthPrefix(length)))).toBe("INVALID_REQUEST");
    expect(new FrameDecoder().push(concatChunks([lengthPrefix(4), bytes(0, 0, 0, 0)]))).toEqual([bytes(0, 0, 0, 0)]);
  });

  test("describePartial names a header cut short", () => {
    const decoder = new FrameDecoder();
    decoder.push(bytes(0, 0));
    expect(decoder.describePartial()).toBe("2 of 4 header bytes");
  });
});

describe("encodeFrame / parseFrame", () => {
  test("round trip without attachments", () => {
    const envelope = [1, "metadata", 7, { topics: ["a", "b"] }];
    const chunks = encodeFrame(envelope);
    expect(chunks.length).toBe(1);
    const frame = chunks[0]!.subarray(4);
    expect(new DataView(chunks[0]!.buffer).getUint32(0)).toBe(frame.length);
    const parsed = parseFrame(frame);
    expect(parsed.envelope).toEqual(envelope);
    expect(parsed.attachment.length).toBe(0);
  });

  test("round trip with attachments: sent as they are (no copy), received back to back", () => {
    const a = new Uint8Array(1000).map((_, i) => i & 0xff);
    const b = bytes(9, 8, 7);
    const chunks = encodeFrame([1, "produce", 3, { partitions: [{ partition: 0, bytes: 1003 }] }], [a, new Uint8Array(0), b]);
    expect(chunks[1]).toBe(a);
    expect(chunks[2]).toBe(b);
    const whole = concatChunks(chunks);
    expect(new DataView(whole.buffer).getUint32(0)).toBe(whole.length - 4);
    const [frame] = new FrameDecoder().push(whole);
    const parsed = parseFrame(frame!);
    expect(parsed.envelope).toEqual([1, "produce", 3, { partitions: [{ partition: 0, bytes: 1003 }] }]);
    expect(parsed.attachment).toEqual(concatChunks([a, b]));
  });

  test("binary values and big safe integers survive", () => {
    const envelope = [2, 0xffff_ffff, null, { data: bytes(0, 255), big: Number.MAX_SAFE_INTEGER, neg: -5, text: "é✓" }];
    expect(parseFrame(concatChunks(encodeFrame(envelope)).subarray(4)).envelope).toEqual(envelope);
  });

  test("malformed frames are INVALID_REQUEST, never another kind of exception", () => {
    const frameOf = (envelopeLength: number, rest: Uint8Array) => concatChunks([lengthPrefix(envelopeLength), rest]);
    const packed = packr.pack([1, "metadata", 1, null]);
    const cases: Uint8Array[] = [
      bytes(),
      bytes(0, 0, 1),
      frameOf(packed.length + 1, packed), // envelope length past the frame
      frameOf(0xffff_ffff, packed),
      frameOf(0, packed), // empty envelope
      frameOf(3, bytes(0xc1, 0xc1, 0xc1)), // 0xc1 is never used in MessagePack
      frameOf(5, bytes(0xdd, 0xff, 0xff, 0xff, 0xff)), // array32 claiming 4 billion items
      frameOf(5, bytes(0xdb, 0x7f, 0xff, 0xff, 0xff)), // str32 claiming 2 GiB
      frameOf(packed.length + 1, concatChunks([packed, bytes(0xc0)])), // two values where one belongs
      frameOf(100_000, new Uint8Array(100_000).fill(0x91)), // nesting deeper than the stack
    ];
    for (const frame of cases) expect(codeOf(() => parseFrame(frame))).toBe("INVALID_REQUEST");
  });

  test("a map key named __proto__ does not reach the prototype", () => {
    const sneaky = bytes(0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x81, 0xa5, ...new TextEncoder().encode("admin"), 0xc3);
    const frame = concatChunks([lengthPrefix(sneaky.length), sneaky]);
    const { envelope } = parseFrame(frame) as { envelope: Record<string, unknown> };
    expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype);
    expect((envelope as { admin?: unknown }).admin).toBeUndefined();
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });
});
