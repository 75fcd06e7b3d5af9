/**
 * The zookeeper's broker table and leader-epoch authority. Pure: every `now`
 * is monotonic milliseconds passed in by the caller (a `now` smaller than an
 * earlier one is treated as the earlier one).
 *
 * Liveness
 * - Per broker, heartbeats are ordered by (startedAtMs, incarnation, seq).
 *   Only a heartbeat newer than the last accepted one is accepted; duplicates,
 *   replays, reordered datagrams and older incarnations refresh nothing. A
 *   newer incarnation replaces the entry (the broker restarted).
 * - A broker is alive while now - lastHeartbeatAt <= sessionTimeoutMs.
 *
 * Epochs
 * - highestEpoch is the largest epoch granted or carried by any accepted
 *   heartbeat. retiredEpoch is the largest epoch whose holder this instance
 *   saw die, step down, restart or be superseded: that epoch never leads again.
 * - claimActive(id, epoch) is accepted only after the startup grace, from an
 *   alive broker, while no other broker is the alive active, and for
 *   epoch > highestEpoch. It also counts as proof of life (lastHeartbeatAt =
 *   now) so the claimant's lease, measured from when it sent the claim, ends
 *   before this registry could declare it dead.
 * - A heartbeat with role "active" makes its sender active (how a restarted
 *   zookeeper rebuilds its view) when nobody is active, its epoch is the
 *   highest and it is above retiredEpoch.
 * - The active broker is cleared when it dies, restarts, reports "standby"
 *   with an epoch >= its active epoch (an older epoch means the datagram was
 *   sent before its claim), or when any heartbeat carries a newer epoch.
 *
 * Elections: electionNeeded = startup grace over, some broker alive and no
 * alive active. The grace (default one session timeout) lets a restarted
 * zookeeper hear the active broker's heartbeat before it asks for an election.
 */
import type { BrokerInfo, ClusterView, Heartbeat, HeartbeatAck } from "../protocol/heartbeat-codec";
import { MAX_VIEW_BROKERS } from "../protocol/heartbeat-codec";

export interface RegistryOptions {
  sessionTimeoutMs: number;
  /** ms after `startedAt` before electionNeeded may be raised or a claim accepted */
  startupGraceMs?: number;
  /**
   * electionNeeded waits until no broker has joined for this long, so brokers
   * started together all take part and the highest id wins (default half a
   * session timeout).
   */
  joinSettleMs?: number;
  maxBrokers?: number;
  /** random id of this zookeeper process, echoed in every ack */
  zkIncarnation: number;
}

export interface BrokerEntry {
  readonly hb: Heartbeat;
  lastHeartbeatAt: number;
  alive: boolean;
}

export type HeartbeatRejection = "stale-seq" | "old-incarnation" | "table-full";
export type HeartbeatOutcome = { accepted: true; ack: HeartbeatAck } | { accepted: false; reason: HeartbeatRejection };

export type ClaimRejection = "starting" | "not-alive" | "active-alive" | "stale-epoch";
export type ClaimOutcome =
  | { accepted: true; epoch: number; view: ClusterView }
  | { accepted: false; reason: ClaimRejection; view: ClusterView };

export type ActiveLostReason = "died" | "stepped-down" | "restarted" | "superseded";

export type RegistryEvent =
  | { type: "broker-joined"; id: number }
  | { type: "broker-restarted"; id: number }
  | { type: "broker-revived"; id: number }
  | { type: "broker-died"; id: number }
  | { type: "active-changed"; id: number; epoch: number; via: "claim" | "heartbeat" }
  | { type: "active-lost"; id: number; epoch: number; reason: ActiveLostReason }
  | { type: "election-needed" };

export interface RegistryCounters {
  heartbeatsAccepted: number;
  heartbeatsRejected: number;
  brokersDeclaredDead: number;
  electionsSignalled: number;
}

