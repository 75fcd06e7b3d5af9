/**
 * A consumer that is a member of a consumer group: the group's coordinator
 * decides which partitions it reads; it starts each one at the group's
 * committed offset (or at `resetTo` when there is none) and commits what the
 * application has processed — every `autoCommitIntervalMs`, when a partition
 * is revoked and on close (at-least-once) — or when `commit()` is called.
 *
 * "Processed" means the application asked for the next chunk after this one,
 * as Kafka counts records returned by the previous poll. A revoked partition
 * is dropped only between chunks, so its commit never skips a record the
 * application still holds.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import { API, type MetadataResponse, PUSH, type TopicPartitions } from "../protocol/api";
import { parseTpKey, toTopicPartitions, tpKey } from "../protocol/topic-partitions";
import { ClusterClient, type ClusterClientOptions } from "./cluster-client";
import type { ConsumerRecord } from "./consumer";
import { GroupMembership } from "./group-membership";
import { GroupOffsets } from "./group-offsets";
import { PartitionStreams, type StreamChunk } from "./partition-streams";

export interface GroupConsumerOptions extends Omit<ClusterClientOptions, "onPush" | "onDisconnect"> {
  groupId: string;
  topics: string[];
  clientId?: string;
  /** Assignors this member supports, preferred first. */
  assignors?: string[];
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Where a partition without a commit (or with one outside the log) starts. */
  resetTo?: "earliest" | "latest";
  creditBytesPerPartition?: number;
  onEvent?: (event: GroupEvent) => void;
}

export type GroupEvent =
  | { type: "joined"; memberId: string; generationId: number; assignor: string }
  | { type: "assigned"; partitions: TopicPartitions[]; startOffsets: Record<string, number> }
  | { type: "revoked"; partitions: TopicPartitions[] }
  | { type: "lost"; partitions: TopicPartitions[] }
  | { type: "commit-failed"; error: string };

export interface OffsetPosition {
  topic: string;
  partition: number;
  offset: number;
}

export class GroupConsumer {
  private readonly client: ClusterClient;
  private readonly streams: PartitionStreams;
  private readonly membership: GroupMembership;
  private readonly offsets: GroupOffsets;
  private inHand: StreamChunk | null = null;
  private safePointTasks: (() => void)[] = [];
  private wake: (() => void) | null = null;
  private failure: KafkaCloneError | null = null;
  private closing = false;
  private recovery: Promise<void> | null = null;
  private autoCommitTimer: ReturnType<typeof setInterval> | null = null;
  private readonly autoCommit: boolean;
  private readonly resetTo: "earliest" | "latest";

  constructor(private readonly options: GroupConsumerOptions) {
    this.autoCommit = options.autoCommit ?? true;
    this.resetTo = options.resetTo ?? "latest";
    this.client = new ClusterClient({
      ...options,
      onPush: (api, body, attachment) => {
        if (this.streams.handlePush(api, body, attachment)) return;
        if (api === PUSH.groupNudge) this.membership.requestSync();
      },
      onDisconnect: () => {
        this.streams.disconnected();
        void this.recover();
      },
    });
    this.streams = new PartitionStreams(this.client, options.creditBytesPerPartition ?? 2 * 1024 * 1024, {
      onData: () => this.wake?.(),
      onStarted: (key, _, offset) => this.offsets.started(key, offset),
      onStall: () => void this.recover(),
      onFatal: (error) => this.fail(error),
    });
    this.membership = new GroupMembership(
      this.client,
      {
        groupId: options.groupId,
        topics: options.topics,
        clientId: options.clientId ?? "kafka-clone",
        assignors: options.assignors ?? ["range", "round-robin"],
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
      },
      {
        joined: (r) => this.emit({ type: "joined", memberId: r.memberId, generationId: r.generationId, assignor: r.assignor }),
        assign: (keys) => this.assign(keys),
        revoke: (keys) => this.revoke(keys),
        lose: (keys) => this.lose(keys),
        fail: (error) => this.fail(error),
      },
    );
    this.offsets = new GroupOffsets(this.client, options.groupId, () => ({ memberId: this.memberId, generationId: this.generationId }));
  }

  get memberId(): string | null {
    return this.membership.memberId;
  }

  get generationId(): number {
    return this.membership.generationId;
  }

  /** Joins the group; resolves once the first assignment is being read. */
  async start(): Promise<void> {
    const { body } = await this.client.request(API.metadata, { topics: this.options.topics });
    const known = new Set((body as MetadataResponse).topics.map((t) => t.name));
    const missing = this.options.topics.filter((t) => !known.has(t));
    if (missing.length > 0) throw new KafkaCloneError("TOPIC_NOT_FOUND", `topic ${missing.join(", ")} does not exist`);
    await this.membership.start();
    if (this.autoCommit) {
      this.autoCommitTimer = setInterval(() => void this.offsets.commit(this.streams.keys()).catch(() => {}), this.options.autoCommitIntervalMs ?? 5000);
    }
  }

  /** Records one at a time, in order within each partition. */
  async *records(): AsyncGenerator<ConsumerRecord> {
    for await (const batch of this.batches()) yield* batch;
  }

