/**
 * A consumer's membership in its group, client side: join, then sync until
 * it holds what the coordinator assigns — taking new partitions at once,
 * giving up revoked ones (after the owner commits them) and syncing again so
 * the coordinator can hand them on. Heartbeats run beside that; a nudge from
 * the coordinator or a heartbeat saying so starts a sync. When the
 * coordinator no longer knows the member (it timed out, or a failover
 * emptied the coordinator's memory) every partition is lost and the member
 * joins again. Membership operations run one at a time, in order.
 */
import { asKafkaCloneError, type KafkaCloneError } from "../errors";
import { API, type HeartbeatResponse, type JoinGroupResponse, type SyncGroupResponse } from "../protocol/api";
import { fromTopicPartitions, toTopicPartitions } from "../protocol/topic-partitions";
import type { RpcConnection } from "../net/rpc-connection";
import type { ClusterClient } from "./cluster-client";
import { coordinatorRequest, requestOn } from "./group-rpc";

export interface MembershipOptions {
  groupId: string;
  topics: string[];
  clientId: string;
  assignors: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

export interface MembershipHandlers {
  joined(response: JoinGroupResponse): void;
  /** Start reading these partitions ("topic:partition"). */
  assign(keys: string[]): Promise<void>;
  /** Stop reading these partitions, committing what was processed. */
  revoke(keys: string[]): Promise<void>;
  /** These partitions are gone with no chance to commit. */
  lose(keys: string[]): void;
  fail(error: KafkaCloneError): void;
}

const RETRY_PAUSE_MS = 200;

export class GroupMembership {
  private id: string | null = null;
  private generation = -1;
  private readonly owned = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private syncQueued = false;
  private joinQueued = false;
  private settledValue = false;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatInFlight = false;
  private leaving = false;

  constructor(
    private readonly client: ClusterClient,
    private readonly options: MembershipOptions,
    private readonly handlers: MembershipHandlers,
  ) {}

  get memberId(): string | null {
    return this.id;
  }

  get generationId(): number {
    return this.generation;
  }

  /** Holds exactly its target: nothing to revoke, nothing still to come. */
  get settled(): boolean {
    return this.settledValue;
  }

  /** Joins and takes the first assignment; rejects when the group refuses the member. */
  async start(): Promise<void> {
    const first = this.joinAndSync();
    this.chain = first.catch(() => {});
    await first;
  }

  /** The coordinator says the assignment changed (or a heartbeat did). */
  requestSync(): void {
    if (this.syncQueued || this.leaving || this.id === null) return;
    this.syncQueued = true;
    void this.enqueue(async () => {
      this.syncQueued = false;
      await this.reconcile();
    });
  }

  /**
   * One heartbeat now — on `connection` alone when given — saying whether the
   * coordinator still knows this member ("unknown" starts a rejoin).
   */
  async verify(connection?: RpcConnection): Promise<"ok" | "unknown" | "unreachable"> {
    const id = this.id;
    if (id === null || this.leaving) return "unknown";
    const body = { groupId: this.options.groupId, memberId: id };
    try {
      const response = connection
        ? await requestOn<HeartbeatResponse>(this.client, connection, API.heartbeat, body, this.options.sessionTimeoutMs)
        : await coordinatorRequest<HeartbeatResponse>(this.client, API.heartbeat, body, this.options.sessionTimeoutMs);
      if (response.syncNeeded) this.requestSync();
      return this.id === id ? "ok" : "unknown";
    } catch (error) {
      this.onError(error, id);
      return asKafkaCloneError(error).code === "UNKNOWN_MEMBER" ? "unknown" : "unreachable";
    }
  }

  /** Gives every partition back (committing through `revoke`) and leaves the group. */
  async leave(): Promise<void> {
    if (this.leaving) return this.chain;
    this.leaving = true;
    this.stopHeartbeats();
    await this.enqueue(async () => {
      const keys = [...this.owned];
      if (keys.length > 0) await this.handlers.revoke(keys);
      this.owned.clear();
      const id = this.id;
      this.id = null;
      if (id !== null) {
        await coordinatorRequest(this.client, API.leaveGroup, { groupId: this.options.groupId, memberId: id }, this.options.sessionTimeoutMs).catch(() => {});
      }
    });
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const id = this.id;
    const run = this.chain.then(op).catch((error) => this.onError(error, id));
    this.chain = run;
    return run;
  }

  private async joinAndSync(): Promise<void> {
    const o = this.options;
    const response = await coordinatorRequest<JoinGroupResponse>(this.client, API.joinGroup, {
      groupId: o.groupId,
      memberId: null,
      clientId: o.clientId,
      topics: o.topics,
      assignors: o.assignors,
      sessionTimeoutMs: o.sessionTimeoutMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
    });
    this.id = response.memberId;
    this.generation = response.generationId;
    this.handlers.joined(response);
    this.startHeartbeats(response.heartbeatIntervalMs);
    await this.reconcile();
  }

  /** Syncs until nothing is left to revoke. */
  private async reconcile(): Promise<void> {
    for (;;) {
      const id = this.id;
      if (id === null || this.leaving) return;
      const response = await coordinatorRequest<SyncGroupResponse>(this.client, API.syncGroup, {
        groupId: this.options.groupId,
        memberId: id,
        owned: toTopicPartitions(this.owned),
      });
      if (this.id !== id) return;
      this.generation = response.generationId;
      const assignment = new Set(fromTopicPartitions(response.assignment));
      const revoke = [...this.owned].filter((key) => !assignment.has(key));
      const assign = [...assignment].filter((key) => !this.owned.has(key));
      this.settledValue = response.settled && revoke.length === 0;
      for (const key of assign) this.owned.add(key);
      if (assign.length > 0) await this.handlers.assign(assign);
      if (revoke.length === 0) return;
      await this.handlers.revoke(revoke);
      for (const key of revoke) this.owned.delete(key);
    }
  }

  private onError(error: unknown, id: string | null): void {
    if (this.leaving) return;
    const failure = asKafkaCloneError(error);
    if (failure.code === "UNKNOWN_MEMBER") {
      if (id === this.id) this.rejoin();
    } else if (failure.retriable) {
      setTimeout(() => (this.id === null ? this.rejoin() : this.requestSync()), RETRY_PAUSE_MS).unref?.();
    } else {
      this.handlers.fail(failure);
    }
  }

  /** Everything owned is lost; join again as a new member. */
  private rejoin(): void {
    if (this.joinQueued || this.leaving) return;
    this.joinQueued = true;
    void this.enqueue(async () => {
      this.joinQueued = false;
      this.stopHeartbeats();
      this.id = null;
      this.settledValue = false;
      const lost = [...this.owned];
      this.owned.clear();
      if (lost.length > 0) this.handlers.lose(lost);
      await this.joinAndSync();
    });
  }

  private startHeartbeats(intervalMs: number): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), intervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    try {
      await this.verify();
    } finally {
      this.heartbeatInFlight = false;
    }
  }
}
