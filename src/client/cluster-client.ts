/**
 * Finds the active broker and keeps one connection to it. When that
 * connection fails, a request on it times out, or a broker says NOT_LEADER,
 * the next call rediscovers the leader: first where the error pointed, then
 * through the bootstrap brokers (or the zookeeper's view, when a locator is
 * given).
 *
 * With a locator the client also watches the zookeeper while connected: a
 * leader that is paused or cut off keeps its TCP connections open and answers
 * nothing, so without the watch requests and subscriptions would wait for
 * their timeouts (or forever). When the zookeeper names another active
 * broker, the connection is dropped and everything waiting on it is retried
 * there.
 */
import type { Credentials } from "../auth/credentials";
import { handshakeWith } from "../auth/secure-connect";
import { KafkaCloneError, asKafkaCloneError } from "../errors";
import { RpcConnection, type RpcResult } from "../net/rpc-connection";
import { API, type MetadataResponse } from "../protocol/api";
import type { BrokerAddress } from "../protocol/envelope";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/frame-codec";
import { formatHostPort, type HostPort } from "./addresses";

/** Where the active broker is believed to be, e.g. from the zookeeper. */
export interface LeaderLocator {
  /** Null when no broker is active right now. */
  locate(): Promise<HostPort | null>;
  close(): void;
}

export interface ClusterClientOptions {
  bootstrap: HostPort[];
  locator?: LeaderLocator;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long to keep looking for an active broker before giving up. */
  discoveryTimeoutMs?: number;
  maxFrameBytes?: number;
  onPush?: (api: string, body: unknown, attachment: Uint8Array) => void;
  /** The leader connection closed (the client reconnects on its next request). */
  onDisconnect?: () => void;
  onDrain?: () => void;
  /** With a locator: how often to ask it whether the leader moved (0 = never). */
  leaderWatchMs?: number;
  /** What to prove to brokers that use a cluster secret (src/auth); none by default. */
  auth?: Credentials;
}

const RETRY_PAUSE_MS = 50;
/**
 * Between discovery rounds the pause grows from RETRY_PAUSE_MS to this. A
 * failover names the new leader about one session timeout after the crash;
 * a longer pause here would add itself to the client's downtime (at 500 ms,
 * the new leader waited ~350 ms for clients to look again).
 */
const MAX_DISCOVERY_PAUSE_MS = 100;
const DEFAULT_LEADER_WATCH_MS = 200;
/** Errors after which the connection is not trusted any more. */
const DROP_CONNECTION_ON = new Set(["NOT_LEADER", "NETWORK_ERROR", "LEADER_NOT_AVAILABLE", "REQUEST_TIMED_OUT"]);

export class ClusterClient {
  private connection: RpcConnection | null = null;
  private connecting: Promise<RpcConnection> | null = null;
  private hint: HostPort | null = null;
  private closed = false;
  private watchTimer: ReturnType<typeof setInterval> | null = null;
  private watching = false;

  constructor(private readonly options: ClusterClientOptions) {
    if (options.bootstrap.length === 0 && !options.locator) {
      throw new KafkaCloneError("INVALID_ARGUMENT", "no bootstrap broker and no zookeeper to find the cluster");
    }
  }

  get current(): RpcConnection | null {
    return this.connection && !this.connection.isClosed ? this.connection : null;
  }

