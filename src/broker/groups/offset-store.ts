/**
 * Committed offsets: kept in the internal topic `__consumer_offsets` (the log
 * is the database) and in memory for lookups. A group's commits all go to one
 * partition of that topic, chosen by a hash of the group id.
 *
 * On takeover the new active broker replays the topic (`open`), so every
 * group resumes from its commits. The topic is kept small by rewriting the
 * latest commits into a fresh segment once most of it is superseded.
 */
import { KafkaCloneError } from "../../errors";
import type { Logger } from "../../logger";
import { checkFrame } from "../../log/batch-frame";
import type { LogManager } from "../../log/log-manager";
import type { PartitionLog } from "../../log/partition-log";
import { decodeRecords, type ProducerRecord } from "../../log/record-codec";
import { appendRecords, rewriteLatest } from "./offsets-compaction";
import {
  type CommitKey,
  commitMapKey,
  type CommitValue,
  decodeCommitKey,
  decodeCommitValue,
  encodeCommitKey,
  encodeCommitValue,
  OFFSETS_TOPIC,
} from "./offset-records";

export interface OffsetStoreOptions {
  /** Partitions of `__consumer_offsets` when this broker creates it. */
  partitions?: number;
  /** A partition is rewritten only once it is larger than this and mostly superseded. */
  compactMinBytes?: number;
  segmentBytes?: number;
  logger: Logger;
}

export interface StoredCommit extends CommitKey, CommitValue {}

export interface LoadReport {
  partitions: number;
  records: number;
  commits: number;
  groups: number;
  skipped: number;
  durationMs: number;
}

interface PartitionState {
  log: PartitionLog;
  /** Roughly the bytes the live commits take; the log is rewritten when it is more than twice that. */
  liveBytes: number;
  rewriting: boolean;
}

const READ_CHUNK = 1024 * 1024;

export class OffsetStore {
  /** groupId → (commitMapKey → commit). */
  private readonly byGroup = new Map<string, Map<string, StoredCommit>>();
  private readonly partitions: PartitionState[] = [];
  private readonly compactMinBytes: number;
  private closed = false;
  readonly loadReport: LoadReport;

