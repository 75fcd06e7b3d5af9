/**
 * The group coordinator of the active broker: every consumer group's
 * membership (in memory only; members rejoin after a failover) and committed
 * offsets (in `__consumer_offsets`, replayed when the broker becomes active).
 * A timer removes members past their session or rebalance timeout; members
 * whose assignment changes get a push so they sync without waiting for their
 * next heartbeat.
 */
import { KafkaCloneError } from "../../errors";
import type { Logger } from "../../logger";
import type { LogManager } from "../../log/log-manager";
import {
  type CommitOffsetsRequest,
  type DescribeGroupResponse,
  type FetchOffsetsRequest,
  type FetchOffsetsResponse,
  type GroupNudgePush,
  type GroupSummary,
  type HeartbeatResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type MemberRequest,
  PUSH,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from "../../protocol/api";
import type { ClientSession } from "../client-session";
import { fromTopicPartitions, toTopicPartitions, tpKey } from "../../protocol/topic-partitions";
import { Group } from "./group";
import { groupOffsets } from "./group-description";
import { OffsetStore, type OffsetStoreOptions } from "./offset-store";

export interface GroupCoordinatorOptions {
  logger: Logger;
  /** Monotonic ms. */
  now?: () => number;
  /** How often timeouts are checked; 0 = never (tests call sweep()). */
  sweepIntervalMs?: number;
  offsets?: Omit<OffsetStoreOptions, "logger">;
}

const MAX_HEARTBEAT_INTERVAL_MS = 3000;
const sessionKey = (groupId: string, memberId: string) => `${groupId}\u0000${memberId}`;

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly sessions = new Map<string, ClientSession>();
  private readonly timer: ReturnType<typeof setInterval> | null;
  private readonly now: () => number;
  private readonly logger: Logger;
  readonly offsets: OffsetStore;

  constructor(
    private readonly logs: LogManager,
    epoch: number,
    options: GroupCoordinatorOptions,
  ) {
    this.logger = options.logger;
    this.now = options.now ?? (() => performance.now());
    this.offsets = new OffsetStore(logs, epoch, { ...options.offsets, logger: options.logger });
    this.logger.info("loaded committed offsets", { ...this.offsets.loadReport });
    const every = options.sweepIntervalMs ?? 100;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.timer?.unref?.();
  }

  join(request: JoinGroupRequest, session: ClientSession | null): JoinGroupResponse {
    let group = this.groups.get(request.groupId);
    if (!group) {
      group = new Group(request.groupId, (topic) => (this.logs.hasTopic(topic) ? this.logs.partitionCount(topic) : null));
      this.groups.set(request.groupId, group);
    }
    const spec = {
      clientId: request.clientId,
      host: session?.connection.remote ?? "",
      topics: [...new Set(request.topics)].sort(),
      assignors: request.assignors,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
    };
    let joined: { memberId: string; nudge: string[] };
    try {
      joined = group.join(request.memberId, spec, this.now(), () => `${request.clientId || "member"}-${crypto.randomUUID()}`);
    } finally {
      if (group.size === 0) this.groups.delete(request.groupId);
    }
    if (session) this.sessions.set(sessionKey(group.groupId, joined.memberId), session);
    this.logger.info("member joined", { group: group.groupId, member: joined.memberId, generation: group.generationId, members: group.size, assignor: group.assignor });
    this.nudge(group, joined.nudge);
    return {
      memberId: joined.memberId,
      generationId: group.generationId,
      assignor: group.assignor!,
      heartbeatIntervalMs: Math.max(10, Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.floor(request.sessionTimeoutMs / 4))),
    };
  }

  sync(request: SyncGroupRequest, session: ClientSession | null): SyncGroupResponse {
    const group = this.requireMemberGroup(request);
    this.trackSession(group, request.memberId, session);
    const owned = fromTopicPartitions(request.owned);
    const result = group.sync(request.memberId, owned, this.now());
    this.nudge(group, result.nudge);
    return { generationId: result.generationId, assignment: toTopicPartitions(result.assignment), settled: result.settled };
  }

  heartbeat(request: MemberRequest, session: ClientSession | null): HeartbeatResponse {
    const group = this.requireMemberGroup(request);
    this.trackSession(group, request.memberId, session);
    return group.heartbeat(request.memberId, this.now());
  }

  leave(request: MemberRequest): void {
    const group = this.requireMemberGroup(request);
    const nudge = group.leave(request.memberId, this.now());
    this.sessions.delete(sessionKey(group.groupId, request.memberId));
    this.logger.info("member left", { group: group.groupId, member: request.memberId, generation: group.generationId, members: group.size });
    this.nudge(group, nudge);
    if (group.size === 0) this.groups.delete(group.groupId);
  }

  /** Resolves once the commits are durable. */
  async commit(request: CommitOffsetsRequest): Promise<void> {
    const group = this.groups.get(request.groupId);
    const keys = request.offsets.map((o) => tpKey(o.topic, o.partition));
    if (group) group.checkCommit(request.memberId, keys);
    else if (request.memberId !== null) {
      throw new KafkaCloneError("UNKNOWN_MEMBER", `group ${request.groupId} has no members (it may have moved to a new coordinator); join again`);
    }
    for (const { topic, partition } of request.offsets) this.logs.partition(topic, partition);
    await this.offsets.commit(
      request.groupId,
      request.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? "" })),
    );
  }

  fetch(request: FetchOffsetsRequest): FetchOffsetsResponse {
    const strip = ({ topic, partition, offset, metadata, commitTimestamp }: ReturnType<OffsetStore["committed"]>[number]) => ({
      topic, partition, offset, metadata, commitTimestamp,
    });
    if (!request.topics) return { offsets: this.offsets.committed(request.groupId).map(strip) };
    const offsets = request.topics.flatMap(({ topic, partitions }) =>
      partitions.flatMap((p) => {
        const found = this.offsets.committedOffset(request.groupId, topic, p);
        return found ? [strip(found)] : [];
      }),
    );
    return { offsets };
  }

  list(): GroupSummary[] {
    const ids = new Set([...this.groups.keys(), ...this.offsets.groupIds()]);
    return [...ids].sort().map((groupId) => {
      const group = this.groups.get(groupId);
      return { groupId, state: group?.state ?? "Empty", members: group?.size ?? 0, assignor: group?.assignor ?? null };
    });
  }

  describe(groupId: string): DescribeGroupResponse {
    const group = this.groups.get(groupId);
    const commits = this.offsets.committed(groupId);
    if (!group && commits.length === 0) throw new KafkaCloneError("GROUP_NOT_FOUND", `group ${groupId} has no members and no commits`);
    const members = (group?.describeMembers() ?? []).map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.host,
      topics: m.topics,
      assignment: toTopicPartitions(m.owned),
      target: toTopicPartitions(m.target),
    }));
    return {
      groupId,
      state: group?.state ?? "Empty",
      generationId: group?.generationId ?? 0,
      assignor: group?.assignor ?? null,
      members,
      partitions: groupOffsets(this.logs, commits, group?.subscribedTopics() ?? [], (key) => group?.ownerOf(key) ?? null),
    };
  }

  /** Deletes an empty group's commits. */
  async deleteGroup(groupId: string): Promise<number> {
    const group = this.groups.get(groupId);
    if (group && group.size > 0) throw new KafkaCloneError("GROUP_NOT_EMPTY", `group ${groupId} has ${group.size} member(s); stop them first`);
    if (this.offsets.committed(groupId).length === 0) throw new KafkaCloneError("GROUP_NOT_FOUND", `group ${groupId} has no members and no commits`);
    const deleted = await this.offsets.deleteGroup(groupId);
    this.logger.info("deleted group", { group: groupId, commits: deleted });
    return deleted;
  }

  /** Removes members past their timeouts and follows topic changes. */
  sweep(): void {
    const now = this.now();
    for (const group of [...this.groups.values()]) {
      const { removed, nudge } = group.expire(now);
      for (const { memberId, reason } of removed) {
        this.sessions.delete(sessionKey(group.groupId, memberId));
        this.logger.info("member removed", { group: group.groupId, member: memberId, reason, generation: group.generationId, members: group.size });
      }
      this.nudge(group, [...nudge, ...group.refreshTopics(now)]);
      if (group.size === 0) this.groups.delete(group.groupId);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.offsets.close();
    this.groups.clear();
    this.sessions.clear();
  }

  private requireMemberGroup(request: MemberRequest): Group {
    const group = this.groups.get(request.groupId);
    if (!group || !group.has(request.memberId)) {
      throw new KafkaCloneError("UNKNOWN_MEMBER", `group ${request.groupId} has no member ${request.memberId} (it left, timed out, or the coordinator moved)`);
    }
    return group;
  }

  private trackSession(group: Group, memberId: string, session: ClientSession | null): void {
    if (session) this.sessions.set(sessionKey(group.groupId, memberId), session);
  }

  private nudge(group: Group, memberIds: readonly string[]): void {
    for (const memberId of new Set(memberIds)) {
      const session = this.sessions.get(sessionKey(group.groupId, memberId));
      if (!session || session.isClosed) continue;
      const body: GroupNudgePush = { groupId: group.groupId, memberId, generationId: group.generationId };
      session.push(PUSH.groupNudge, body);
    }
  }
}
