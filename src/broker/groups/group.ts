/**
 * One consumer group's membership and assignment: a state machine with no
 * clock and no I/O (callers pass `now`, a monotonic time in ms).
 *
 * Rebalances are cooperative, as in KIP-848. Any change of membership or
 * subscriptions starts a new generation with a new target assignment. A
 * member keeps the partitions its target still holds; it is asked to give up
 * the ones that move, and a moving partition is handed to its new owner only
 * once the old owner has released it (reported it no longer owns it). So no
 * partition ever has two owners and nobody stops reading what it keeps.
 */
import { KafkaCloneError } from "../../errors";
import { type AssignorMember, assignorNamed, chooseAssignor, parseTpKey } from "./assignors";

export interface MemberSpec {
  clientId: string;
  host: string;
  topics: string[];
  /** Assignor names in order of preference. */
  assignors: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

export interface MemberView extends MemberSpec {
  memberId: string;
  /** Partitions given to the member and not yet released ("topic:partition"). */
  owned: string[];
  /** What this generation's assignment gives it. */
  target: string[];
  lastSeenMs: number;
}

interface Member extends MemberSpec {
  memberId: string;
  owned: Set<string>;
  target: Set<string>;
  lastSeenMs: number;
  /** When it was first told to give partitions up, while it still holds some of them. */
  revokingSinceMs: number | null;
  /** The assignment last sent, so a heartbeat can say whether a sync would change it. */
  lastSent: string;
}

export type GroupState = "Empty" | "Reconciling" | "Stable";

export interface SyncResult {
  generationId: number;
  /** What the member should hold now: its target's partitions it owns or that are free. */
  assignment: string[];
  /** It holds exactly its target: nothing to revoke, nothing still to come. */
  settled: boolean;
  /** Other members that may now take partitions this one released. */
  nudge: string[];
}

export interface Removal {
  memberId: string;
  reason: "session timeout" | "rebalance timeout";
}

/** Answers how many partitions a topic has now (null when it does not exist). */
export type PartitionCounter = (topic: string) => number | null;

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const signature = (keys: Iterable<string>) => [...keys].sort().join(",");

export class Group {
  private generation = 0;
  private chosenAssignor: string | null = null;
  /** In join order: the assignors see the oldest members first, so a newcomer moves as little as possible. */
  private readonly members = new Map<string, Member>();
  private partitionCounts = new Map<string, number>();

  constructor(
    readonly groupId: string,
    private readonly partitionCount: PartitionCounter,
  ) {}

  get generationId(): number {
    return this.generation;
  }

  get assignor(): string | null {
    return this.chosenAssignor;
  }

  get size(): number {
    return this.members.size;
  }

  get state(): GroupState {
    if (this.members.size === 0) return "Empty";
    for (const m of this.members.values()) if (!sameSet(m.owned, m.target)) return "Reconciling";
    return "Stable";
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  /**
   * Adds a member (memberId null) or updates one's subscription. Returns the
   * other members whose target changed. Throws INCONSISTENT_GROUP_PROTOCOL
   * when the member shares no assignor with the group.
   */
  join(memberId: string | null, spec: MemberSpec, now: number, newMemberId: () => string): { memberId: string; nudge: string[] } {
    const existing = memberId === null ? undefined : this.members.get(memberId);
    if (memberId !== null && !existing) throw this.unknown(memberId);
    const others = [...this.members.values()].filter((m) => m.memberId !== memberId);
    if (chooseAssignor([...others.map((m) => m.assignors), spec.assignors]) === null) {
      const theirs = others.length > 0 ? others[0]!.assignors.join(", ") : "none";
      throw new KafkaCloneError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `group ${this.groupId} uses assignors its members all support (theirs: ${theirs}); this member offers ${spec.assignors.join(", ") || "none"}`,
      );
    }
    const id = existing?.memberId ?? newMemberId();
    this.members.set(id, {
      ...spec,
      memberId: id,
      owned: existing?.owned ?? new Set(),
      target: existing?.target ?? new Set(),
      lastSeenMs: now,
      revokingSinceMs: existing?.revokingSinceMs ?? null,
      lastSent: existing?.lastSent ?? "",
    });
    const nudge = this.rebalance(now).filter((m) => m !== id);
    return { memberId: id, nudge };
  }

  /** The member reports what it owns and learns what it should own now. */
  sync(memberId: string, reportedOwned: readonly string[], now: number): SyncResult {
    const member = this.member(memberId);
    member.lastSeenMs = now;
    const reported = new Set(reportedOwned);
    const released = [...member.owned].filter((key) => !reported.has(key));
    for (const key of released) member.owned.delete(key);
    for (const key of this.grantable(member)) member.owned.add(key);
    const assignment = [...member.owned].filter((key) => member.target.has(key)).sort();
    const revoking = member.owned.size > assignment.length;
    if (!revoking) member.revokingSinceMs = null;
    else member.revokingSinceMs ??= now;
    member.lastSent = signature(assignment);
    const nudge = released.length === 0 ? [] : this.waitingFor(released, memberId);
    return { generationId: this.generation, assignment, settled: sameSet(member.owned, member.target), nudge };
  }

  /** Liveness; says whether a sync would change what the member was last told. */
  heartbeat(memberId: string, now: number): { generationId: number; syncNeeded: boolean } {
    const member = this.member(memberId);
    member.lastSeenMs = now;
    const expected = [...member.owned].filter((key) => member.target.has(key)).concat(this.grantable(member));
    return { generationId: this.generation, syncNeeded: signature(expected) !== member.lastSent };
  }

