/**
 * The zookeeper process: UDP heartbeats in (acked with the cluster view), and
 * on the same port number over TCP, "who is active?" and epoch claims.
 */
import type { udp } from "bun";
import { KafkaCloneError } from "../errors";
import { createLogger, type Logger } from "../logger";
import { RpcDispatcher } from "../net/rpc-server";
import { listenTcp, type TcpServer } from "../net/tcp";
import { ZK_API, type ZkBrokerStatus, type ZkClaimResponse, type ZkViewResponse } from "../protocol/api";
import { openHeartbeat, sealHeartbeatAck } from "./heartbeat-checksum";
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
  private readonly history: ClusterHistory;

  constructor(readonly options: ZookeeperOptions) {
    this.history = new ClusterHistory((failover) => {
      this.logger.info("failover", { from: failover.fromBrokerId, to: failover.toBrokerId, epoch: failover.epoch, leaderlessMs: failover.leaderlessMs });
      options.onFailover?.(failover);
    });
    this.registry = new BrokerRegistry({ sessionTimeoutMs: options.sessionTimeoutMs, zkIncarnation: this.zkIncarnation }, this.startedAt);
  }

  get port(): number {
    if (!this.tcp) throw new Error("zookeeper is not listening");
    return this.tcp.port;
  }

  /** Binds TCP and UDP on one port number (with port 0, retries until both are free). */
  async start(): Promise<void> {
    const dispatcher = new RpcDispatcher<null>(
      {
        [ZK_API.view]: () => ({ body: this.status() }),
        [ZK_API.claim]: (body) => ({ body: this.claim(body) }),
      },
      { openSession: () => null },
      this.logger,
    );
    for (let attempt = 1; ; attempt++) {
      const tcp = listenTcp({
        host: this.options.host,
        port: this.options.port,
        maxFrameBytes: this.options.maxFrameBytes ?? ZK_MAX_FRAME_BYTES,
        accept: (connection) => dispatcher.accept(connection),
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
      const outcome = this.registry.onHeartbeat(openHeartbeat(data), performance.now());
      if (!outcome.accepted) return;
      ackBytes = sealHeartbeatAck(outcome.ack);
    } catch (error) {
      if (this.garbledDatagrams++ % 1000 === 0) {
        this.logger.warn("ignoring a malformed heartbeat datagram", { from: `${address}:${port}`, error: (error as Error).message, total: this.garbledDatagrams });
      }
      return;
    }
    this.udpSocket?.send(ackBytes, port, address);
    this.logEvents(this.registry.tick(performance.now()));
  }

  private claim(body: unknown): ZkClaimResponse {
    const { brokerId, epoch } = readZkClaimRequest(body);
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
      counters: { ...this.registry.counters, garbledDatagrams: this.garbledDatagrams },
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
