import { afterEach, describe, expect, test } from "bun:test";
import { KafkaCloneError } from "../../../src/errors";
import { createLogger } from "../../../src/logger";
import type { FramedConnection } from "../../../src/net/framed-connection";
import { RpcConnection } from "../../../src/net/rpc-connection";
import { RpcDispatcher, type RpcHandler } from "../../../src/net/rpc-server";
import { listenTcp, type TcpServer } from "../../../src/net/tcp";
import { toWire } from "../../../src/protocol/envelope";
import { encodeFrame } from "../../../src/protocol/frame-codec";
import { waitUntil } from "../../integration/harness";

interface Session {
  connection: FramedConnection;
}

const servers: TcpServer[] = [];
const connections: RpcConnection[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.close();
  for (const server of servers.splice(0)) server.stop();
});

/** A server with a few test apis; `never` answers nothing, `hangUp` closes the connection. */
function startServer(): { port: number; sessions: Session[] } {
  const sessions: Session[] = [];
  const handlers: Record<string, RpcHandler<Session>> = {
    echo: (body, attachment) => ({ body, attachments: attachment.length > 0 ? [attachment.slice()] : [] }),
    later: async (body) => {
      await Bun.sleep((body as { ms: number }).ms);
      return { body };
    },
    never: () => new Promise(() => {}),
    fail: () => {
      throw new KafkaCloneError("TOPIC_NOT_FOUND", "no such topic: x");
    },
    hangUp: (_, __, session) => {
      session.connection.close("asked to hang up");
      return null;
    },
    pushThenAnswer: (_, __, session) => {
      session.connection.send(encodeFrame(toWire({ kind: "push", api: "note", body: { n: 1 } }), [new Uint8Array([7, 7])]));
      return { body: "answered" };
    },
    garbage: (_, __, session) => {
      session.connection.send([new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1, 0xc1])]); // not an envelope
      return null;
    },
  };
  const dispatcher = new RpcDispatcher<Session>(handlers, {
    openSession: (connection) => {
      const session = { connection };
      sessions.push(session);
      return session;
    },
  }, createLogger("test-server"));
  const server = listenTcp({ host: "127.0.0.1", port: 0, maxFrameBytes: 1024 * 1024, accept: (connection) => dispatcher.accept(connection) });
  servers.push(server);
  return { port: server.port, sessions };
}

async function connect(port: number, extra: Partial<Parameters<typeof RpcConnection.connect>[0]> = {}): Promise<RpcConnection> {
  const connection = await RpcConnection.connect({ host: "127.0.0.1", port, ...extra });
  connections.push(connection);
  return connection;
}

async function rejectionOf(promise: Promise<unknown>): Promise<KafkaCloneError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    return error as KafkaCloneError;
  }
  throw new Error("expected a rejection");
}

describe("RpcConnection", () => {
  test("many requests in flight, answered out of order, each get their own response", async () => {
    const { port } = startServer();
    const rpc = await connect(port);
    const delays = Array.from({ length: 50 }, (_, i) => (i * 37) % 23);
    const answers = await Promise.all(delays.map((ms, i) => rpc.request("later", { ms, i })));
    answers.forEach((answer, i) => expect(answer.body).toEqual({ ms: delays[i], i }));
    expect(rpc.inFlight).toBe(0);
  });

  test("attachments travel both ways untouched", async () => {
    const { port } = startServer();
    const rpc = await connect(port);
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const answer = await rpc.request("echo", { x: 1 }, [data.subarray(0, 40_000), data.subarray(40_000)]);
    expect(answer.attachment).toEqual(data);
  });

  test("an error response rejects with its stable code", async () => {
    const { port } = startServer();
    const rpc = await connect(port);
    const error = await rejectionOf(rpc.request("fail", {}));
    expect(error.code).toBe("TOPIC_NOT_FOUND");
    expect(error.message).toBe("no such topic: x");
    expect((await rejectionOf(rpc.request("noSuchApi", {}))).code).toBe("INVALID_REQUEST");
  });

  test("a request past its deadline rejects with REQUEST_TIMED_OUT; the connection stays usable", async () => {
    const { port } = startServer();
    const rpc = await connect(port, { requestTimeoutMs: 10_000 });
    const started = performance.now();
    const error = await rejectionOf(rpc.request("never", {}, [], 100));
    const elapsed = performance.now() - started;
    expect(error.code).toBe("REQUEST_TIMED_OUT");
    expect(error.retriable).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1000);
    // A response arriving after the deadline is dropped quietly; the next request works.
    expect((await rejectionOf(rpc.request("later", { ms: 150 }, [], 50))).code).toBe("REQUEST_TIMED_OUT");
    await Bun.sleep(150);
    expect((await rpc.request("echo", "still here")).body).toBe("still here");
    expect(rpc.isClosed).toBe(false);
  });

  test("the default deadline applies when none is given", async () => {
    const { port } = startServer();
    const rpc = await connect(port, { requestTimeoutMs: 80 });
    expect((await rejectionOf(rpc.request("never", {}))).code).toBe("REQUEST_TIMED_OUT");
  });

  test("the server closing rejects every request in flight with NETWORK_ERROR", async () => {
    const { port } = startServer();
    let closeReason: string | null | undefined;
    const rpc = await connect(port, { onClose: (reason) => (closeReason = reason) });
    const inFlight = Array.from({ length: 5 }, () => rejectionOf(rpc.request("never", {})));
    await waitUntil(() => rpc.inFlight === 5, 2000, "requests in flight");
    void rpc.request("hangUp", {}).catch(() => {});
    const errors = await Promise.all(inFlight);
    for (const error of errors) {
      expect(error.code).toBe("NETWORK_ERROR");
      expect(error.retriable).toBe(true);
    }
    expect(rpc.isClosed).toBe(true);
    expect(rpc.inFlight).toBe(0);
    expect(closeReason).toBeNull();
    expect((await rejectionOf(rpc.request("echo", {}))).code).toBe("NETWORK_ERROR");
  });

  test("closing the client rejects its requests in flight with NETWORK_ERROR", async () => {
    const { port } = startServer();
    const rpc = await connect(port);
    const pending = rejectionOf(rpc.request("never", {}));
    rpc.close();
    expect((await pending).code).toBe("NETWORK_ERROR");
  });

  test("a malformed frame from the server closes the connection and rejects what was in flight", async () => {
    const { port } = startServer();
    let closeReason: string | null | undefined;
    const rpc = await connect(port, { onClose: (reason) => (closeReason = reason) });
    const waiting = rejectionOf(rpc.request("never", {}));
    void rpc.request("garbage", {}).catch(() => {});
    expect((await waiting).code).toBe("NETWORK_ERROR");
    expect(closeReason).toContain("bad frame from 127.0.0.1");
    expect(rpc.isClosed).toBe(true);
  });

  test("pushes reach onPush, ahead of the response sent after them", async () => {
    const { port } = startServer();
    const seen: string[] = [];
    const rpc = await connect(port, {
      onPush: (api, body, attachment) => seen.push(`${api} ${JSON.stringify(body)} ${[...attachment].join(",")}`),
    });
    const answer = await rpc.request("pushThenAnswer", {});
    seen.push(String(answer.body));
    expect(seen).toEqual(['note {"n":1} 7,7', "answered"]);
  });

  test("connecting to a port nobody listens on is NETWORK_ERROR", async () => {
    const { port } = startServer();
    servers.splice(0).forEach((server) => server.stop());
    const error = await rejectionOf(RpcConnection.connect({ host: "127.0.0.1", port, connectTimeoutMs: 2000 }));
    expect(error.code).toBe("NETWORK_ERROR");
  });
});
