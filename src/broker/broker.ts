/**
 * A broker: the client port, and — while it is the active broker — the data
 * directory's logs. Standby brokers answer data requests with NOT_LEADER and
 * where the active broker is.
 *
 * With a cluster secret (`auth`) every client connection authenticates first
 * (src/auth/secure-accept.ts), and with a users file each user's requests are
 * authorized per topic and group (src/auth/broker-authorizer.ts).
 */
import { authorizeHandlers } from "../auth/broker-authorizer";
import { acceptAuthenticated } from "../auth/secure-accept";
import type { ServerAuth } from "../auth/server-auth";
import { KafkaCloneError } from "../errors";
import { createLogger, type Logger } from "../logger";
import { lockDataDir, holderProcessIsGone, readLockHolder, type DataDirLock, type LockHolder } from "../log/data-dir-lock";
import { readLeaderEpoch, writeLeaderEpoch } from "../log/leader-epoch-file";
import type { LogConfig } from "../log/log-config";
import { LogManager } from "../log/log-manager";
import { type LogObserver, timedFileIO } from "../log/log-observer";
import { type FileIO, nodeFileIO, storageError } from "../log/file-io";
import { RpcDispatcher } from "../net/rpc-server";
import { listenTcp, type TcpServer } from "../net/tcp";
import type { MetadataResponse } from "../protocol/api";
import type { BrokerAddress } from "../protocol/envelope";
import { type BrokerObserver, instrumentHandlers } from "./broker-observer";
import { ClientSession } from "./client-session";
import { GroupCoordinator, type GroupCoordinatorOptions } from "./groups/group-coordinator";
import { clientHandlers } from "./handler-table";
import type { BrokerServices, Leadership } from "./request-handler";
import { DiskGuard } from "./disk-guard";
import { FsyncWatch } from "./fsync-watch";

export interface BrokerOptions {
  id: number;
  host: string;
  port: number;
  dataDir: string;
  maxFrameBytes: number;
  logDefaults?: Partial<LogConfig>;
  maxConnections?: number;
  /** A request not answered within this long gets REQUEST_TIMED_OUT (default 30 s; 0 = no limit). */
  requestTimeoutMs?: number;
  /** A frame must arrive in full this long after its first byte, and a new connection send its first one (default 30 s). */
  frameTimeoutMs?: number;
  /** Bytes of partly received frames held across all client connections (default 256 MiB). */
  receiveBudgetBytes?: number;
  /** An fdatasync outstanding longer than this makes the disk unusable (default 15 s; 0 = never). */
  fsyncTimeoutMs?: number;
  /** The log's file operations (tests inject faults here); the real ones by default. */
  io?: FileIO;
  /** How often recovery points are checkpointed. */
  checkpointIntervalMs?: number;
  groups?: Omit<GroupCoordinatorOptions, "logger">;
  observer?: BrokerObserver;
  /** The cluster secret (and users file), when the cluster uses one. */
  auth?: ServerAuth;
}

interface ActiveState extends Leadership {
  lock: DataDirLock;
  fsyncs: FsyncWatch;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface TakeoverReport {
  epoch: number;
  partitions: number;
  scannedBytes: number;
  truncatedBytes: number;
  durationMs: number;
}

export class Broker implements BrokerServices {
  private server: TcpServer | null = null;
  private active: ActiveState | null = null;
  private knownLeader: BrokerAddress | undefined;
  /** In a cluster: whether the zookeeper lease for `epoch` is held right now. */
  private leaseHolds: (epoch: number) => boolean = () => true;
  private readonly dispatcher: RpcDispatcher<ClientSession>;
  private readonly sessions = new Set<ClientSession>();
  private readonly logger: Logger;
  /** What an unusable disk does to this broker (see storage-health.ts). */
  private readonly disk: DiskGuard;
  private onSteppedDown: (reason: string, epoch: number) => void = () => {};