  /** The connection to the active broker, discovering it if needed. */
  leader(): Promise<RpcConnection> {
    const current = this.current;
    if (current) return Promise.resolve(current);
    this.connecting ??= this.discover().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** Drops the leader connection after `error`, remembering where a NOT_LEADER pointed. */
  reportFailure(error: unknown, connection?: RpcConnection): void {
    const failure = asKafkaCloneError(error) as KafkaCloneError & { leader?: BrokerAddress };
    if (failure.leader) this.hint = { host: failure.leader.host, port: failure.leader.port };
    if (!DROP_CONNECTION_ON.has(failure.code)) return;
    const target = connection ?? this.connection;
    if (target && target === this.connection) {
      this.connection = null;
      target.close(failure.describe());
    }
  }

  /** A request to the active broker, retried across leader changes until `deadlineMs` passes. */
  async request(api: string, body: unknown, attachments: Uint8Array[] = [], timeoutMs?: number): Promise<RpcResult> {
    const deadline = performance.now() + (timeoutMs ?? this.options.requestTimeoutMs ?? 30_000);
    for (;;) {
      const connection = await this.leader();
      try {
        return await connection.request(api, body, attachments, Math.max(1, deadline - performance.now()));
      } catch (error) {
        const failure = asKafkaCloneError(error);
        this.reportFailure(failure, connection);
        if (!failure.retriable || performance.now() >= deadline || this.closed) throw failure;
        await Bun.sleep(RETRY_PAUSE_MS);
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    this.options.locator?.close();
    this.connection?.close();
    this.connection = null;
  }

  private async discover(): Promise<RpcConnection> {
    const deadline = performance.now() + (this.options.discoveryTimeoutMs ?? 30_000);
    let lastProblem = "no broker answered";
    for (let round = 0; !this.closed; round++) {
      for (const candidate of await this.candidates()) {
        try {
          const connection = await this.tryCandidate(candidate);
          if (connection) {
            this.connection = connection;
            this.startLeaderWatch();
            return connection;
          }
          lastProblem = `${formatHostPort(candidate)} is not the active broker`;
        } catch (error) {
          // Wrong or missing credentials will not get better by trying again.
          if (asKafkaCloneError(error).code === "AUTHENTICATION_FAILED") throw error;
          lastProblem = `${formatHostPort(candidate)}: ${asKafkaCloneError(error).message}`;
        }
      }
      if (performance.now() >= deadline) break;
      await Bun.sleep(Math.min(RETRY_PAUSE_MS * 2 ** Math.min(round, 4), MAX_DISCOVERY_PAUSE_MS));
    }
    throw new KafkaCloneError("LEADER_NOT_AVAILABLE", `no active broker found: ${lastProblem}`);
  }

  private startLeaderWatch(): void {
    const every = this.options.leaderWatchMs ?? DEFAULT_LEADER_WATCH_MS;
    if (this.watchTimer || !this.options.locator || every <= 0 || this.closed) return;
    this.watchTimer = setInterval(() => void this.checkLeader(), every);
    this.watchTimer.unref?.();
  }

  /** Drops the connection when the zookeeper names another broker as active (an unanswered locator changes nothing). */
  private async checkLeader(): Promise<void> {
    const connection = this.current;
    if (this.watching || !connection || !this.options.locator) return;
    this.watching = true;
    try {
      const located = await this.options.locator.locate().catch(() => null);
      if (located === null || connection !== this.connection || connection.isClosed) return;
      if (`${located.host}:${located.port}` === connection.address) return;
      this.hint = located;
      // The close handler forgets the connection and tells the owner (a consumer resubscribes).
      connection.close(`the zookeeper names ${located.host}:${located.port} as the active broker`);
    } finally {
      this.watching = false;
    }
  }

  private async candidates(): Promise<HostPort[]> {
    const list: HostPort[] = [];
    if (this.hint) list.push(this.hint);
    this.hint = null;
    if (this.options.locator) {
      const located = await this.options.locator.locate().catch((error: unknown) => {
        if (asKafkaCloneError(error).code === "AUTHENTICATION_FAILED") throw error;
        return null;
      });
      if (located) list.push(located);
    }
    list.push(...this.options.bootstrap);
    const seen = new Set<string>();
    return list.filter((address) => {
      const key = formatHostPort(address);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /** Connects; keeps the connection only if that broker is active, else follows its pointer once. */
  private async tryCandidate(address: HostPort): Promise<RpcConnection | null> {
    const connection = await this.open(address);
    const metadata = await connection.request(API.metadata, {}, [], this.options.connectTimeoutMs ?? 5000).catch((error) => {
      connection.close();
      throw error;
    });
    const view = metadata.body as MetadataResponse;
    if (view.role === "active") return connection;
    connection.close();
    if (view.activeBroker) this.hint = { host: view.activeBroker.host, port: view.activeBroker.port };
    return null;
  }

  private open(address: HostPort): Promise<RpcConnection> {
    return RpcConnection.connect({
      host: address.host,
      port: address.port,
      maxFrameBytes: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 5000,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
      onPush: this.options.onPush,
      onDrain: this.options.onDrain,
      secure: handshakeWith(this.options.auth, this.options.connectTimeoutMs),
      onClose: () => {
        if (this.connection?.isClosed) {
          this.connection = null;
          this.options.onDisconnect?.();
        }
      },
    });
  }
}
