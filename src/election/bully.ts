/**
 * The bully election as a pure state machine: inputs are method calls, outputs
 * are returned lists of actions (see election-types.ts) that the host carries
 * out in order. No sockets, no clocks; timers are requested by id.
 *
 * Terms
 * - Every message carries a term. A message with a term below the highest
 *   seen is stale and changes nothing; a stale ELECTION from a lower id is
 *   still answered (ANSWER, or COORDINATOR from the leader) at our term so
 *   its sender catches up instead of claiming. A higher term is adopted and
 *   persisted (persistTerm) before anything is sent.
 * - start() takes term = highest seen + 1. Joining another broker's election
 *   (on its ELECTION) uses that election's term.
 *
 * Rounds
 * - Electing: send ELECTION to every live higher id in the latest view and
 *   wait answerTimeoutMs; with no live higher id, claim at once.
 * - No ANSWER in time: claimActive (the host asks the zookeeper for `epoch`).
 *   Accepted → becomeLeader and send COORDINATOR to every other live broker.
 *   Rejected, or no result within claimTimeoutMs → back off claimBackoffMs,
 *   then act on the latest view.
 * - ANSWER from a higher id: wait coordinatorTimeoutMs for COORDINATOR, then
 *   start again with a new term.
 * - ELECTION from a lower id: the leader replies COORDINATOR (it is never
 *   pre-empted); anyone else replies ANSWER and joins unless it is already
 *   electing in that term or newer, claiming, or backing off.
 * - COORDINATOR with an epoch >= the highest known: follow its sender,
 *   whatever its id (a returning higher id joins as standby).
 *
 * Views (acks to this broker's own heartbeats, and claim outcomes)
 * - A view with an epoch below the highest known is stale and ignored.
 * - A healthy active other than us: follow it (a leader steps down).
 * - Electing, and no live higher id is left in the view: claim at once
 *   (the round began on an older view that still listed one alive).
 * - electionNeeded: a leader steps down; an idle or following broker starts
 *   an election at once. No active without electionNeeded means the
 *   zookeeper is starting up: nothing changes.
 * - Naming us active, at an epoch at least the one we asked for, while we
 *   claim or back off: the claim was accepted (its result may come later or
 *   never; the host may have asked for a higher epoch than suggested).
 */
import type { ClusterView } from "../protocol/heartbeat-codec";
import type { BullyAction, ElectionMessage, TimerId } from "./election-types";

export interface BullyOptions extends Partial<BullyTimeouts> {
  selfId: number;
  /** the highest term persisted by this broker's previous runs (0 if none) */
  persistedTerm: number;
  /** the leader epoch found in the data directory at startup, so a claim starts above it */
  initialEpoch?: number;
}

export interface BullyTimeouts {
  answerTimeoutMs: number;
  coordinatorTimeoutMs: number;
  claimTimeoutMs: number;
  claimBackoffMs: number;
}

/**
 * answerTimeoutMs is only waited out when a broker the view lists as alive
 * does not answer (a crashed one is not listed by then), so it costs nothing
 * in an ordinary failover; 150 ms let a lower id win on a busy machine where
 * the higher one took longer than that to answer.
 */
export const DEFAULT_TIMEOUTS: Readonly<BullyTimeouts> = {
  answerTimeoutMs: 300,
  coordinatorTimeoutMs: 500,
  claimTimeoutMs: 1000,
  claimBackoffMs: 300,
};

export type BullyPhase = "idle" | "electing" | "awaiting-coordinator" | "claiming" | "backoff" | "leader" | "follower";

export class BullyElection {
  readonly selfId: number;
  private readonly timeouts: BullyTimeouts;
  private highestTerm: number;
  private electionTerm = 0;
  private knownEpoch = 0;
  /** the epoch suggested by the latest claimActive */
  private claimedEpoch = 0;
  private currentPhase: BullyPhase = "idle";
  private leader: number | null = null;
  private view: ClusterView | null = null;
  private readonly armed = new Set<TimerId>();
  private out: BullyAction[] = [];

