import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { FRAME_TAG_BYTES, FrameMac } from "../../../src/auth/frame-mac";
import { KafkaCloneError } from "../../../src/errors";
import { concatChunks, encodeFrame, FrameDecoder, parseFrame } from "../../../src/protocol/frame-codec";

const c2s = randomBytes(32);
const s2c = randomBytes(32);

/** A client and a server guard of one connection. */
function pair(): { client: FrameMac; server: FrameMac } {
  return { client: new FrameMac(c2s, s2c), server: new FrameMac(s2c, c2s) };
}

/** What goes on the wire for `chunks`, cut back into frames as the receiver's decoder does. */
function wire(guard: FrameMac, chunks: Uint8Array[]): Uint8Array {
  const frames = new FrameDecoder().push(concatChunks(guard.seal(chunks)));
  expect(frames.length).toBe(1);
  return frames[0]!;
}

function expectRefused(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect((error as KafkaCloneError).code).toBe("AUTHENTICATION_FAILED");
    return;
  }
  throw new Error("expected AUTHENTICATION_FAILED");
}

describe("frame MACs", () => {
  test("frames sealed by one side open on the other, attachments untouched", () => {
    const { client, server } = pair();
    const batch = randomBytes(300_000);
    for (let i = 0; i < 5; i++) {
      const chunks = encodeFrame({ n: i }, [batch.subarray(0, 1000 * i), batch.subarray(1000 * i)]);
      const plainLength = concatChunks(chunks).length;
      const frame = wire(client, chunks);
      expect(frame.length).toBe(plainLength - 4 + FRAME_TAG_BYTES);
      const decoded = parseFrame(server.open(frame));
      expect(decoded.envelope).toEqual({ n: i });
      expect(Buffer.from(decoded.attachment).equals(batch)).toBe(true);
    }
    const back = parseFrame(client.open(wire(server, encodeFrame(["answer"])))).envelope;
    expect(back).toEqual(["answer"]);
  });

  test("a replayed frame fails (the implicit counter has moved on)", () => {
    const { client, server } = pair();
    const first = wire(client, encodeFrame({ op: "produce" }));
    server.open(first);
    expectRefused(() => server.open(first));
  });

  test("reordered or dropped frames fail", () => {
    const { client, server } = pair();
    const a = wire(client, encodeFrame("a"));
    const b = wire(client, encodeFrame("b"));
    expectRefused(() => server.open(b));
    expect(parseFrame(server.open(a)).envelope).toBe("a");
  });

  test("a frame reflected back to its sender, or moved to another connection, fails", () => {
    const { client } = pair();
    const frame = wire(client, encodeFrame("x"));
    expectRefused(() => client.open(frame));
    const other = new FrameMac(randomBytes(32), randomBytes(32));
    expectRefused(() => other.open(frame));
  });

  test("any flipped bit, a truncated tag or a missing tag fails", () => {
    const frame = wire(pair().client, encodeFrame({ topic: "orders" }, [randomBytes(64)]));
    for (let bit = 0; bit < frame.length * 8; bit += 7) {
      const flipped = Uint8Array.from(frame);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expectRefused(() => pair().server.open(flipped));
    }
    expectRefused(() => pair().server.open(frame.subarray(0, frame.length - 1)));
    expectRefused(() => pair().server.open(new Uint8Array(3)));
  });

  test("a send holding more than one frame is refused (each send is one frame)", () => {
    const two = [...encodeFrame("a"), ...encodeFrame("b")];
    expect(() => pair().client.seal(two)).toThrow(/exactly one frame/);
  });
});
