/**
 * A deterministic cluster simulator: N bully state machines, each with a
 * heartbeat sender and a leader lease, wired to one zookeeper registry
 * through an in-memory network, on a virtual clock with a timer queue.
 * Tests can drop, duplicate and delay packets, kill, revive, pause (SIGSTOP)
 * and resume nodes, and restart the zookeeper. After every event it checks
 * the safety invariants: at most one broker may acknowledge writes (leader
 * phase with a valid lease) and no epoch is ever led twice. It also models
 * the shared data directory's leader-epoch file (read at startup, checked
 * and written at takeover).
 */
import { BullyElection, type BullyTimeouts } from "../../../src/election/bully";
import type { BullyAction, ElectionMessage, TimerId } from "../../../src/election/election-types";
import { LeaderLease } from "../../../src/election/leader-lease";
import type { HeartbeatAck } from "../../../src/protocol/heartbeat-codec";
import { HeartbeatSender } from "../../../src/zookeeper/heartbeat-sender";
import { BrokerRegistry, type RegistryEvent } from "../../../src/zookeeper/registry";
import { mulberry32 } from "../../seeded-random";
export { mulberry32 };

export type Packet =
  | { kind: "election"; from: number; to: number; message: ElectionMessage }
  | { kind: "heartbeat"; from: number }
  | { kind: "ack"; to: number; ack: HeartbeatAck }
  | { kind: "claim"; from: number; epoch: number }
  | { kind: "claim-result"; to: number; accepted: boolean };
export type Verdict = "deliver" | "drop" | "duplicate" | { delayMs: number };

export interface SimOptions {
  ids: number[];
  seed?: number;
  sessionTimeoutMs?: number;
  heartbeatMs?: number;
  leaseMs?: number;
  maxLatencyMs?: number;
  bully?: Partial<BullyTimeouts>;
}

export class SimNode {
  gen = 0;
  alive = true;
  paused = false;
  held: Array<() => void> = [];
  readonly disk = { term: 0 };
  readonly timers = new Map<TimerId, number>();
  readonly actions: BullyAction[] = [];
  claimSentAt = 0;
  /** the highest leader epoch this process read from the shared data directory */
  diskEpochSeen = 0;
  bully!: BullyElection;
  sender!: HeartbeatSender;
  lease!: LeaderLease;
  constructor(readonly id: number) {}
}

interface Scheduled {
  at: number;
  seq: number;
  run: () => void;
}

export class Simulator {
  now = 0;
  /** the data directory's leader-epoch file, shared by all brokers */
  diskEpoch = 0;
  readonly abortedTakeovers: Array<{ id: number; epoch: number }> = [];
  filter: (p: Packet) => Verdict = () => "deliver";
  zk: BrokerRegistry | null;
  readonly nodes = new Map<number, SimNode>();
  readonly leaderships: Array<{ id: number; epoch: number; at: number }> = [];
  readonly zkEvents: RegistryEvent[] = [];
  private queue: Scheduled[] = [];
  private seq = 0;
  private rng: () => number;
  private readonly o: Required<Omit<SimOptions, "bully">> & { bully: Partial<BullyTimeouts> };

  constructor(options: SimOptions) {
    this.o = { seed: 1, sessionTimeoutMs: 500, heartbeatMs: 100, leaseMs: 300, maxLatencyMs: 5, bully: {}, ...options };
    this.rng = mulberry32(this.o.seed);
    this.zk = this.newZk();
    this.every(50, () => this.zkEvents.push(...(this.zk?.tick(this.now) ?? [])));
    for (const id of this.o.ids) {
      this.nodes.set(id, new SimNode(id));
      this.revive(id);
    }
  }

  node(id: number): SimNode {
    return this.nodes.get(id)!;
  }

  /** Running (alive, not paused) nodes in the leader phase. */
  leaders(): number[] {
    return [...this.nodes.values()].filter((n) => n.alive && !n.paused && n.bully.phase === "leader").map((n) => n.id);
  }