  constructor(options: BullyOptions) {
    this.selfId = options.selfId;
    this.highestTerm = options.persistedTerm;
    this.knownEpoch = options.initialEpoch ?? 0;
    this.timeouts = {
      answerTimeoutMs: options.answerTimeoutMs ?? DEFAULT_TIMEOUTS.answerTimeoutMs,
      coordinatorTimeoutMs: options.coordinatorTimeoutMs ?? DEFAULT_TIMEOUTS.coordinatorTimeoutMs,
      claimTimeoutMs: options.claimTimeoutMs ?? DEFAULT_TIMEOUTS.claimTimeoutMs,
      claimBackoffMs: options.claimBackoffMs ?? DEFAULT_TIMEOUTS.claimBackoffMs,
    };
  }

  get phase(): BullyPhase {
    return this.currentPhase;
  }

  /** The highest term seen; the host puts it in heartbeats. */
  get term(): number {
    return this.highestTerm;
  }

  /** The highest leader epoch known; the host puts it in heartbeats. */
  get epoch(): number {
    return this.knownEpoch;
  }

  get leaderId(): number | null {
    return this.leader;
  }

  /** Starts a new round now, unless this broker leads (a leader is never pre-empted, not even by itself). */
  start(_reason: string): BullyAction[] {
    return this.run(() => {
      if (this.currentPhase !== "leader") this.beginElection(this.highestTerm + 1);
    });
  }

  /** Leadership lost outside the election (lease lapsed, disk failed): become a plain standby. */
  stepDown(): BullyAction[] {
    return this.run(() => {
      if (this.currentPhase === "leader") this.leaveLeadership();
    });
  }

  onMessage(from: number, msg: ElectionMessage): BullyAction[] {
    return this.run(() => {
      if (msg.from !== from || from === this.selfId) return;
      if (msg.term < this.highestTerm) {
        if (msg.type === "ELECTION" && from < this.selfId) this.replyToElection(from);
        return;
      }
      this.adoptTerm(msg.term);
      if (msg.type === "ELECTION") this.onElection(from, msg.term);
      else if (msg.type === "ANSWER") this.onAnswer(from, msg.term);
      else this.onCoordinator(from, msg.epoch);
    });
  }

  onTimeout(id: TimerId): BullyAction[] {
    return this.run(() => {
      if (!this.armed.delete(id)) return;
      if (id === "answer" && this.currentPhase === "electing") this.requestClaim();
      else if (id === "coordinator" && this.currentPhase === "awaiting-coordinator") {
        this.beginElection(this.highestTerm + 1);
      } else if (id === "claim" && this.currentPhase === "claiming") this.backOff();
      else if (id === "backoff" && this.currentPhase === "backoff") {
        this.currentPhase = "idle";
        if (this.view !== null) this.reactToView(this.view);
      }
    });
  }

  onView(view: ClusterView): BullyAction[] {
    return this.run(() => {
      if (view.epoch < this.knownEpoch) return;
      this.knownEpoch = view.epoch;
      this.view = view;
      this.reactToView(view);
    });
  }

  /** The zookeeper's answer to claimActive; `epoch` is the granted one, or its current epoch on rejection. */
  onClaimResult(accepted: boolean, epoch: number): BullyAction[] {
    return this.run(() => {
      if (accepted && epoch > this.knownEpoch) {
        this.becomeLeader(epoch);
        return;
      }
      this.knownEpoch = Math.max(this.knownEpoch, epoch);
      if (!accepted && this.currentPhase === "claiming") this.backOff();
    });
  }

  private run(body: () => void): BullyAction[] {
    this.out = [];
    body();
    return this.out;
  }

  private reactToView(view: ClusterView): void {
    const active = view.activeBrokerId;
    if (active === this.selfId) {
      const claiming = this.currentPhase === "claiming" || this.currentPhase === "backoff";
      if (claiming && view.epoch >= this.claimedEpoch) this.becomeLeader(view.epoch);
      return;
    }
    if (active !== null) {
      if (this.currentPhase !== "follower" || this.leader !== active) this.follow(active);
      return;
    }
    // Electing on an older view (a lower id's ELECTION came first) that still listed a higher id
    // alive: once it is gone from the view there is nobody to wait for.
    if (this.currentPhase === "electing" && this.liveIds().every((id) => id <= this.selfId)) {
      this.cancel("answer");
      this.requestClaim();
      return;
    }
    if (!view.electionNeeded) return;
    if (this.currentPhase === "leader") this.leaveLeadership();
    if (this.currentPhase === "idle" || this.currentPhase === "follower") this.beginElection(this.highestTerm + 1);
  }

