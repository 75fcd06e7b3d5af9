/**
 * A broker's membership in a cluster: runs the bully state machine, carries
 * out its actions (messages, timers, term persistence, epoch claims,
 * takeover, stepping down) and feeds it the zookeeper's views, which arrive
 * from the zookeeper-session worker.
 */
import fs from "node:fs";
import path from "node:path";
import type { ServerAuth } from "../auth/server-auth";
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
import { SharedLease } from "./shared-lease";
import { probeDisk, whenDiskWorks } from "./storage-health";
import type { FromZkSession, ToZkSession } from "./zk-session-messages";

export interface ClusterMemberOptions {
  zookeeper: HostPort;
  electionHost: string;
  electionPort: number;
  heartbeatIntervalMs: number;
  timeouts?: Partial<BullyTimeouts>;
  /** The cluster secret, when the cluster uses one: heartbeats, claims and election messages are authenticated. */
  auth?: ServerAuth;
}

const LEASE_WATCH_MS = 20;
const CLOCK_PING_MS = 1000;

export class ClusterMember {
  private readonly bully: BullyElection;
  private readonly transport: ElectionTransport;
  private readonly worker: Worker;
  private readonly lease = new SharedLease();
  private readonly timers = new Map<TimerId, ReturnType<typeof setTimeout>>();
  private view: ClusterView | null = null;
  private claimRequests = 0;
  /** The epoch this broker leads (from the election's verdict until it leaves), or null: what heartbeats report. */
  private leading: number | null = null;
  /** Takeovers and step-downs run one after another, never interleaved (they take and release the lock). */
  private transitions: Promise<void> = Promise.resolve();
  private leaseWatch: ReturnType<typeof setInterval> | null = null;
  private clockPings: ReturnType<typeof setInterval> | null = null;
  private sessionTimeoutMs: number | null = null;
  /** Main-thread time since which the lease of the led epoch has not been held, or null. */
  private leaseMissingSince: number | null = null;
  private stopping = false;
  /** The disk is unusable: out of elections (no answers, no claims, no terms written) until it passes a probe. */
  private diskSuspect = false;
  private cancelDiskProbe: (() => void) | null = null;
  private readonly termFile: string;
  readonly stats = { electionMessagesSent: 0, takeovers: 0, stepDowns: 0 };

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
    this.transport = new ElectionTransport((message) => this.apply(this.bully.onMessage(message.from, message)), logger.child("election"), options.auth);
    this.worker = new Worker(zkSessionWorkerPath());
    this.worker.onerror = (event) => this.logger.error("zookeeper-session worker failed", { error: event.message });
    // Without its session the broker can neither heartbeat nor hold a lease: better gone than a silent zombie.
    this.worker.addEventListener("close", () => {
      if (this.stopping) return;
      this.logger.error("the zookeeper-session worker stopped; exiting");
      process.exit(1);
    });
    broker.setLeaseCheck((epoch) => this.lease.holds(epoch));
    broker.setDiskUnusableHandler((reason) => this.sitOut(reason));
    // A step-down this member did not ask for (the data directory lock was compromised): leave
    // leadership too, or heartbeats would go on saying "active" for a broker that serves nothing.
    broker.setStepDownListener((reason, epoch) => {
      if (this.leading === epoch) void this.leave(reason);
    });
  }

  /**
   * The disk is unusable (see storage-health.ts): step down and stay out of
   * elections, so another broker takes over, until the disk passes a probe.
   */
  private sitOut(reason: string): void {
    if (this.diskSuspect || this.stopping) return;
    this.diskSuspect = true;
    this.logger.warn("the disk is unusable: stepping down and staying out of elections until it works again", { reason });
    void this.leave(`the disk is unusable: ${reason}`);
    this.cancelDiskProbe = whenDiskWorks(this.broker.options.dataDir, this.broker.id, () => {
      this.cancelDiskProbe = null;
      this.diskSuspect = false;
      this.logger.info("the disk works again: taking part in elections");
      if (this.view) this.apply(this.bully.onView(this.view));
    });
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
      lease: this.lease.buffer,
      ...(this.options.auth ? { secret: this.options.auth.secret.exportForWorker() } : {}),
    });
    this.publishStatus();
    // Clock pings tighten the bound between the worker's clock and this thread's (see shared-lease.ts).
    this.post({ type: "clock", sentAt: performance.now() });
    this.clockPings = setInterval(() => this.post({ type: "clock", sentAt: performance.now() }), CLOCK_PING_MS);
    this.leaseWatch = setInterval(() => this.checkLease(), LEASE_WATCH_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelDiskProbe?.();
    if (this.leaseWatch) clearInterval(this.leaseWatch);
    if (this.clockPings) clearInterval(this.clockPings);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.leading = null;
    await this.transition(() => this.broker.stepDown("shutting down"));
    this.publishStatus();
    this.post({ type: "stop" });
    this.transport.stop();
  }

  private post(message: ToZkSession): void {
    this.worker.postMessage(message);
  }

  /**
   * While leading (from the election's verdict, through the takeover, until
   * it leaves) heartbeats say "active" at the led epoch: a "standby" heartbeat
   * during a takeover would make the zookeeper retire the claim it just
   * granted. Otherwise they carry the highest epoch known, the data
   * directory's included: a restarted zookeeper learns epochs only from them.
   */
  private publishStatus(): void {
    if (this.leading !== null) {
      this.post({ type: "status", role: "active", epoch: this.leading, term: this.bully.term });
      return;
    }
    const epoch = Math.max(this.broker.epoch, this.bully.epoch, readLeaderEpoch(this.broker.options.dataDir));
    this.post({ type: "status", role: "standby", epoch, term: this.bully.term });
  }

  private onWorkerMessage(message: FromZkSession): void {
    switch (message.type) {
      case "connected":
        this.sessionTimeoutMs = message.sessionTimeoutMs;
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
        if (this.leading === message.epoch) void this.leave(`lease lost: ${message.reason}`);
        break;
      case "lease-lapsed":
        if (this.leading === message.epoch) {
          this.logger.warn("lease lapsed: acknowledging nothing until the zookeeper confirms this broker", { epoch: message.epoch });
        }
        break;
      case "lease-regained":
        this.onLeaseRegained(message.epoch);
        break;
      case "clock":
        this.lease.calibrate(message.sentAt, message.workerNow);
        break;
      case "log":
        this.logger[message.level](message.message, message.fields);
        break;
    }
  }

  /**
   * The zookeeper names this broker active at its epoch again after a lapse
   * (typically: it restarted and rebuilt its view from heartbeats). The
   * worker acknowledges nothing until this thread confirms that no newer
   * leader has written its epoch to the data directory meanwhile.
   */
  private onLeaseRegained(epoch: number): void {
    if (this.leading !== epoch) return;
    const onDisk = readLeaderEpoch(this.broker.options.dataDir);
    if (onDisk > epoch) {
      void this.leave(`the data directory has leader epoch ${onDisk}, newer than ${epoch}`);
      return;
    }
    this.logger.info("lease regained", { epoch });
    this.post({ type: "confirm-regained", epoch });
  }

  private onView(view: ClusterView): void {
    this.view = view;
    this.broker.setKnownLeader(this.leaderAddress(view));
    this.apply(this.bully.onView(view));
  }

  private apply(actions: BullyAction[]): void {
    for (const action of actions) {
      // Sitting out: nothing that would let this broker win (or slow down) an election, nor write its term.
      if (this.diskSuspect && (action.type === "send" || action.type === "claimActive" || action.type === "persistTerm")) continue;
      switch (action.type) {
        case "send": {
          const peer = this.view?.brokers.find((b) => b.id === action.to);
          if (peer) this.transport.send(action.to, peer.electionHost, peer.electionPort, action.message);
          if (action.message.type === "ELECTION") this.stats.electionMessagesSent++;
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
          try {
            this.writeTerm(action.term);
          } catch (error) {
            this.logger.error("cannot persist the election term", { term: action.term, error: (error as Error).message });
            this.sitOut(`cannot persist the election term: ${(error as Error).message}`);
          }
          break;
        case "claimActive": {
          const epoch = Math.max(action.epoch, readLeaderEpoch(this.broker.options.dataDir) + 1);
          this.logger.info("claiming leadership", { term: action.term, epoch });
          this.post({ type: "claim", requestId: ++this.claimRequests, epoch });
          break;
        }
        case "becomeLeader":
          this.leading = action.epoch;
          this.leaseMissingSince = null;
          void this.takeOver(action.epoch);
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

  private transition(task: () => Promise<void>): Promise<void> {
    const run = this.transitions.then(task);
    this.transitions = run.catch(() => {});
    return run;
  }

  private takeOver(epoch: number): Promise<void> {
    return this.transition(async () => {
      if (this.leading !== epoch) return;
      if (this.broker.role === "active") {
        if (this.broker.epoch === epoch) return;
        await this.broker.stepDown(`leading epoch ${epoch} now`);
      }
      try {
        const report = await this.broker.becomeActive(epoch, (holder) => this.mayBreakLock(holder));
        if (this.leading !== epoch) {
          await this.broker.stepDown("leadership ended during the takeover");
          return;
        }
        this.stats.takeovers++;
        this.logger.info("takeover complete", { ...report, term: this.bully.term });
      } catch (error) {
        this.logger.error("takeover failed", { epoch, error: (error as Error).message });
        if (this.leading === epoch) {
          this.leading = null;
          this.post({ type: "revoke" });
          this.apply(this.bully.stepDown());
        }
        // A disk this broker cannot write: let the others win the next election instead of winning and failing again.
        const reason = `takeover failed: ${(error as Error).message}`;
        void probeDisk(this.broker.options.dataDir, this.broker.id).then((works) => works || this.sitOut(reason));
      }
    });
  }

  /** A lock held by a broker the zookeeper no longer lists as alive (or by this one) may be broken at once. */
  private mayBreakLock(holder: LockHolder | null): boolean {
    if (holder === null || holder.brokerId === this.broker.id) return true;
    if (holderProcessIsGone(holder)) return true;
    const entry = this.view?.brokers.find((b) => b.id === holder.brokerId);
    return entry === undefined || !entry.alive;
  }

  /**
   * Acks stop the moment the lease is not held (Broker checks it). The logs
   * stay open for a while, so a zookeeper that restarts can confirm this
   * broker again at the same epoch (no election, no new epoch); a lease
   * missing for two session timeouts is given up, since a zookeeper that is
   * up but out of reach will have declared this broker dead by then.
   */
  private checkLease(): void {
    if (this.leading === null || this.broker.role !== "active") {
      this.leaseMissingSince = null;
      return;
    }
    const now = performance.now();
    if (this.lease.holds(this.leading, now)) {
      this.leaseMissingSince = null;
      return;
    }
    this.leaseMissingSince ??= now;
    if (now - this.leaseMissingSince > 2 * (this.sessionTimeoutMs ?? 0)) {
      void this.leave(`lease not held for ${Math.round(now - this.leaseMissingSince)} ms`);
    }
  }

  private async leave(reason: string): Promise<void> {
    this.leading = null;
    this.leaseMissingSince = null;
    this.post({ type: "revoke" });
    this.apply(this.bully.stepDown());
    await this.transition(async () => {
      if (this.leading !== null || this.broker.role !== "active") return;
      this.stats.stepDowns++;
      await this.broker.stepDown(reason);
    });
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