  run(ms: number): void {
    const end = this.now + ms;
    while (this.queue.length > 0 && this.queue[0]!.at <= end) {
      const next = this.queue.shift()!;
      this.now = next.at;
      next.run();
      this.checkSafety();
    }
    this.now = end;
  }

  /** Runs a bully input on a node now and carries out its actions. */
  act(id: number, input: (b: BullyElection) => BullyAction[]): BullyAction[] {
    const n = this.node(id);
    const actions = input(n.bully);
    this.apply(n, actions);
    return actions;
  }

  kill(id: number): void {
    const n = this.node(id);
    n.alive = false;
    n.gen++;
    n.timers.clear();
    n.held = [];
  }

  /** Starts (or restarts) a node as a fresh process that kept only its disk. */
  revive(id: number): void {
    const n = this.node(id);
    n.alive = true;
    n.paused = false;
    n.gen++;
    n.diskEpochSeen = this.diskEpoch;
    n.bully = new BullyElection({ selfId: id, persistedTerm: n.disk.term, initialEpoch: this.diskEpoch, ...this.o.bully });
    n.sender = new HeartbeatSender({
      brokerId: id,
      incarnation: Math.floor(this.rng() * 2 ** 40),
      startedAtMs: 1_700_000_000_000 + this.now,
      clientHost: "127.0.0.1",
      clientPort: 9000 + id,
      electionHost: "127.0.0.1",
      electionPort: 9100 + id,
    });
    n.lease = new LeaderLease(id, this.o.leaseMs);
    this.nodeAt(n, Math.floor(this.rng() * this.o.heartbeatMs), () => this.heartbeat(n));
  }

  pause(id: number): void {
    this.node(id).paused = true;
  }

  resume(id: number): void {
    const n = this.node(id);
    n.paused = false;
    const held = n.held;
    n.held = [];
    for (const run of held) run();
  }

  zkDown(): void {
    this.zk = null;
  }

  restartZk(): void {
    this.zk = this.newZk();
  }

  private newZk(): BrokerRegistry {
    const zkIncarnation = Math.floor(this.rng() * 2 ** 40);
    return new BrokerRegistry({ sessionTimeoutMs: this.o.sessionTimeoutMs, zkIncarnation }, this.now);
  }

  private heartbeat(n: SimNode): void {
    if (n.bully.phase === "leader" && !n.lease.holds(this.now)) this.apply(n, n.bully.stepDown());
    const role = n.bully.phase === "leader" && n.lease.holds(this.now) ? "active" : "standby";
    const epoch = Math.max(n.bully.epoch, n.diskEpochSeen);
    const hb = n.sender.next(this.now, { role, epoch, term: n.bully.term });
    this.transmit({ kind: "heartbeat", from: n.id }, () => {
      const out = this.zk?.onHeartbeat(hb, this.now);
      if (out?.accepted) this.transmit({ kind: "ack", to: n.id, ack: out.ack }, this.forNode(n, () => this.onAck(n, out.ack)));
    });
    this.nodeAt(n, this.o.heartbeatMs, () => this.heartbeat(n));
  }

  private onAck(n: SimNode, ack: HeartbeatAck): void {
    const accepted = n.sender.onAck(ack);
    if (accepted === null) return;
    const lease = n.lease.onAck(accepted.view, accepted.heartbeatSentAt, this.now);
    if (lease === "revoked") this.apply(n, n.bully.stepDown());
    this.apply(n, n.bully.onView(accepted.view));
  }