export class BrokerRegistry {
  private readonly brokers = new Map<number, BrokerEntry>();
  private readonly sessionTimeoutMs: number;
  private readonly graceEndsAt: number;
  private readonly joinSettleMs: number;
  private lastJoinAt = -Infinity;
  private readonly maxBrokers: number;
  private readonly zkIncarnation: number;
  private now: number;
  private activeId: number | null = null;
  private activeEpoch = 0;
  private highestEpoch = 0;
  private retiredEpoch = 0;
  private electionNeeded = false;
  private events: RegistryEvent[] = [];
  readonly counters: RegistryCounters = {
    heartbeatsAccepted: 0,
    heartbeatsRejected: 0,
    brokersDeclaredDead: 0,
    electionsSignalled: 0,
  };

  constructor(options: RegistryOptions, startedAt: number) {
    this.sessionTimeoutMs = options.sessionTimeoutMs;
    this.graceEndsAt = startedAt + (options.startupGraceMs ?? options.sessionTimeoutMs);
    this.joinSettleMs = options.joinSettleMs ?? Math.floor(options.sessionTimeoutMs / 2);
    this.maxBrokers = options.maxBrokers ?? MAX_VIEW_BROKERS;
    this.zkIncarnation = options.zkIncarnation;
    this.now = startedAt;
  }

  onHeartbeat(hb: Heartbeat, now: number): HeartbeatOutcome {
    this.advance(now);
    const reason = this.admit(hb);
    if (reason !== null) {
      this.counters.heartbeatsRejected++;
      return { accepted: false, reason };
    }
    this.counters.heartbeatsAccepted++;
    this.raiseHighestEpoch(hb.epoch);
    if (hb.role === "active") {
      if (this.activeId === null && hb.epoch === this.highestEpoch && hb.epoch > this.retiredEpoch) {
        this.setActive(hb.brokerId, hb.epoch, "heartbeat");
      }
    } else if (this.activeId === hb.brokerId && hb.epoch >= this.activeEpoch) {
      this.retireActive("stepped-down");
    }
    this.settle();
    const ack = { zkIncarnation: this.zkIncarnation, brokerId: hb.brokerId, incarnation: hb.incarnation, seq: hb.seq };
    return { accepted: true, ack: { ...ack, view: this.snapshot() } };
  }

  claimActive(brokerId: number, epoch: number, now: number): ClaimOutcome {
    this.advance(now);
    const reason = this.claimRejection(brokerId, epoch);
    if (reason !== null) return { accepted: false, reason, view: this.snapshot() };
    this.brokers.get(brokerId)!.lastHeartbeatAt = this.now;
    this.highestEpoch = epoch;
    this.setActive(brokerId, epoch, "claim");
    this.settle();
    return { accepted: true, epoch, view: this.snapshot() };
  }

  /** Expires brokers and returns every event since the previous call. */
  tick(now: number): RegistryEvent[] {
    this.advance(now);
    const events = this.events;
    this.events = [];
    return events;
  }

  view(now: number): ClusterView {
    this.advance(now);
    return this.snapshot();
  }

  entry(id: number): Readonly<BrokerEntry> | undefined {
    return this.brokers.get(id);
  }

  private admit(hb: Heartbeat): HeartbeatRejection | null {
    const known = this.brokers.get(hb.brokerId);
    if (known === undefined) {
      if (this.brokers.size >= this.maxBrokers && !this.evictOneDead()) return "table-full";
      this.brokers.set(hb.brokerId, { hb, lastHeartbeatAt: this.now, alive: true });
      this.lastJoinAt = this.now;
      this.emit({ type: "broker-joined", id: hb.brokerId });
      return null;
    }
    const order = compareIncarnations(hb, known.hb);
    if (order < 0) return "old-incarnation";
    if (order === 0 && hb.seq <= known.hb.seq) return "stale-seq";
    if (order > 0) {
      if (this.activeId === hb.brokerId) this.retireActive("restarted");
      this.emit({ type: "broker-restarted", id: hb.brokerId });
      this.lastJoinAt = this.now;
    } else if (!known.alive) {
      this.emit({ type: "broker-revived", id: hb.brokerId });
      this.lastJoinAt = this.now;
    }
    this.brokers.set(hb.brokerId, { hb, lastHeartbeatAt: this.now, alive: true });
    return null;
  }

