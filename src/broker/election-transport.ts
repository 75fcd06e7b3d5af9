/**
 * Carries bully-election messages between brokers over TCP: one listener for
 * incoming messages, one lazily opened connection per peer for outgoing ones.
 * Delivery is best effort — the state machine's timeouts cover lost messages.
 *
 * With a cluster secret every connection authenticates first, both ways
 * (src/auth: members only, no users), and every message then carries a MAC
 * with a per-connection counter: a process without the secret can neither
 * vote nor announce itself coordinator, and recorded messages cannot be
 * replayed.
 */
import { clusterCredentials, type Credentials } from "../auth/credentials";
import { acceptAuthenticated } from "../auth/secure-accept";
import { authenticateConnection } from "../auth/secure-connect";
import type { ServerAuth } from "../auth/server-auth";
import { asKafkaCloneError } from "../errors";
import { decodeElectionMessage, encodeElectionMessage, MAX_ELECTION_MESSAGE_SIZE } from "../election/election-codec";
import type { ElectionMessage } from "../election/election-types";
import type { Logger } from "../logger";
import type { FramedConnection } from "../net/framed-connection";
import { connectTcp, listenTcp, type TcpServer } from "../net/tcp";

const MAX_FRAME = MAX_ELECTION_MESSAGE_SIZE + 64;
const CONNECT_TIMEOUT_MS = 300;
const HANDSHAKE_TIMEOUT_MS = 1000;

function lengthPrefixed(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  return frame;
}

interface Peer {
  address: string;
  connection: Promise<FramedConnection> | null;
}

export class ElectionTransport {
  private server: TcpServer | null = null;
  private readonly peers = new Map<number, Peer>();
  private readonly credentials: Credentials | undefined;

  constructor(
    private readonly onMessage: (message: ElectionMessage) => void,
    private readonly logger: Logger,
    private readonly auth?: ServerAuth,
  ) {
    this.credentials = auth ? clusterCredentials(auth.secret) : undefined;
  }

  get port(): number {
    if (!this.server) throw new Error("election transport is not listening");
    return this.server.port;
  }

  listen(host: string, port: number): void {
    this.server = listenTcp({
      host,
      port,
      maxFrameBytes: MAX_FRAME,
      maxConnections: 1024,
      accept: (connection) => {
        const handlers = {
          onFrame: (connection: FramedConnection, frame: Uint8Array) => {
            try {
              this.onMessage(decodeElectionMessage(frame));
            } catch (error) {
              this.logger.warn("closing election connection after a malformed message", {
                remote: connection.remote,
                reason: asKafkaCloneError(error).message,
              });
              connection.close(asKafkaCloneError(error).message);
            }
          },
        };
        const auth = this.auth;
        return auth ? acceptAuthenticated(connection, { auth, allowUsers: false, name: "the election port", logger: this.logger }, () => handlers) : handlers;
      },
    });
  }

  send(to: number, host: string, port: number, message: ElectionMessage): void {
    const address = `${host}:${port}`;
    let peer = this.peers.get(to);
    if (!peer || peer.address !== address) {
      void peer?.connection?.then((c) => c.close()).catch(() => {});
      peer = { address, connection: null };
      this.peers.set(to, peer);
    }
    let frame: Uint8Array;
    try {
      frame = lengthPrefixed(encodeElectionMessage(message));
    } catch (error) {
      // A message this broker cannot encode is a bug, never a reason to stop serving: drop it (delivery is best effort).
      this.logger.error("cannot encode an election message", { to, type: message.type, error: asKafkaCloneError(error).message });
      return;
    }
    const current = peer;
    current.connection ??= connectTcp({
      host,
      port,
      maxFrameBytes: MAX_FRAME,
      timeoutMs: CONNECT_TIMEOUT_MS,
      handlers: {
        onFrame: () => {},
        onClose: () => {
          current.connection = null;
        },
      },
    }).then(async (connection) => {
      if (this.credentials) await authenticateConnection(connection, this.credentials, `broker ${to}'s election port ${address}`, HANDSHAKE_TIMEOUT_MS);
      return connection;
    });
    current.connection.then(
      (connection) => {
        if (connection.isClosed) current.connection = null;
        else connection.send([frame]);
      },
      (error: unknown) => {
        current.connection = null;
        if (asKafkaCloneError(error).code === "AUTHENTICATION_FAILED") {
          this.logger.warn("cannot authenticate to a peer's election port", { to, address, error: asKafkaCloneError(error).message });
        }
      },
    );
  }

  stop(): void {
    for (const peer of this.peers.values()) void peer.connection?.then((c) => c.close()).catch(() => {});
    this.peers.clear();
    this.server?.stop();
    this.server = null;
  }
}