  constructor(readonly options: BrokerOptions) {
    this.logger = createLogger(`broker-${options.id}`);
    this.disk = new DiskGuard({
      id: options.id,
      dataDir: options.dataDir,
      epoch: () => this.epoch,
      activeLogs: () => this.active,
      stepDown: (reason) => this.stepDown(reason),
      reopen: async () => ({ ...(await this.becomeActive(this.nextStandaloneEpoch())) }),
    }, this.logger);
    const observer = options.observer ?? {};
    const handlers = options.auth?.users ? authorizeHandlers(clientHandlers(this), options.auth) : clientHandlers(this);
    this.dispatcher = new RpcDispatcher(instrumentHandlers(handlers, observer), {
      openSession: (connection) => {
        const session = new ClientSession(connection, observer.recordsSent);
        this.sessions.add(session);
        return session;
      },
      closeSession: (session) => {
        this.sessions.delete(session);
        session.closeSubscriptions();
      },
      drained: (session) => session.resume(),
      leaderHint: () => this.knownLeader,
    }, this.logger, { requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
  }

  get id(): number {
    return this.options.id;
  }

  get port(): number {
    if (!this.server) throw new Error("broker is not listening");
    return this.server.port;
  }

  get address(): BrokerAddress {
    return { id: this.id, host: this.options.host, port: this.port };
  }

  get role(): "active" | "standby" {
    return this.active ? "active" : "standby";
  }

  get epoch(): number {
    return this.active?.epoch ?? 0;
  }

  get logs(): LogManager | null {
    return this.active?.logs ?? null;
  }

  listen(): void {
    this.server = listenTcp({
      host: this.options.host,
      port: this.options.port,
      maxFrameBytes: this.options.maxFrameBytes,
      maxConnections: this.options.maxConnections,
      frameTimeoutMs: this.options.frameTimeoutMs,
      receiveBudgetBytes: this.options.receiveBudgetBytes,
      accept: (connection) => {
        const auth = this.options.auth;
        if (!auth) return this.dispatcher.accept(connection);
        return acceptAuthenticated(connection, { auth, allowUsers: true, name: `broker ${this.id}`, logger: this.logger }, () => this.dispatcher.accept(connection));
      },
    });
    this.disk.start(this.options.fsyncTimeoutMs);
  }

  /**
   * Takes over the data directory at `epoch`: lock, record the epoch, recover
   * every partition, start fresh segments, serve. `mayBreakLock` decides
   * whether a lock still held by someone else may be broken.
   */
  async becomeActive(epoch: number, mayBreakLock: (holder: LockHolder | null) => boolean = holderProcessIsGone): Promise<TakeoverReport> {
    if (this.active) throw new KafkaCloneError("INVALID_REQUEST", "already active");
    const started = performance.now();
    const lock = await lockDataDir(this.options.dataDir, {
      brokerId: this.id,
      epoch,
      mayBreak: mayBreakLock,
      onCompromised: (error) => {
        if (this.active === null) return;
        // An unusable disk cannot keep the lock fresh either; those logs write nothing any more, so they may go on serving reads.
        if (this.disk.hasFailed(this.active.logs)) return;
        void this.stepDown(`data directory lock compromised: ${error.message}`);
      },
    }).catch((error: unknown) => {
      throw error instanceof KafkaCloneError ? error : storageError(`locking data directory ${this.options.dataDir}`, error);
    });
    let logs: LogManager | null = null;
    const fsyncs = new FsyncWatch();
    const io = fsyncs.wrap(this.options.io ?? nodeFileIO);
    let groups: GroupCoordinator;
    try {
      const onDisk = readLeaderEpoch(this.options.dataDir);
      if (epoch <= onDisk) throw new KafkaCloneError("FENCED_LEADER_EPOCH", `epoch ${epoch} is not newer than ${onDisk} on disk`);
      writeLeaderEpoch(this.options.dataDir, epoch);
      logs = LogManager.open(this.options.dataDir, {
        defaults: this.options.logDefaults,
        checkpointIntervalMs: this.options.checkpointIntervalMs,
        logger: this.logger.child("log"),
        isFenced: () => this.epochOnDiskMovedPast(epoch),
        io: this.options.observer?.fsync ? timedFileIO(io, this.options.observer.fsync) : io,
        observer: this.logObserver(),
      });
      logs.startFreshSegments();
      // Committed offsets are replayed from __consumer_offsets before anyone is served.
      groups = new GroupCoordinator(logs, epoch, { ...this.options.groups, logger: this.logger.child("groups") });
    } catch (error) {
      await logs?.close().catch(() => {});
      await lock.release();
      throw error instanceof KafkaCloneError ? error : storageError(`taking over data directory ${this.options.dataDir}`, error);
    }
    this.active = { logs, epoch, lock, groups, fsyncs };
    this.knownLeader = this.address;
    const reports = [...logs.recoveryReports.values()];
    const report: TakeoverReport = {
      epoch,
      partitions: reports.length,
      scannedBytes: reports.reduce((sum, r) => sum + r.scannedBytes, 0),
      truncatedBytes: reports.reduce((sum, r) => sum + r.truncatedBytes, 0),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    };
    // The caller logs the takeover once, with its own context (election term, standalone).
    this.options.observer?.takeover?.(report);
    return report;
  }

  /** Storage errors are logged here, once each, whoever else watches. */
  private logObserver(): LogObserver {
    const outer = this.options.observer?.log;
    return {
      appended: outer?.appended,
      storageError: (topic, partition, error) => {
        this.logger.error("storage error: the partition acknowledges nothing more until the broker takes over again", {
          topic,
          partition,
          code: error.code,
          error: error.message,
        });
        outer?.storageError?.(topic, partition, error);
        const logs = this.active?.logs;
        if (logs) this.disk.storageError(logs, topic, partition, error);
      },
    };
  }

  /** A cluster member takes over what follows an unusable disk (it steps down and lets another broker lead). */
  setDiskUnusableHandler(handler: (reason: string) => void): void {
    this.disk.setHandler(handler);
  }

  /** A newer leader wrote its epoch (an unreadable file counts too: ownership cannot be shown). */
  private epochOnDiskMovedPast(epoch: number): boolean {
    try {
      return readLeaderEpoch(this.options.dataDir) > epoch;
    } catch {
      return true;
    }
  }

  /** The next epoch for a broker that leads on its own (standalone mode). */
  nextStandaloneEpoch(): number {
    return readLeaderEpoch(this.options.dataDir) + 1;
  }

  /** Called after every step-down, whoever asked for it (a compromised lock steps down from in here). */
  setStepDownListener(listener: (reason: string, epoch: number) => void): void {
    this.onSteppedDown = listener;
  }

  /**
   * Stops serving data: subscriptions end with NOT_LEADER, logs close, the
   * lock is released — unless another broker holds it by now: a deposed
   * broker releasing "its" lock would delete the new leader's (it broke this
   * one's and took the same lock file), whose lock would then be compromised.
   */
  async stepDown(reason: string): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.active = null;
    if (this.knownLeader?.id === this.id) this.knownLeader = undefined;
    this.logger.warn("stepping down", { reason, epoch: active.epoch });
    const notLeader = new KafkaCloneError("NOT_LEADER", `broker ${this.id} stepped down: ${reason}`);
    for (const session of this.sessions) {
      for (const subscription of session.subscriptions.values()) subscription.failAll(notLeader);
      session.closeSubscriptions();
    }
    active.groups.close();
    await active.logs.close().catch((error) => this.logger.error("closing logs failed", { error: (error as Error).message }));
    const holder = readLockHolder(this.options.dataDir);
    const mine = holder === null || (holder.brokerId === this.id && holder.pid === process.pid && holder.epoch === active.epoch);
    if (mine) await active.lock.release();
    else active.lock.abandon();
    this.logger.info("stepped down", {
      epoch: active.epoch,
      lock: mine ? "released" : `left to broker ${holder!.brokerId} (epoch ${holder!.epoch}, pid ${holder!.pid})`,
    });
    this.onSteppedDown(reason, active.epoch);
  }

  setLeaseCheck(check: (epoch: number) => boolean): void {
    this.leaseHolds = check;
  }

  setKnownLeader(leader: BrokerAddress | undefined): void {
    this.knownLeader = leader;
  }

  async stop(): Promise<void> {
    this.disk.stop();
    await this.stepDown("shutting down");
    this.server?.stop();
    this.server = null;
  }

  // BrokerServices

  /**
   * The logs, only while this broker is active and holds its lease: a broker
   * resumed after a pause must not write even the requests that waited in its
   * sockets, since another broker may have taken over meanwhile.
   */
  requireActive(): Leadership {
    if (!this.active) {
      const leader = this.knownLeader;
      throw new KafkaCloneError(
        "NOT_LEADER",
        leader ? `broker ${this.id} is standby; broker ${leader.id} at ${leader.host}:${leader.port} is active` : `broker ${this.id} is standby`,
      );
    }
    if (!this.leaseHolds(this.active.epoch)) {
      throw new KafkaCloneError("NOT_LEADER", `broker ${this.id} does not hold its lease for epoch ${this.active.epoch} right now`);
    }
    return this.active;
  }

  confirmLeadership(epoch: number): void {
    if (!this.active || this.active.epoch !== epoch) {
      throw new KafkaCloneError("NOT_LEADER", `broker ${this.id} no longer leads epoch ${epoch}`);
    }
    if (!this.leaseHolds(epoch)) {
      throw new KafkaCloneError("NOT_LEADER", `broker ${this.id} lost its lease for epoch ${epoch}; the writes may or may not be in the log`);
    }
  }

  metadata(topics?: string[]): MetadataResponse {
    const logs = this.active?.logs;
    const names = logs ? (topics ?? logs.listTopics()).filter((name) => logs.hasTopic(name)) : [];
    return {
      brokerId: this.id,
      role: this.role,
      activeBroker: this.knownLeader ?? null,
      epoch: this.epoch,
      brokers: [this.address],
      topics: names.map((name) => ({ name, partitions: logs!.partitionCount(name) })),
    };
  }

  leaderAddress(): BrokerAddress | undefined {
    return this.knownLeader;
  }
}
