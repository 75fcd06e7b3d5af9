/**
 * The zookeeper process: UDP heartbeats in (acked with the cluster view), and
 * on the same port number over TCP, "who is active?" and epoch claims.
 *
 * With a cluster secret (`auth`): heartbeats carry an HMAC and must be bound
 * to this zookeeper's incarnation (src/auth/heartbeat-hmac.ts), TCP
 * connections authenticate first (src/auth/secure-accept.ts), and only
 * cluster members may claim an epoch (users of the users file, if given, may
 * only read the view).
 */
import type { udp } from "bun";
import { heartbeatHmac } from "../auth/heartbeat-hmac";
import type { Identity } from "../auth/handshake";
import { acceptAuthenticated, describeIdentity, peerIdentity } from "../auth/secure-accept";
import type { ServerAuth } from "../auth/server-auth";
import { KafkaCloneError } from "../errors";
import { createLogger, type Logger } from "../logger";
import { RpcDispatcher } from "../net/rpc-server";
import { listenTcp, type TcpServer } from "../net/tcp";
import { ZK_API, type ZkBrokerStatus, type ZkClaimResponse, type ZkViewResponse } from "../protocol/api";
import { CRC_TAGGER, type DatagramTagger, openHeartbeat, sealHeartbeatAck, sealHeartbeatChallenge } from "./heartbeat-checksum";
import { readZkClaimRequest } from "../protocol/requests";
import { randomIncarnation } from "./heartbeat-sender";
import { ClusterHistory, type FailoverRecord } from "./cluster-history";
import { BrokerRegistry, type RegistryEvent } from "./registry";

export interface ZookeeperOptions {
  host: string;
  port: number;
  sessionTimeoutMs: number;
  maxFrameBytes?: number;
  /** Told of each change of active broker after one was lost (metrics). */
  onFailover?: (failover: FailoverRecord) => void;
  /** The cluster secret (and users), when the cluster uses one. */
  auth?: ServerAuth;
}

const BIND_ATTEMPTS = 20;
/** Its requests (a view, a claim) are tiny: no client may make it hold more than this for one. */
const ZK_MAX_FRAME_BYTES = 1024 * 1024;

export class ZookeeperServer {
  private tcp: TcpServer | null = null;
  private udpSocket: udp.Socket<"buffer"> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private readonly registry: BrokerRegistry;
  private readonly zkIncarnation = randomIncarnation();
  private readonly startedAt = performance.now();
  private readonly logger: Logger = createLogger("zookeeper");
  private garbledDatagrams = 0;
  /** Authentic heartbeats meant for another zookeeper incarnation (answered with a challenge). */
  private challengedHeartbeats = 0;
  private readonly tagger: DatagramTagger;
  private readonly history: ClusterHistory;

  constructor(readonly options: ZookeeperOptions) {
    this.history = new ClusterHistory((failover) => {
      this.logger.info("failover", { from: failover.fromBrokerId, to: failover.toBrokerId, epoch: failover.epoch, leaderlessMs: failover.leaderlessMs });
      options.onFailover?.(failover);
    });
    this.registry = new BrokerRegistry({ sessionTimeoutMs: options.sessionTimeoutMs, zkIncarnation: this.zkIncarnation }, this.startedAt);
    this.tagger = options.auth ? heartbeatHmac(options.auth.secret) : CRC_TAGGER;
  }

  get port(): number {
    if (!this.tcp) throw new Error("zookeeper is not listening");
    return this.tcp.port;
  }

  /** Binds TCP and UDP on one port number (with port 0, retries until both are free). */
  async start(): Promise<void> {
    const auth = this.options.auth;
    const dispatcher = new RpcDispatcher<Identity | null>(
      {
        [ZK_API.view]: () => ({ body: this.status() }),
        [ZK_API.claim]: (body, _, identity) => ({ body: this.claim(body, identity) }),
      },
      { openSession: (connection) => peerIdentity(connection) },
      this.logger,
    );
    for (let attempt = 1; ; attempt++) {
      const tcp = listenTcp({
        host: this.options.host,
        port: this.options.port,
        maxFrameBytes: this.options.maxFrameBytes ?? ZK_MAX_FRAME_BYTES,
        accept: (connection) =>
          auth
            ? acceptAuthenticated(connection, { auth, allowUsers: true, name: "the zookeeper", logger: this.logger }, () => dispatcher.accept(connection))
            : dispatcher.accept(connection),
      });
      try {
        this.udpSocket = await Bun.udpSocket({
          hostname: this.options.host,
          port: tcp.port,
          socket: {
            data: (_socket, data, port, address) => this.onDatagram(data, port, address),
            // An ack to a broker that just died comes back as ECONNREFUSED (ICMP port unreachable):
            // unhandled, Bun treats it as an uncaught error.
            error: (...args: unknown[]) => this.onSocketError(args.find((arg) => arg instanceof Error)),
          },
        });
        this.tcp = tcp;
        break;
      } catch (error) {
        tcp.stop();
        if (this.options.port !== 0 || attempt >= BIND_ATTEMPTS) {
          throw new KafkaCloneError("NETWORK_ERROR", `cannot bind UDP ${this.options.host}:${tcp.port}: ${(error as Error).message}`);
        }
      }
    }
    const tickMs = Math.max(10, Math.min(50, Math.floor(this.options.sessionTimeoutMs / 5)));
    this.ticker = setInterval(() => this.logEvents(this.registry.tick(performance.now())), tickMs);
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.udpSocket?.close();
    this.tcp?.stop();
    this.udpSocket = null;
    this.tcp = null;
  }

