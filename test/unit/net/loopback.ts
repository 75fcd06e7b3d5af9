/** A FramedConnection pair over real loopback TCP, for tests of src/net. */
import { afterEach } from "bun:test";
import type { FramedConnection, FramedHandlers } from "../../../src/net/framed-connection";
import { connectTcp, listenTcp, type TcpServer } from "../../../src/net/tcp";
import { concatChunks, encodeFrame } from "../../../src/protocol/frame-codec";

export interface Endpoint {
  connection: FramedConnection;
  frames: Uint8Array[];
  closes: (string | null)[];
  drains: number;
  closed: Promise<string | null>;
}

const servers: TcpServer[] = [];
const clients: FramedConnection[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close("test over");
  for (const server of servers.splice(0)) server.stop();
});

function recorder(onFrame?: (frame: Uint8Array) => void): { endpoint: Endpoint; handlers: FramedHandlers } {
  let settle!: (reason: string | null) => void;
  const endpoint: Endpoint = {
    connection: null as unknown as FramedConnection, // set once connected
    frames: [],
    closes: [],
    drains: 0,
    closed: new Promise<string | null>((resolve) => (settle = resolve)),
  };
  const handlers: FramedHandlers = {
    onFrame: (_, frame) => (onFrame ? onFrame(frame) : endpoint.frames.push(frame)),
    onClose: (_, reason) => {
      endpoint.closes.push(reason);
      settle(reason);
    },
    onDrain: () => endpoint.drains++,
  };
  return { endpoint, handlers };
}

/** A connected pair: `client` dialled `server`. `onServerFrame` replaces recording on the server side. */
export async function loopbackPair(options: { maxFrameBytes?: number; onServerFrame?: (frame: Uint8Array) => void } = {}): Promise<{ client: Endpoint; server: Endpoint }> {
  const maxFrameBytes = options.maxFrameBytes ?? 128 * 1024 * 1024;
  const serverSide = recorder(options.onServerFrame);
  let accepted!: (connection: FramedConnection) => void;
  const acceptedConnection = new Promise<FramedConnection>((resolve) => (accepted = resolve));
  const server = listenTcp({
    host: "127.0.0.1",
    port: 0,
    maxFrameBytes,
    accept: (connection) => {
      accepted(connection);
      return serverSide.handlers;
    },
  });
  servers.push(server);
  const clientSide = recorder();
  clientSide.endpoint.connection = await connectTcp({ host: "127.0.0.1", port: server.port, maxFrameBytes, handlers: clientSide.handlers });
  clients.push(clientSide.endpoint.connection);
  serverSide.endpoint.connection = await acceptedConnection;
  return { client: clientSide.endpoint, server: serverSide.endpoint };
}

/** A frame whose envelope is `[1, label, n, null]` and whose attachment is `payload`. */
export function frameChunks(label: string, n: number, payload?: Uint8Array): Uint8Array[] {
  return encodeFrame([1, label, n, null], payload ? [payload] : []);
}

export function oneBuffer(chunks: Uint8Array[]): Uint8Array {
  return concatChunks(chunks);
}