  /** Records a pushed chunk at a time; a chunk counts as processed when the next one is asked for. */
  async *batches(): AsyncGenerator<ConsumerRecord[]> {
    try {
      while (!this.closing) {
        this.finishInHand();
        this.runSafePointTasks();
        const chunk = this.streams.take();
        if (chunk) {
          this.inHand = chunk;
          if (chunk.records.length > 0) yield chunk.records;
          continue;
        }
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      this.inHand = null;
      this.runSafePointTasks();
    }
  }

  /** The partitions this member reads now. */
  assignment(): TopicPartitions[] {
    return toTopicPartitions(this.streams.keys());
  }

  /** Per partition read now: the offset after the last processed chunk. */
  positions(): OffsetPosition[] {
    return this.streams.keys().flatMap((key) => {
      const offset = this.offsets.position(key);
      return offset === undefined ? [] : [{ ...parseTpKey(key), offset }];
    });
  }

  /**
   * Commits the given positions (each the offset of the next record to
   * process), or every processed position when none are given; resolves once
   * they are durable.
   */
  async commit(offsets?: readonly OffsetPosition[]): Promise<void> {
    if (!offsets) return this.offsets.commit(this.streams.keys());
    for (const o of offsets) {
      const key = tpKey(o.topic, o.partition);
      if (!this.streams.has(key)) throw new KafkaCloneError("ILLEGAL_GENERATION", `${key} is not assigned to this member`);
      this.offsets.processedUpTo(key, o.offset);
    }
    return this.offsets.commit(offsets.map((o) => tpKey(o.topic, o.partition)));
  }

  /** Commits what was processed (with auto-commit), leaves the group and disconnects. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.autoCommitTimer) clearInterval(this.autoCommitTimer);
    // Whatever the application still holds counts as not processed.
    this.inHand = null;
    this.runSafePointTasks();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([this.membership.leave(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      this.client.close();
      this.wake?.();
    }
  }

  private emit(event: GroupEvent): void {
    this.options.onEvent?.(event);
  }

  private finishInHand(): void {
    const chunk = this.inHand;
    this.inHand = null;
    if (!chunk || !this.streams.has(chunk.key, chunk.streamId)) return;
    this.offsets.processedUpTo(chunk.key, chunk.nextOffset);
    this.streams.consumed(chunk);
  }

  private atSafePoint(task: () => void): Promise<void> {
    return new Promise((resolve) => {
      const run = () => {
        task();
        resolve();
      };
      if (this.inHand === null || this.closing) run();
      else this.safePointTasks.push(run);
    });
  }

  private runSafePointTasks(): void {
    for (const task of this.safePointTasks.splice(0)) task();
  }

  private async assign(keys: string[]): Promise<void> {
    const committed = await this.offsets.fetch(keys, () => this.closing);
    for (const key of keys) {
      const { topic, partition } = parseTpKey(key);
      const commit = committed.get(key);
      if (commit !== undefined) this.offsets.committedAt(key, commit);
      this.streams.register(topic, partition, commit === undefined ? { type: this.resetTo } : { type: "offset", offset: commit }, this.resetTo);
    }
    await this.recover();
    const startOffsets = Object.fromEntries(keys.flatMap((key) => {
      const offset = this.offsets.position(key);
      return offset === undefined ? [] : [[key, offset]];
    }));
    this.emit({ type: "assigned", partitions: toTopicPartitions(keys), startOffsets });
  }

  private async revoke(keys: string[]): Promise<void> {
    await this.atSafePoint(() => {
      for (const key of keys) this.streams.remove(key);
    });
    if (this.autoCommit) {
      await this.offsets.commit(keys).catch((error) => this.emit({ type: "commit-failed", error: asKafkaCloneError(error).describe() }));
    }
    this.offsets.forget(keys);
    this.emit({ type: "revoked", partitions: toTopicPartitions(keys) });
  }

  private lose(keys: string[]): void {
    for (const key of keys) this.streams.remove(key);
    this.offsets.forget(keys);
    this.emit({ type: "lost", partitions: toTopicPartitions(keys) });
  }

  /**
   * Subscribes the stalled streams (new ones, or after a disconnect or a
   * step-down), each time right after a heartbeat on the same connection has
   * shown the coordinator still knows this member; when it does not, the
   * membership rejoins and these partitions are lost instead.
   */
  private recover(): Promise<void> {
    this.recovery ??= this.resubscribe().finally(() => {
      this.recovery = null;
    });
    return this.recovery;
  }

  private async resubscribe(): Promise<void> {
    while (!this.closing && this.streams.stalled > 0) {
      const connection = await this.client.leader().catch(() => null);
      const state = connection ? await this.membership.verify(connection) : "unreachable";
      if (state === "unknown") return;
      if (state === "ok") {
        try {
          await this.streams.resubscribeStalled(connection!);
          continue;
        } catch (error) {
          const failure = asKafkaCloneError(error);
          if (!failure.retriable) return this.fail(failure);
        }
      }
      await Bun.sleep(100);
    }
  }

  private fail(error: KafkaCloneError): void {
    if (this.closing) return;
    this.failure ??= error;
    this.wake?.();
  }
}