  private onElection(from: number, term: number): void {
    if (from > this.selfId) return;
    this.replyToElection(from);
    const p = this.currentPhase;
    if (p === "leader" || p === "claiming" || p === "backoff") return;
    if ((p === "electing" || p === "awaiting-coordinator") && this.electionTerm >= term) return;
    this.beginElection(term);
  }

  private replyToElection(to: number): void {
    const base = { term: this.highestTerm, from: this.selfId };
    const message: ElectionMessage =
      this.currentPhase === "leader" ? { type: "COORDINATOR", ...base, epoch: this.knownEpoch } : { type: "ANSWER", ...base };
    this.out.push({ type: "send", to, message });
  }

  private onAnswer(from: number, term: number): void {
    if (from < this.selfId || this.currentPhase !== "electing" || term < this.electionTerm) return;
    this.cancel("answer");
    this.electionTerm = term;
    this.currentPhase = "awaiting-coordinator";
    this.arm("coordinator", this.timeouts.coordinatorTimeoutMs);
  }

  private onCoordinator(from: number, epoch: number): void {
    if (epoch < this.knownEpoch) return;
    if (this.currentPhase === "leader" && epoch === this.knownEpoch) return;
    this.knownEpoch = epoch;
    if (this.currentPhase !== "follower" || this.leader !== from) this.follow(from);
  }

  private beginElection(term: number): void {
    if (this.currentPhase === "leader") this.leaveLeadership();
    this.cancelAll();
    this.adoptTerm(term);
    this.electionTerm = term;
    this.leader = null;
    this.currentPhase = "electing";
    const higher = this.liveIds().filter((id) => id > this.selfId);
    if (higher.length === 0) {
      this.requestClaim();
      return;
    }
    for (const to of higher) this.out.push({ type: "send", to, message: { type: "ELECTION", term, from: this.selfId } });
    this.arm("answer", this.timeouts.answerTimeoutMs);
  }

  private requestClaim(): void {
    this.currentPhase = "claiming";
    this.claimedEpoch = this.knownEpoch + 1;
    this.out.push({ type: "claimActive", term: this.electionTerm, epoch: this.claimedEpoch });
    this.arm("claim", this.timeouts.claimTimeoutMs);
  }

  private backOff(): void {
    this.cancelAll();
    this.currentPhase = "backoff";
    this.arm("backoff", this.timeouts.claimBackoffMs);
  }

  private becomeLeader(epoch: number): void {
    this.cancelAll();
    this.knownEpoch = epoch;
    this.currentPhase = "leader";
    this.leader = this.selfId;
    this.out.push({ type: "becomeLeader", term: this.highestTerm, epoch });
    const message: ElectionMessage = { type: "COORDINATOR", term: this.highestTerm, from: this.selfId, epoch };
    for (const to of this.liveIds()) if (to !== this.selfId) this.out.push({ type: "send", to, message });
  }

  private follow(leaderId: number): void {
    if (this.currentPhase === "leader") this.leaveLeadership();
    this.cancelAll();
    this.currentPhase = "follower";
    this.leader = leaderId;
    this.out.push({ type: "followLeader", leaderId, term: this.highestTerm, epoch: this.knownEpoch });
  }

  private leaveLeadership(): void {
    this.currentPhase = "idle";
    this.leader = null;
    this.out.push({ type: "stepDown" });
  }

  private adoptTerm(term: number): void {
    if (term <= this.highestTerm) return;
    this.highestTerm = term;
    this.out.push({ type: "persistTerm", term });
  }

  private liveIds(): number[] {
    return (this.view?.brokers ?? []).filter((b) => b.alive).map((b) => b.id);
  }

  private arm(id: TimerId, ms: number): void {
    this.armed.add(id);
    this.out.push({ type: "setTimer", id, ms });
  }

  private cancel(id: TimerId): void {
    if (this.armed.delete(id)) this.out.push({ type: "cancelTimer", id });
  }

  private cancelAll(): void {
    for (const id of [...this.armed]) this.cancel(id);
  }
}
