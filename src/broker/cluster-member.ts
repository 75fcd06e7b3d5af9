/**
 * A broker's membership in a cluster: runs the bully state machine, carries
 * out its actions (messages, timers, term persistence, epoch claims,
 * takeover, stepping down) and feeds it the zookeeper's views, which arrive
 * from the zookeeper-session worker.
 */
import fs from "node:fs";
import path from "node:path";
import type { HostPort } from "../client/addresses";
import { KafkaCloneError } from "../errors";
import { BullyElection, type BullyTimeouts } from "../election/bully";
import type { BullyAction, TimerId } from "../election/election-types";
import type { Logger } from "../logger";
import { writeFileAtomically } from "../log/atomic-file";
import { holderProcessIsGone, type LockHolder } from "../log/data-dir-lock";
import { readLeaderEpoch } from "../log/leader-epoch-file";
import type { ClusterView } from "../protocol/heartbeat-codec";
import { randomIncarnation } from "../zookeeper/heartbeat-sender";
import type { Broker } from "./broker";
import { ElectionTransport } from "./election-transport";
import { LEASE_EPOCH_SLOT, type FromZkSession, type ToZkSession } from "./zk-session-messages";

export interface ClusterMemberOptions {
  zookeeper: HostPort;
  electionHost: string;
  electionPort: number;
  heartbeatIntervalMs: number;
  timeouts?: Partial<BullyTimeouts>;
}

export class ClusterMember {
  private readonly bully: BullyElection;
  private readonly transport: ElectionTransport;
  private readonly worker: Worker;
  private readonly leaseSlot = new Int32Array(new SharedArrayBuffer(4));
  private readonly timers = new Map<TimerId, ReturnType<typeof setTimeout>>();
  private view: ClusterView | null = null;
  private claimRequests = 0;
  private takeover: Promise<void> | null = null;
  private leaseWatch: ReturnType<typeof setInterval> | null = null;
  private readonly termFile: string;
  readonly stats = { elections: 0, takeovers: 0, stepDowns: 0 };

  constructor(
    private readonly broker: Broker,
    private readonly options: ClusterMemberOptions,
    private readonly logger: Logger,
  ) {
    this.termFile = path.join(broker.options.dataDir, "brokers", String(broker.id), "election-term");
    this.bully = new BullyElection({
      selfId: broker.id,
      persistedTerm: this.readTerm(),
      initialEpoch: readLeaderEpoch(broker.options.dataDir),
      ...options.timeouts,
    });
    this.transport = new ElectionTransport((message) => this.apply(this.bully.onMessage(message.from, message)), logger.child("election"));
    this.worker = new Worker(zkSessionWorkerPath());
    this.worker.onerror = (event) => this.logger.error("zookeeper-session worker failed", { error: event.message });
    broker.setLeaseCheck((epoch) => Atomics.load(this.leaseSlot, LEASE_EPOCH_SLOT) === epoch);
  }

  get electionPort(): number {
    return this.transport.port;
  }

  get term(): number {
    return this.bully.term;
  }

  start(startedAtMs = Date.now()): void {
    this.transport.listen(this.options.electionHost, this.options.electionPort);
    this.worker.onmessage = (event: MessageEvent<FromZkSession>) => this.onWorkerMessage(event.data);
    this.post({
      type: "init",
      zookeeper: this.options.zookeeper,
      identity: {
        brokerId: this.broker.id,
        incarnation: randomIncarnation(),
        startedAtMs,
        clientHost: this.broker.options.host,
        clientPort: this.broker.port,
        electionHost: this.options.electionHost,
        electionPort: this.transport.port,
      },
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      lease: this.leaseSlot.buffer as SharedArrayBuffer,
    });
    this.publishStatus();
    this.leaseWatch = setInterval(() => this.checkLease(), 20);
  }

  async stop(): Promise<void> {
    if (this.leaseWatch) clearInterval(this.leaseWatch);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.broker.stepDown("shutting down");
    this.publishStatus();
    this.post({ type: "stop" });
    this.transport.stop();
  }

  private post(message: ToZkSession): void {
    this.worker.postMessage(message);
  }

  /**
   * Heartbeats carry the highest epoch known, the data directory's included:
   * a restarted zookeeper learns epochs only from them, and retires a stale
   * active only when its standby heartbeat carries at least that epoch.
   */
  private publishStatus(): void {
    const epoch = Math.max(this.broker.epoch, this.bully.epoch, readLeaderEpoch(this.broker.options.dataDir));
    this.post({ type: "status", role: this.broker.role, epoch, term: this.bully.term });
  }

