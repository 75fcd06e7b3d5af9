/**
 * The handshake and frame MACs over real loopback TCP: an RPC server behind
 * acceptAuthenticated, clients with and without credentials, a recorded
 * session replayed on a new connection, and a frame replayed inside one.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { ClusterSecret } from "../../../src/auth/cluster-secret";
import { clusterCredentials, userCredentials } from "../../../src/auth/credentials";
import { describeIdentity, peerIdentity, acceptAuthenticated } from "../../../src/auth/secure-accept";
import { authenticateConnection, handshakeWith } from "../../../src/auth/secure-connect";
import { hashPassword } from "../../../src/auth/password-hash";
import { ServerAuth } from "../../../src/auth/server-auth";
import { parseUsers } from "../../../src/auth/users-file";
import { KafkaCloneError } from "../../../src/errors";
import { createLogger } from "../../../src/logger";
import type { FramedConnection, FrameGuard } from "../../../src/net/framed-connection";
import { RpcConnection } from "../../../src/net/rpc-connection";
import { RpcDispatcher } from "../../../src/net/rpc-server";
import { connectTcp, listenTcp, type TcpServer } from "../../../src/net/tcp";
import { concatChunks } from "../../../src/protocol/frame-codec";
import { requestFrame } from "../../integration/raw-socket";

const SECRET = ClusterSecret.fromText("secure channel test secret", "test");
const logger = createLogger("test");
const servers: TcpServer[] = [];
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.stop();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** An RPC server whose "whoami" answers with the caller's identity and echoes the attachment length. */
async function startServer(): Promise<{ port: number; auth: ServerAuth }> {
  const users = parseUsers(JSON.stringify({ users: { carol: { password: await hashPassword("carol-pw", { N: 1024, r: 8, p: 1 }) } } }), "users.json");
  const auth = new ServerAuth(SECRET, users);
  const dispatcher = new RpcDispatcher<FramedConnection>(
    { whoami: (_, attachment, connection) => ({ body: { who: describeIdentity(peerIdentity(connection)), bytes: attachment.length } }) },
    { openSession: (connection) => connection },
    logger,
  );
  const server = listenTcp({
    host: "127.0.0.1",
    port: 0,
    maxFrameBytes: 64 * 1024 * 1024,
    accept: (connection) => acceptAuthenticated(connection, { auth, allowUsers: true, name: "the test server", logger }, () => dispatcher.accept(connection)),
  });
  servers.push(server);
  return { port: server.port, auth };
}

async function failure(promise: Promise<unknown>): Promise<KafkaCloneError> {
  try {
    await promise;
  } catch (error) {
    return error as KafkaCloneError;
  }
  throw new Error("expected a failure");
}

describe("authenticated connections", () => {
  test("a member and a user are served and known by name; frames of any size pass", async () => {
    const { port } = await startServer();
    const member = await RpcConnection.connect({ host: "127.0.0.1", port, secure: handshakeWith(clusterCredentials(SECRET)) });
    const big = new Uint8Array(5 * 1024 * 1024);
    expect((await member.request("whoami", {}, [big])).body).toEqual({ who: "a cluster member", bytes: big.length });
    member.close();
    const user = await RpcConnection.connect({ host: "127.0.0.1", port, secure: handshakeWith(userCredentials("carol", "carol-pw")) });
    for (let i = 0; i < 20; i++) expect((await user.request("whoami", {})).body).toEqual({ who: "user carol", bytes: 0 });
    user.close();
  });

  test("no credentials, a wrong secret, a wrong password: AUTHENTICATION_FAILED, and nothing is served", async () => {
    const { port, auth } = await startServer();
    const plain = await RpcConnection.connect({ host: "127.0.0.1", port });
    const refused = await failure(plain.request("whoami", {}));
    expect(refused.code).toBe("AUTHENTICATION_FAILED");
    expect(refused.message).toContain("the test server requires authentication");
    const wrongSecret = await failure(RpcConnection.connect({ host: "127.0.0.1", port, secure: handshakeWith(clusterCredentials(ClusterSecret.fromText("not the secret of this server", "t"))) }));
    expect(wrongSecret.code).toBe("AUTHENTICATION_FAILED");
    expect(wrongSecret.message).toContain("the cluster secret does not match");
    const wrongPassword = await failure(RpcConnection.connect({ host: "127.0.0.1", port, secure: handshakeWith(userCredentials("carol", "nope")) }));
    expect(wrongPassword.message).toContain('user "carol": unknown user or wrong password');
    expect(auth.failures).toBe(3);
  });

  test("a client refuses a server without the secret (it cannot prove itself)", async () => {
    const dispatcher = new RpcDispatcher<null>({ whoami: () => ({ body: {} }) }, { openSession: () => null }, logger);
    const open = listenTcp({ host: "127.0.0.1", port: 0, maxFrameBytes: 1024 * 1024, accept: (c) => dispatcher.accept(c) });
    servers.push(open);
    const error = await failure(RpcConnection.connect({ host: "127.0.0.1", port: open.port, secure: handshakeWith(clusterCredentials(SECRET)) }));
    expect(error.code).toBe("AUTHENTICATION_FAILED");
    expect(error.message).toContain("does not use a cluster secret");
  });

  test("a recorded session replayed on a new connection is refused (fresh nonce)", async () => {
    const { port } = await startServer();
    const recorded: Uint8Array[] = [];
    const proxyPort = startRecordingProxy(port, recorded);
    const client = await RpcConnection.connect({ host: "127.0.0.1", port: await proxyPort, secure: handshakeWith(clusterCredentials(SECRET)) });
    await client.request("whoami", {});
    client.close();
    // An eavesdropper sends the client's bytes again, unchanged, on a connection of its own.
    const frames: Uint8Array[] = [];
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    const attacker = await connectTcp({ host: "127.0.0.1", port, maxFrameBytes: 1024 * 1024, handlers: { onFrame: (_, f) => frames.push(f), onClose: () => closed() } });
    attacker.send([concatChunks(recorded)]);
    await done;
    const answers = frames.map((f) => new TextDecoder().decode(f));
    expect(answers.some((a) => a.includes("AUTHENTICATION_FAILED"))).toBe(true);
    expect(answers.some((a) => a.includes("a cluster member"))).toBe(false);
  });

  test("a frame replayed inside an authenticated connection closes it", async () => {
    const { port } = await startServer();
    const answers: Uint8Array[] = [];
    let closed!: (reason: string | null) => void;
    const whenClosed = new Promise<string | null>((resolve) => (closed = resolve));
    const connection = await connectTcp({ host: "127.0.0.1", port, maxFrameBytes: 1024 * 1024, handlers: { onFrame: (_, f) => answers.push(f), onClose: (_, r) => closed(r) } });
    await authenticateConnection(connection, clusterCredentials(SECRET), "test server");
    const guard = connection.guard!;
    const sent: Uint8Array[] = [];
    const recording: FrameGuard = { seal: (chunks) => { const out = guard.seal(chunks); sent.push(concatChunks(out)); return out; }, open: (f) => guard.open(f) };
    connection.guard = recording;
    connection.send([requestFrame("whoami", {}, [], 1)]);
    while (answers.length === 0) await Bun.sleep(5);
    // Inject the same sealed bytes again (as an attacker on the path would).
    connection.guard = null;
    connection.send([sent[0]!]);
    connection.guard = recording;
    await whenClosed;
    expect(answers.length).toBe(1);
  });
});

