import { describe, expect, test } from "bun:test";
import { READ_PAUSE_BYTES } from "../../../src/net/framed-connection";
import { listenTcp } from "../../../src/net/tcp";
import { parseFrame } from "../../../src/protocol/frame-codec";
import { waitUntil, withTimeout } from "../../integration/harness";
import { frameChunks, loopbackPair, oneBuffer } from "./loopback";

const MiB = 1024 * 1024;

/** Deterministic, non-repeating bytes (a repeating pattern could hide a misplaced chunk). */
function patterned(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, length);
}

function attachmentOf(frame: Uint8Array): Uint8Array {
  return parseFrame(frame).attachment;
}

describe("FramedConnection over loopback TCP", () => {
  test("a 64 MiB frame is written partially, resumed on drain, and arrives intact", async () => {
    const { client, server } = await loopbackPair();
    const payload = patterned(64 * MiB, 1);
    client.connection.send(frameChunks("big", 1, payload));
    await Promise.resolve(); // the flush runs in a microtask
    // The kernel took only part of it; the rest waits for drain.
    expect(client.connection.pendingWriteBytes).toBeGreaterThan(0);
    expect(client.connection.pendingWriteBytes).toBeLessThan(payload.length);
    await waitUntil(() => server.frames.length === 1, 20_000, "the 64 MiB frame");
    expect(Bun.hash(attachmentOf(server.frames[0]!))).toBe(Bun.hash(payload));
    expect(client.connection.pendingWriteBytes).toBe(0);
    expect(client.drains).toBeGreaterThan(0);
  }, 30_000);

  test("both directions backed up at once still complete (reading never waits for writing)", async () => {
    const { client, server } = await loopbackPair();
    const up = patterned(32 * MiB, 2);
    const down = patterned(32 * MiB, 3);
    client.connection.send(frameChunks("up", 1, up));
    server.connection.send(frameChunks("down", 2, down));
    await waitUntil(() => server.frames.length === 1 && client.frames.length === 1, 20_000, "both frames");
    expect(Bun.hash(attachmentOf(server.frames[0]!))).toBe(Bun.hash(up));
    expect(Bun.hash(attachmentOf(client.frames[0]!))).toBe(Bun.hash(down));
  }, 30_000);

  test("10,000 small frames sent in one tick arrive complete and in order", async () => {
    const { client, server } = await loopbackPair();
    for (let i = 0; i < 10_000; i++) client.connection.send(frameChunks("small", i, i % 2 ? new Uint8Array([i & 0xff]) : undefined));
    await waitUntil(() => server.frames.length === 10_000, 10_000, "10,000 frames");
    server.frames.forEach((frame, i) => {
      const parsed = parseFrame(frame);
      expect((parsed.envelope as unknown[])[2]).toBe(i);
      expect(parsed.attachment.length).toBe(i % 2);
    });
  });

  test("onDrain fires once the write queue is empty, with or without backpressure", async () => {
    const { client } = await loopbackPair();
    client.connection.send(frameChunks("tiny", 1));
    await waitUntil(() => client.drains === 1, 2000, "a drain after a small send");
  });

  test("a clean close sends everything queued before the FIN", async () => {
    const { client, server } = await loopbackPair();
    const payload = patterned(32 * MiB, 4);
    client.connection.send(frameChunks("last words", 1, payload));
    client.connection.close();
    expect(client.connection.isClosed).toBe(true);
    client.connection.send(frameChunks("too late", 2)); // ignored
    expect(await withTimeout(server.closed, 20_000, "the server to see the close")).toBeNull();
    expect(server.frames.length).toBe(1);
    expect(Bun.hash(attachmentOf(server.frames[0]!))).toBe(Bun.hash(payload));
    expect(client.closes).toEqual([null]);
  }, 30_000);

  test("a close with a reason drops the queue at once", async () => {
    const { client, server } = await loopbackPair();
    client.connection.send(frameChunks("abandoned", 1, patterned(32 * MiB, 5)));
    await Promise.resolve();
    client.connection.close("giving up");
    expect(client.connection.pendingWriteBytes).toBe(0);
    expect(client.closes).toEqual(["giving up"]);
    const reason = await withTimeout(server.closed, 5000, "the server to see the close");
    expect(server.frames.length).toBe(0);
    expect(reason).toMatch(/^peer closed inside a frame \(\d+ of \d+ bytes\)$/);
  });

  test("a peer hanging up inside a frame is named in the close reason", async () => {
    const { client, server } = await loopbackPair();
    const frame = oneBuffer(frameChunks("cut", 1, new Uint8Array(100)));
    client.connection.send([frame.subarray(0, 30)]);
    await waitUntil(() => server.connection.pendingReadBytes === 26, 2000, "the partial frame to arrive");
    client.connection.close();
    expect(await withTimeout(server.closed, 5000, "the close")).toBe(`peer closed inside a frame (26 of ${frame.length - 4} bytes)`);
  });

  test("a declared length over the maximum closes that connection with FRAME_TOO_LARGE", async () => {
    const { client, server } = await loopbackPair({ maxFrameBytes: 1024 });
    client.connection.send(frameChunks("huge", 1, new Uint8Array(2048)));
    expect(await withTimeout(server.closed, 5000, "the server to close")).toMatch(/^FRAME_TOO_LARGE: declared frame length \d+ exceeds the maximum 1024$/);
    await withTimeout(client.closed, 5000, "the client to see the close");
    expect(server.frames.length).toBe(0);
  });

  test("a frame handler that throws closes its connection instead of leaving it half open", async () => {
    const { client, server } = await loopbackPair({
      onServerFrame: () => {
        throw new Error("handler bug");
      },
    });
    client.connection.send(frameChunks("trigger", 1));
    expect(await withTimeout(server.closed, 5000, "the server side to close")).toBe("failed handling a frame: handler bug");
    await withTimeout(client.closed, 5000, "the client to see the close");
  });

  test("reading stops while too much waits to be written to a peer that does not read, and resumes after", async () => {
    // Each small request is answered with 64 KiB: 2,000 of them would queue 125 MiB for a peer that never reads.
    const answer = new Uint8Array(64 * 1024).fill(1);
    let handled = 0;
    let serverSide: import("../../../src/net/framed-connection").FramedConnection | undefined;
    const server = listenTcp({
      host: "127.0.0.1",
      port: 0,
      maxFrameBytes: 1024 * 1024,
      accept: (connection) => {
        serverSide = connection;
        return { onFrame: (c) => (handled++, c.send([answer])) };
      },
    });
    let received = 0;
    const client = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data: (_, chunk) => void (received += chunk.length) } });
    try {
      client.pause();
      const requests = oneBuffer(Array.from({ length: 2000 }, (_, i) => oneBuffer(frameChunks("ask", i))));
      let offset = 0;
      const writeMore = () => {
        while (offset < requests.length) {
          const n = client.write(requests.subarray(offset));
          if (n <= 0) return;
          offset += n;
        }
      };
      writeMore();
      await waitUntil(() => serverSide?.isReadPaused === true, 5000, "the server to stop reading");
      // Handling stops at the first answer past the limit, even inside one received chunk.
      expect(handled).toBeGreaterThan(READ_PAUSE_BYTES / answer.length);
      expect(handled).toBeLessThan(2000);
      expect(serverSide!.pendingWriteBytes).toBeLessThanOrEqual(READ_PAUSE_BYTES + answer.length);
      client.resume();
      await waitUntil(() => (writeMore(), received === 2000 * answer.length), 20_000, "every answer");
      expect(handled).toBe(2000);
      expect(serverSide!.isReadPaused).toBe(false);
    } finally {
      client.end();
      server.stop();
    }
  }, 30_000);

  test("onClose is called once, however many ways the connection ends", async () => {
    const { client, server } = await loopbackPair();
    client.connection.close("first");
    client.connection.close("second");
    client.connection.handleClose("socket error");
    await withTimeout(server.closed, 5000, "the close");
    expect(client.closes).toEqual(["first"]);
    expect(server.closes.length).toBe(1);
  });
});