  private apply(n: SimNode, actions: BullyAction[]): void {
    for (const a of actions) {
      n.actions.push(a);
      switch (a.type) {
        case "send": {
          const packet: Packet = { kind: "election", from: n.id, to: a.to, message: a.message };
          const to = this.nodes.get(a.to);
          if (to !== undefined) this.transmit(packet, this.forNode(to, () => this.act(a.to, (b) => b.onMessage(n.id, a.message))));
          break;
        }
        case "setTimer": {
          const token = ++this.seq;
          n.timers.set(a.id, token);
          this.nodeAt(n, a.ms, () => {
            if (n.timers.get(a.id) !== token) return;
            n.timers.delete(a.id);
            this.apply(n, n.bully.onTimeout(a.id));
          });
          break;
        }
        case "cancelTimer":
          n.timers.delete(a.id);
          break;
        case "persistTerm":
          n.disk.term = a.term;
          break;
        case "claimActive":
          n.claimSentAt = this.now;
          this.claim(n, a.epoch);
          break;
        case "becomeLeader":
          this.takeOver(n, a.epoch);
          break;
        case "stepDown":
          n.lease.revoke();
          break;
        case "followLeader":
          break;
      }
    }
  }

  /**
   * The takeover's epoch check: a restarted zookeeper may grant an epoch that a
   * broker it never heard of already wrote to the data directory. Then the
   * takeover is aborted and the broker reports the epoch it read in its
   * heartbeats, which retires it at the zookeeper and asks for a new election.
   */
  private takeOver(n: SimNode, epoch: number): void {
    if (this.diskEpoch >= epoch) {
      n.diskEpochSeen = this.diskEpoch;
      this.abortedTakeovers.push({ id: n.id, epoch });
      this.apply(n, n.bully.stepDown());
      return;
    }
    this.diskEpoch = epoch;
    n.lease.grant(epoch, n.claimSentAt);
    if (this.leaderships.some((l) => l.epoch === epoch)) throw new Error(`epoch ${epoch} led twice`);
    this.leaderships.push({ id: n.id, epoch, at: this.now });
  }

  private claim(n: SimNode, epoch: number): void {
    this.transmit({ kind: "claim", from: n.id, epoch }, () => {
      if (this.zk === null) return;
      const out = this.zk.claimActive(n.id, epoch, this.now);
      const granted = out.accepted ? out.epoch : out.view.epoch;
      this.transmit(
        { kind: "claim-result", to: n.id, accepted: out.accepted },
        this.forNode(n, () => {
          this.apply(n, n.bully.onClaimResult(out.accepted, granted));
          this.apply(n, n.bully.onView(out.view));
        }),
      );
    });
  }

  private checkSafety(): void {
    const acking = [...this.nodes.values()].filter(
      (n) => n.alive && n.bully.phase === "leader" && n.lease.holds(this.now),
    );
    if (acking.length > 1) throw new Error(`t=${this.now}: brokers ${acking.map((n) => n.id)} may both acknowledge`);
  }

  private transmit(packet: Packet, deliver: () => void): void {
    const verdict = this.filter(packet);
    if (verdict === "drop") return;
    const extra = typeof verdict === "object" ? verdict.delayMs : 0;
    const copies = verdict === "duplicate" ? 2 : 1;
    for (let i = 0; i < copies; i++) this.at(extra + 1 + Math.floor(this.rng() * this.o.maxLatencyMs), deliver);
  }

  /** Wraps a delivery so it reaches only the same incarnation of the node, and waits while it is paused. */
  private forNode(n: SimNode, run: () => void): () => void {
    const gen = n.gen;
    const guarded = (): void => {
      if (!n.alive || n.gen !== gen) return;
      if (n.paused) n.held.push(guarded);
      else run();
    };
    return guarded;
  }

  private nodeAt(n: SimNode, delay: number, run: () => void): void {
    this.at(delay, this.forNode(n, run));
  }

  private every(ms: number, run: () => void): void {
    this.at(ms, () => {
      run();
      this.every(ms, run);
    });
  }

  private at(delay: number, run: () => void): void {
    const item = { at: this.now + delay, seq: ++this.seq, run };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = this.queue[mid]!;
      if (q.at < item.at || (q.at === item.at && q.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }
}

