/**
 * A group member's offsets per partition: the processed position (the next
 * record to hand the application) and the last committed one; commits send
 * the positions that moved, one request at a time so a later commit can never
 * be overtaken by an earlier one.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import { API, type FetchOffsetsResponse } from "../protocol/api";
import { parseTpKey, toTopicPartitions, tpKey } from "../protocol/topic-partitions";
import type { ClusterClient } from "./cluster-client";
import { coordinatorRequest } from "./group-rpc";

export class GroupOffsets {
  private readonly processed = new Map<string, number>();
  private readonly committed = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: ClusterClient,
    private readonly groupId: string,
    private readonly member: () => { memberId: string | null; generationId: number },
  ) {}

  /**
   * The group's commits for `keys`. The member already holds these
   * partitions, so it keeps asking until it gets an answer or `giveUp()`.
   */
  async fetch(keys: readonly string[], giveUp: () => boolean): Promise<Map<string, number>> {
    for (;;) {
      try {
        const { offsets } = await coordinatorRequest<FetchOffsetsResponse>(this.client, API.fetchOffsets, { groupId: this.groupId, topics: toTopicPartitions(keys) });
        return new Map(offsets.map((c) => [tpKey(c.topic, c.partition), c.offset]));
      } catch (error) {
        if (giveUp() || !asKafkaCloneError(error).retriable) throw error;
        await Bun.sleep(100);
      }
    }
  }

  /** The group's commit a partition is about to start from. */
  committedAt(key: string, offset: number): void {
    this.committed.set(key, offset);
  }

  /** A partition's subscription starts at `offset`. */
  started(key: string, offset: number): void {
    // Chunks the application finished while the subscription was being set up may have moved it on.
    if (!this.processed.has(key)) this.processed.set(key, offset);
  }

  processedUpTo(key: string, offset: number): void {
    this.processed.set(key, offset);
  }

  position(key: string): number | undefined {
    return this.processed.get(key);
  }

  forget(keys: readonly string[]): void {
    for (const key of keys) {
      this.processed.delete(key);
      this.committed.delete(key);
    }
  }

  /** Commits the processed positions of `keys` that moved since their last commit; resolves once durable. */
  commit(keys: readonly string[]): Promise<void> {
    const run = this.chain.then(async () => {
      const offsets = keys.flatMap((key) => {
        const offset = this.processed.get(key);
        return offset === undefined || offset === this.committed.get(key) ? [] : [{ ...parseTpKey(key), offset }];
      });
      if (offsets.length === 0) return;
      const { memberId, generationId } = this.member();
      if (memberId === null) throw new KafkaCloneError("UNKNOWN_MEMBER", "not a member of the group right now");
      await coordinatorRequest(this.client, API.commitOffsets, { groupId: this.groupId, memberId, generationId, offsets });
      for (const o of offsets) this.committed.set(tpKey(o.topic, o.partition), o.offset);
    });
    this.chain = run.catch(() => {});
    return run;
  }
}