  private socketErrors = 0;

  private onSocketError(error: unknown): void {
    if (this.socketErrors++ % 1000 === 0) {
      this.logger.info("heartbeat socket error (a broker went away?)", { error: error instanceof Error ? error.message : String(error), total: this.socketErrors });
    }
  }

  private onDatagram(data: Uint8Array, port: number, address: string): void {
    let ackBytes: Uint8Array;
    try {
      const heartbeat = openHeartbeat(data, this.tagger);
      if (this.options.auth && heartbeat.zk !== this.zkIncarnation) {
        // Authentic but not meant for this incarnation (recorded earlier, or the broker has not heard of it yet).
        this.challengedHeartbeats++;
        const { brokerId, incarnation, seq } = heartbeat;
        this.udpSocket?.send(sealHeartbeatChallenge({ zkIncarnation: this.zkIncarnation, brokerId, incarnation, seq }, this.tagger), port, address);
        return;
      }
      const outcome = this.registry.onHeartbeat(heartbeat, performance.now());
      if (!outcome.accepted) return;
      ackBytes = sealHeartbeatAck(outcome.ack, this.tagger);
    } catch (error) {
      if (this.garbledDatagrams++ % 1000 === 0) {
        const unauthenticated = error instanceof KafkaCloneError && error.code === "AUTHENTICATION_FAILED";
        this.logger.warn(unauthenticated ? "ignoring a heartbeat datagram that failed its HMAC (no or another cluster secret?)" : "ignoring a malformed heartbeat datagram", {
          from: `${address}:${port}`,
          error: (error as Error).message,
          total: this.garbledDatagrams,
        });
      }
      return;
    }
    this.udpSocket?.send(ackBytes, port, address);
    this.logEvents(this.registry.tick(performance.now()));
  }

  private claim(body: unknown, identity: Identity | null): ZkClaimResponse {
    const { brokerId, epoch } = readZkClaimRequest(body);
    if (this.options.auth && identity?.kind !== "member") {
      throw new KafkaCloneError("AUTHORIZATION_FAILED", `${describeIdentity(identity)} may not claim a leader epoch: only brokers holding the cluster secret may`);
    }
    const outcome = this.registry.claimActive(brokerId, epoch, performance.now());
    this.logEvents(this.registry.tick(performance.now()));
    if (outcome.accepted) return { accepted: true, epoch, view: outcome.view };
    this.logger.info("claim rejected", { brokerId, epoch, reason: outcome.reason });
    return { accepted: false, epoch, reason: outcome.reason, view: outcome.view };
  }

  /** The cluster view with every broker's figures: what `cluster status` and the metrics show. */
  status(): ZkViewResponse {
    const now = performance.now();
    const view = this.registry.view(now);
    this.logEvents(this.registry.tick(now));
    const heartbeatAgeMs: Record<string, number> = {};
    const brokers: ZkBrokerStatus[] = [];
    for (const broker of view.brokers) {
      const entry = this.registry.entry(broker.id);
      if (!entry) continue;
      const age = Math.round(now - entry.lastHeartbeatAt);
      heartbeatAgeMs[String(broker.id)] = age;
      const { alive, role, id, ...addresses } = broker;
      const uptimeMs = Math.max(0, Date.now() - entry.hb.startedAtMs);
      brokers.push({ id, role, alive, epoch: entry.hb.epoch, term: entry.hb.term, ...addresses, heartbeatAgeMs: age, uptimeMs });
    }
    return {
      brokers,
      elections: this.history.elections,
      leaderChanges: this.history.leaderChanges,
      lastFailover: this.history.failover(now),
      view,
      zkIncarnation: this.zkIncarnation,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      uptimeMs: Math.round(now - this.startedAt),
      counters: { ...this.registry.counters, garbledDatagrams: this.garbledDatagrams, ...(this.options.auth ? { challengedHeartbeats: this.challengedHeartbeats, authenticationFailures: this.options.auth.failures } : {}) },
      heartbeatAgeMs,
    };
  }

  private logEvents(events: RegistryEvent[]): void {
    for (const event of events) {
      const { type, ...fields } = event;
      if (type === "election-needed") {
        const view = this.registry.view(performance.now());
        const alive = view.brokers.filter((b) => b.alive).map((b) => b.id);
        this.logger.warn(type, { election: this.history.elections + 1, aliveBrokers: alive, epoch: view.epoch });
      } else if (type === "broker-died" || type === "active-lost") this.logger.warn(type, fields);
      else this.logger.info(type, fields);
    }
    this.history.observe(events, performance.now());
  }
}