describe("unauthenticated peers", () => {
  test("may not send a frame over 4 KiB before authenticating", async () => {
    const { port } = await startServer();
    let reason: string | null = null;
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    const raw = await connectTcp({ host: "127.0.0.1", port, maxFrameBytes: 1024 * 1024, handlers: { onFrame: () => {}, onClose: (_, r) => { reason = r; closed(); } } });
    // Only the length of a 64 KiB frame: refused from those 4 bytes (without the limit the server would wait for the rest).
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, 64 * 1024);
    raw.send([prefix]);
    expect(await Promise.race([done.then(() => "closed"), Bun.sleep(2000).then(() => "still open")])).toBe("closed");
    expect(reason).toBeNull(); // the server hung up (its own reason was FRAME_TOO_LARGE)
  });

  test("seeded mutations of a real handshake never authenticate and never stop the server", async () => {
    const { port, auth } = await startServer();
    const recorded: Uint8Array[] = [];
    const proxyPort = await startRecordingProxy(port, recorded);
    const genuine = await RpcConnection.connect({ host: "127.0.0.1", port: proxyPort, secure: handshakeWith(clusterCredentials(SECRET)) });
    genuine.close();
    const stream = concatChunks(recorded);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let served = 0;
    for (let i = 0; i < 300; i++) {
      const mutated = Uint8Array.from(stream);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? Math.floor(random() * mutated.length) : mutated.length;
      const frames: Uint8Array[] = [];
      let closed!: () => void;
      const done = new Promise<void>((resolve) => (closed = resolve));
      const raw = await connectTcp({ host: "127.0.0.1", port, maxFrameBytes: 1024 * 1024, handlers: { onFrame: (_, f) => frames.push(f), onClose: () => closed() } });
      raw.send([mutated.subarray(0, cut)]);
      await Promise.race([done, Bun.sleep(50)]);
      raw.close("case over");
      served += frames.filter((f) => new TextDecoder().decode(f).includes("a cluster member")).length;
    }
    expect(served).toBe(0);
    const after = await RpcConnection.connect({ host: "127.0.0.1", port, secure: handshakeWith(clusterCredentials(SECRET)) });
    expect((await after.request("whoami", {})).body).toEqual({ who: "a cluster member", bytes: 0 });
    after.close();
    expect(auth.failures).toBeGreaterThan(100);
  });
});

/** A TCP proxy to `port` that records what clients send; resolves to its own port. */
async function startRecordingProxy(port: number, recorded: Uint8Array[]): Promise<number> {
  interface Pipe { upstream: Socket<Pipe> | null; pending: Uint8Array[] }
  const listener: TCPSocketListener<Pipe> = Bun.listen<Pipe>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { upstream: null, pending: [] };
        void Bun.connect<Pipe>({
          hostname: "127.0.0.1",
          port,
          socket: {
            data: (_, chunk) => void client.write(chunk),
            close: () => void client.end(),
          },
        }).then((upstream) => {
          client.data.upstream = upstream;
          for (const chunk of client.data.pending) upstream.write(chunk);
        });
      },
      data(client, chunk) {
        recorded.push(new Uint8Array(chunk));
        if (client.data.upstream) client.data.upstream.write(chunk);
        else client.data.pending.push(new Uint8Array(chunk));
      },
      close: (client) => void client.data.upstream?.end(),
    },
  });
  cleanups.push(() => listener.stop(true));
  return listener.port;
}