  /** Removes a member; returns the members to tell (their target changed, or they wait for what it held). */
  leave(memberId: string, now: number): string[] {
    this.member(memberId);
    return this.remove([memberId], now);
  }

  /** Removes members past their session or rebalance timeout. */
  expire(now: number): { removed: Removal[]; nudge: string[] } {
    const removed: Removal[] = [];
    for (const m of this.members.values()) {
      if (now - m.lastSeenMs > m.sessionTimeoutMs) removed.push({ memberId: m.memberId, reason: "session timeout" });
      else if (m.revokingSinceMs !== null && now - m.revokingSinceMs > m.rebalanceTimeoutMs) {
        removed.push({ memberId: m.memberId, reason: "rebalance timeout" });
      }
    }
    if (removed.length === 0) return { removed, nudge: [] };
    return { removed, nudge: this.remove(removed.map((r) => r.memberId), now) };
  }

  /** Starts a new generation when a subscribed topic appeared, went away or grew. */
  refreshTopics(now: number): string[] {
    for (const topic of this.subscribedTopics()) {
      if ((this.partitionCount(topic) ?? -1) !== (this.partitionCounts.get(topic) ?? -1)) return this.rebalance(now);
    }
    return [];
  }

  /** Throws unless the commit may go ahead: a member commits what it owns; anyone else only while the group is empty. */
  checkCommit(memberId: string | null, keys: readonly string[]): void {
    if (memberId === null) {
      if (this.members.size > 0) {
        throw new KafkaCloneError("GROUP_NOT_EMPTY", `group ${this.groupId} has ${this.members.size} member(s); only they may commit until they all leave`);
      }
      return;
    }
    const member = this.member(memberId);
    const foreign = keys.filter((key) => !member.owned.has(key));
    if (foreign.length > 0) {
      throw new KafkaCloneError(
        "ILLEGAL_GENERATION",
        `member ${memberId} of group ${this.groupId} does not own ${foreign.slice(0, 5).join(", ")} (generation ${this.generation})`,
      );
    }
  }

  subscribedTopics(): string[] {
    return [...new Set([...this.members.values()].flatMap((m) => m.topics))].sort();
  }

  ownerOf(key: string): string | null {
    for (const m of this.members.values()) if (m.owned.has(key)) return m.memberId;
    return null;
  }

  describeMembers(): MemberView[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.host,
      topics: [...m.topics],
      assignors: [...m.assignors],
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      owned: [...m.owned].sort(),
      target: [...m.target].sort(),
      lastSeenMs: m.lastSeenMs,
    }));
  }

  private member(memberId: string): Member {
    const member = this.members.get(memberId);
    if (!member) throw this.unknown(memberId);
    return member;
  }

  private unknown(memberId: string): KafkaCloneError {
    return new KafkaCloneError("UNKNOWN_MEMBER", `group ${this.groupId} has no member ${memberId} (it left, timed out, or the coordinator moved)`);
  }

  /** Target partitions the member does not own yet and nobody else owns. */
  private grantable(member: Member): string[] {
    const taken = new Set<string>();
    for (const m of this.members.values()) if (m !== member) for (const key of m.owned) taken.add(key);
    return [...member.target].filter((key) => !member.owned.has(key) && !taken.has(key));
  }

  private remove(memberIds: readonly string[], now: number): string[] {
    const freed: string[] = [];
    for (const id of memberIds) {
      freed.push(...this.members.get(id)!.owned);
      this.members.delete(id);
    }
    return [...new Set([...this.rebalance(now), ...this.waitingFor(freed, "")])];
  }

  private waitingFor(keys: readonly string[], except: string): string[] {
    return [...this.members.values()].filter((m) => m.memberId !== except && keys.some((key) => m.target.has(key))).map((m) => m.memberId);
  }

  /** New generation: choose the assignor, compute targets; returns the members whose target changed. */
  private rebalance(now: number): string[] {
    this.generation++;
    const members = [...this.members.values()];
    this.chosenAssignor = chooseAssignor(members.map((m) => m.assignors));
    this.partitionCounts = new Map();
    for (const topic of this.subscribedTopics()) {
      const count = this.partitionCount(topic);
      if (count !== null) this.partitionCounts.set(topic, count);
    }
    const view: AssignorMember[] = members.map((m) => ({ memberId: m.memberId, topics: m.topics }));
    const targets = this.chosenAssignor === null ? new Map<string, string[]>() : assignorNamed(this.chosenAssignor).assign(view, this.partitionCounts);
    const changed: string[] = [];
    for (const m of members) {
      const target = new Set(targets.get(m.memberId) ?? []);
      // Partitions that no longer exist (the topic was deleted) need no release.
      for (const key of m.owned) if (!this.exists(key)) m.owned.delete(key);
      if (!sameSet(target, m.target)) changed.push(m.memberId);
      m.target = target;
      const revoking = [...m.owned].some((key) => !target.has(key));
      m.revokingSinceMs = revoking ? (m.revokingSinceMs ?? now) : null;
    }
    return changed;
  }

  private exists(key: string): boolean {
    const { topic, partition } = parseTpKey(key);
    return partition < (this.partitionCount(topic) ?? 0);
  }
}