  private claimRejection(brokerId: number, epoch: number): ClaimRejection | null {
    if (this.now < this.graceEndsAt) return "starting";
    if (this.brokers.get(brokerId)?.alive !== true) return "not-alive";
    if (this.activeId !== null && this.activeId !== brokerId) return "active-alive";
    if (!Number.isSafeInteger(epoch) || epoch <= this.highestEpoch) return "stale-epoch";
    return null;
  }

  private evictOneDead(): boolean {
    let oldest: BrokerEntry | undefined;
    for (const e of this.brokers.values()) {
      if (!e.alive && (oldest === undefined || e.lastHeartbeatAt < oldest.lastHeartbeatAt)) oldest = e;
    }
    if (oldest === undefined) return false;
    this.brokers.delete(oldest.hb.brokerId);
    return true;
  }

  private raiseHighestEpoch(epoch: number): void {
    if (epoch <= this.highestEpoch) return;
    this.highestEpoch = epoch;
    if (this.activeId !== null && this.activeEpoch < epoch) this.retireActive("superseded");
  }

  private setActive(id: number, epoch: number, via: "claim" | "heartbeat"): void {
    this.activeId = id;
    this.activeEpoch = epoch;
    this.emit({ type: "active-changed", id, epoch, via });
  }

  private retireActive(reason: ActiveLostReason): void {
    if (this.activeId === null) return;
    this.emit({ type: "active-lost", id: this.activeId, epoch: this.activeEpoch, reason });
    this.retiredEpoch = Math.max(this.retiredEpoch, this.activeEpoch);
    this.activeId = null;
  }

  private advance(now: number): void {
    if (now > this.now) this.now = now;
    for (const e of this.brokers.values()) {
      if (!e.alive || this.now - e.lastHeartbeatAt <= this.sessionTimeoutMs) continue;
      e.alive = false;
      this.counters.brokersDeclaredDead++;
      this.emit({ type: "broker-died", id: e.hb.brokerId });
      if (this.activeId === e.hb.brokerId) this.retireActive("died");
    }
    this.settle();
  }

  /** Raises the election signal on its false → true edge. */
  private settle(): void {
    let anyAlive = false;
    for (const e of this.brokers.values()) anyAlive ||= e.alive;
    const settled = this.now - this.lastJoinAt >= this.joinSettleMs;
    const needed = this.now >= this.graceEndsAt && settled && anyAlive && this.activeId === null;
    if (needed && !this.electionNeeded) {
      this.counters.electionsSignalled++;
      this.emit({ type: "election-needed" });
    }
    this.electionNeeded = needed;
  }

  private snapshot(): ClusterView {
    const brokers: BrokerInfo[] = [...this.brokers.values()]
      .sort((a, b) => a.hb.brokerId - b.hb.brokerId)
      .map(({ hb, alive }) => ({
        id: hb.brokerId,
        clientHost: hb.clientHost,
        clientPort: hb.clientPort,
        electionHost: hb.electionHost,
        electionPort: hb.electionPort,
        role: hb.brokerId === this.activeId ? "active" : "standby",
        alive,
      }));
    return { activeBrokerId: this.activeId, epoch: this.highestEpoch, electionNeeded: this.electionNeeded, brokers };
  }

  private emit(event: RegistryEvent): void {
    this.events.push(event);
  }
}

function compareIncarnations(a: Heartbeat, b: Heartbeat): number {
  if (a.startedAtMs !== b.startedAtMs) return a.startedAtMs < b.startedAtMs ? -1 : 1;
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1;
  return 0;
}
