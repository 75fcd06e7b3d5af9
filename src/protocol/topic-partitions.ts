/**
 * A partition as one string, "topic:partition", for sets and maps on both
 * sides of the group protocol; on the wire, partitions travel grouped by topic.
 */
import type { TopicPartitions } from "./api";

export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** Topic names never hold ':' (DESIGN.md §6), so the last one splits the key. */
export function parseTpKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf(":");
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** Keys → one entry per topic (topics and partitions ascending). */
export function toTopicPartitions(keys: Iterable<string>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const key of keys) {
    const { topic, partition } = parseTpKey(key);
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }));
}

export function fromTopicPartitions(list: readonly TopicPartitions[]): string[] {
  return list.flatMap(({ topic, partitions }) => partitions.map((p) => tpKey(topic, p)));
}