  constructor(
    logs: LogManager,
    private readonly epoch: number,
    private readonly options: OffsetStoreOptions,
  ) {
    this.compactMinBytes = options.compactMinBytes ?? 8 * 1024 * 1024;
    if (!logs.hasTopic(OFFSETS_TOPIC)) {
      logs.createTopic(OFFSETS_TOPIC, options.partitions ?? 1, {
        retentionMs: -1,
        retentionBytes: -1,
        segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      });
    }
    const started = performance.now();
    let records = 0;
    let skipped = 0;
    for (let p = 0; p < logs.partitionCount(OFFSETS_TOPIC); p++) {
      const log = logs.partition(OFFSETS_TOPIC, p);
      const replayed = this.replay(log);
      records += replayed.records;
      skipped += replayed.skipped;
      const live = this.liveCount(p);
      this.partitions.push({ log, liveBytes: replayed.records === 0 ? 0 : (log.sizeBytes / replayed.records) * live, rewriting: false });
    }
    this.loadReport = {
      partitions: this.partitions.length,
      records,
      commits: [...this.byGroup.values()].reduce((sum, group) => sum + group.size, 0),
      groups: this.byGroup.size,
      skipped,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (skipped > 0) options.logger.warn("skipped records of __consumer_offsets that are not commits", { skipped });
    for (let p = 0; p < this.partitions.length; p++) this.maybeRewrite(p);
  }

  groupIds(): string[] {
    return [...this.byGroup.keys()].sort();
  }

  committed(groupId: string): StoredCommit[] {
    return [...(this.byGroup.get(groupId)?.values() ?? [])];
  }

  committedOffset(groupId: string, topic: string, partition: number): StoredCommit | undefined {
    return this.byGroup.get(groupId)?.get(commitMapKey({ groupId, topic, partition }));
  }

  /** Appends the commits (one batch) and resolves once they are durable. */
  async commit(groupId: string, entries: readonly { topic: string; partition: number; offset: number; metadata: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const commitTimestamp = Date.now();
    const commits: StoredCommit[] = entries.map((e) => ({ groupId, ...e, commitTimestamp }));
    await this.write(groupId, commits.map((c) => ({ key: encodeCommitKey(c), value: encodeCommitValue(c), timestamp: commitTimestamp })), () => {
      let group = this.byGroup.get(groupId);
      if (!group) this.byGroup.set(groupId, (group = new Map()));
      for (const c of commits) group.set(commitMapKey(c), c);
    });
  }

  /** Writes a tombstone for every commit of the group. */
  async deleteGroup(groupId: string): Promise<number> {
    const commits = this.committed(groupId);
    if (commits.length === 0) return 0;
    const now = Date.now();
    await this.write(groupId, commits.map((c) => ({ key: encodeCommitKey(c), value: null, timestamp: now })), () => this.byGroup.delete(groupId));
    return commits.length;
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Appends, applies to memory at once (a rewrite started meanwhile must see
   * it), and waits for durability. A failed write leaves memory as the log
   * has it only approximately: the error reaches the client, which retries.
   */
  private async write(groupId: string, records: ProducerRecord[], apply: () => void): Promise<void> {
    if (this.closed) throw new KafkaCloneError("NOT_LEADER", "the group coordinator has stopped");
    const p = this.partitionOf(groupId);
    const state = this.partitions[p]!;
    const end = appendRecords(state.log, records, this.epoch);
    apply();
    await state.log.waitFor(end, "all");
    this.maybeRewrite(p);
  }

  private partitionOf(groupId: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < groupId.length; i++) hash = Math.imul(hash ^ groupId.charCodeAt(i), 0x01000193);
    return (hash >>> 0) % this.partitions.length;
  }

  private liveCount(partition: number): number {
    let count = 0;
    for (const [groupId, commits] of this.byGroup) if (this.partitionOf(groupId) === partition) count += commits.size;
    return count;
  }

  private liveRecords(partition: number): ProducerRecord[] {
    const records: ProducerRecord[] = [];
    for (const [groupId, commits] of this.byGroup) {
      if (this.partitionOf(groupId) !== partition) continue;
      for (const c of commits.values()) records.push({ key: encodeCommitKey(c), value: encodeCommitValue(c), timestamp: c.commitTimestamp });
    }
    return records;
  }

  private maybeRewrite(partition: number): void {
    const state = this.partitions[partition]!;
    const size = state.log.sizeBytes;
    if (this.closed || state.rewriting || size < this.compactMinBytes || size < 2 * state.liveBytes) return;
    state.rewriting = true;
    rewriteLatest(state.log, this.epoch, () => this.liveRecords(partition))
      .then((report) => {
        state.liveBytes = report.bytesAfter;
        this.options.logger.info("rewrote the latest commits into a fresh segment", { topic: OFFSETS_TOPIC, partition, ...report });
      })
      .catch((error) => this.options.logger.warn("rewriting __consumer_offsets failed; it will be tried again", { partition, error: (error as Error).message }))
      .finally(() => {
        state.rewriting = false;
      });
  }

  private replay(log: PartitionLog): { records: number; skipped: number } {
    let offset = log.logStartOffset;
    let hint: ReturnType<PartitionLog["read"]>["next"] | undefined;
    let records = 0;
    let skipped = 0;
    while (offset < log.highWatermark) {
      const read = log.read(offset, READ_CHUNK, hint);
      if (read.data.length === 0) break;
      for (let pos = 0; pos < read.data.length; ) {
        const check = checkFrame(read.data, pos);
        if (!check.ok) throw new KafkaCloneError("CORRUPT_MESSAGE", `${OFFSETS_TOPIC}-${log.partition} near offset ${offset}: ${check.reason}`);
        for (const record of decodeRecords(read.data, pos)) {
          if (record.offset < offset) continue;
          records++;
          if (!this.apply(record.key, record.value)) skipped++;
        }
        pos += check.header.frameSize;
      }
      offset = read.nextOffset;
      hint = read.next;
    }
    return { records, skipped };
  }

  private apply(keyBytes: Uint8Array | null, valueBytes: Uint8Array | null): boolean {
    const key = keyBytes === null ? null : decodeCommitKey(keyBytes);
    if (key === null) return false;
    const mapKey = commitMapKey(key);
    if (valueBytes === null) {
      const group = this.byGroup.get(key.groupId);
      group?.delete(mapKey);
      if (group?.size === 0) this.byGroup.delete(key.groupId);
      return true;
    }
    const value = decodeCommitValue(valueBytes);
    if (value === null) return false;
    let group = this.byGroup.get(key.groupId);
    if (!group) this.byGroup.set(key.groupId, (group = new Map()));
    group.set(mapKey, { ...key, ...value });
    return true;
  }
}