  private onWorkerMessage(message: FromZkSession): void {
    switch (message.type) {
      case "connected":
        this.logger.info("connected to the zookeeper", { sessionTimeoutMs: message.sessionTimeoutMs, leaseMs: message.leaseMs });
        break;
      case "view":
        if (message.zkRestarted) this.logger.info("the zookeeper restarted; its view is rebuilt from heartbeats");
        this.onView(message.view);
        break;
      case "claim-result":
        if (!message.accepted) this.logger.info("epoch claim rejected", { epoch: message.epoch, reason: message.reason });
        this.apply(this.bully.onClaimResult(message.accepted, message.accepted ? message.epoch : (message.view?.epoch ?? 0)));
        if (message.view) this.onView(message.view);
        break;
      case "lease-lost":
        if (this.broker.role === "active" && this.broker.epoch === message.epoch) void this.leave(`lease lost: ${message.reason}`);
        break;
      case "log":
        this.logger[message.level](message.message, message.fields);
        break;
    }
  }

  private onView(view: ClusterView): void {
    this.view = view;
    this.broker.setKnownLeader(this.leaderAddress(view));
    this.apply(this.bully.onView(view));
  }

  private apply(actions: BullyAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case "send": {
          const peer = this.view?.brokers.find((b) => b.id === action.to);
          if (peer) this.transport.send(action.to, peer.electionHost, peer.electionPort, action.message);
          if (action.message.type === "ELECTION") this.stats.elections++;
          break;
        }
        case "setTimer":
          clearTimeout(this.timers.get(action.id));
          this.timers.set(action.id, setTimeout(() => {
            this.timers.delete(action.id);
            this.apply(this.bully.onTimeout(action.id));
          }, action.ms));
          break;
        case "cancelTimer":
          clearTimeout(this.timers.get(action.id));
          this.timers.delete(action.id);
          break;
        case "persistTerm":
          this.writeTerm(action.term);
          break;
        case "claimActive": {
          const epoch = Math.max(action.epoch, readLeaderEpoch(this.broker.options.dataDir) + 1);
          this.logger.info("claiming leadership", { term: action.term, epoch });
          this.post({ type: "claim", requestId: ++this.claimRequests, epoch });
          break;
        }
        case "becomeLeader":
          this.takeover = this.takeOver(action.epoch);
          break;
        case "stepDown":
          void this.leave("the election moved on");
          break;
        case "followLeader":
          this.logger.info("following", { leader: action.leaderId, epoch: action.epoch, term: action.term });
          this.broker.setKnownLeader(this.view ? this.leaderAddress({ ...this.view, activeBrokerId: action.leaderId }) : undefined);
          break;
      }
    }
    this.publishStatus();
  }

  private async takeOver(epoch: number): Promise<void> {
    if (this.broker.role === "active" && this.broker.epoch === epoch) return;
    try {
      const report = await this.broker.becomeActive(epoch, (holder) => this.mayBreakLock(holder));
      this.stats.takeovers++;
      this.logger.info("takeover complete", { ...report, term: this.bully.term });
      this.publishStatus();
      this.checkLease();
    } catch (error) {
      this.logger.error("takeover failed", { epoch, error: (error as Error).message });
      this.post({ type: "revoke" });
      this.apply(this.bully.stepDown());
    } finally {
      this.takeover = null;
    }
  }

  /** A lock held by a broker the zookeeper no longer lists as alive (or by this one) may be broken at once. */
  private mayBreakLock(holder: LockHolder | null): boolean {
    if (holder === null || holder.brokerId === this.broker.id) return true;
    if (holderProcessIsGone(holder)) return true;
    const entry = this.view?.brokers.find((b) => b.id === holder.brokerId);
    return entry === undefined || !entry.alive;
  }

  private checkLease(): void {
    if (this.broker.role !== "active") return;
    if (Atomics.load(this.leaseSlot, LEASE_EPOCH_SLOT) !== this.broker.epoch) void this.leave("lease no longer held");
  }

  private async leave(reason: string): Promise<void> {
    if (this.takeover) await this.takeover;
    this.post({ type: "revoke" });
    if (this.broker.role === "active") {
      this.stats.stepDowns++;
      await this.broker.stepDown(reason);
    }
    this.apply(this.bully.stepDown());
  }

  private leaderAddress(view: ClusterView) {
    const active = view.brokers.find((b) => b.id === view.activeBrokerId && b.alive);
    return active ? { id: active.id, host: active.clientHost, port: active.clientPort } : undefined;
  }

  private readTerm(): number {
    if (!fs.existsSync(this.termFile)) return 0;
    const text = fs.readFileSync(this.termFile, "utf8").trim();
    const term = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(term)) {
      throw new KafkaCloneError("CORRUPT_MESSAGE", `${this.termFile}: expected the election term as an integer, found ${JSON.stringify(text.slice(0, 40))}`);
    }
    return term;
  }

  private writeTerm(term: number): void {
    fs.mkdirSync(path.dirname(this.termFile), { recursive: true });
    writeFileAtomically(this.termFile, `${term}\n`);
  }
}

/**
 * In the compiled binary the worker is a second entrypoint, addressed from the
 * bundle root (src/); run from source it sits next to this file.
 */
function zkSessionWorkerPath(): string {
  return import.meta.url.includes("/$bunfs/") ? "./broker/zk-session-worker.ts" : new URL("./zk-session-worker.ts", import.meta.url).href;
}
