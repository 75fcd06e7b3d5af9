/** What `groups describe` shows per partition: committed offset, log end and lag, owner. */
import type { LogManager } from "../../log/log-manager";
import type { GroupPartitionDescription } from "../../protocol/api";
import { parseTpKey, tpKey } from "../../protocol/topic-partitions";
import type { StoredCommit } from "./offset-store";

/**
 * Every partition with a commit or of a topic the members subscribe to.
 * Lag is the high watermark (what consumers can read) minus the commit.
 */
export function groupOffsets(
  logs: LogManager,
  commits: readonly StoredCommit[],
  subscribedTopics: readonly string[],
  ownerOf: (key: string) => string | null,
): GroupPartitionDescription[] {
  const committed = new Map(commits.map((c) => [tpKey(c.topic, c.partition), c.offset]));
  const keys = new Set(committed.keys());
  for (const topic of subscribedTopics) {
    if (!logs.hasTopic(topic)) continue;
    for (let p = 0; p < logs.partitionCount(topic); p++) keys.add(tpKey(topic, p));
  }
  const rows = [...keys].map((key) => {
    const { topic, partition } = parseTpKey(key);
    const log = logs.hasTopic(topic) && partition < logs.partitionCount(topic) ? logs.partition(topic, partition) : null;
    const committedOffset = committed.get(key) ?? null;
    const logEndOffset = log?.highWatermark ?? null;
    return {
      topic,
      partition,
      committedOffset,
      logStartOffset: log?.logStartOffset ?? null,
      logEndOffset,
      lag: committedOffset === null || logEndOffset === null ? null : Math.max(0, logEndOffset - committedOffset),
      memberId: ownerOf(key),
    };
  });
  return rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}
