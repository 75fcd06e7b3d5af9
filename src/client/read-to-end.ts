/**
 * Reads a topic from the earliest offset up to each partition's end as the
 * active broker reports it when the read starts (tools, checkers, tests).
 */
import { KafkaCloneError } from "../errors";
import { Admin } from "./admin";
import type { ClusterClientOptions } from "./cluster-client";
import { Consumer, type ConsumerRecord } from "./consumer";

/** Each partition's end offset, from the active broker. */
export async function endOffsets(options: ClusterClientOptions, topic: string): Promise<Map<number, number>> {
  const admin = new Admin(options);
  try {
    const described = await admin.describeTopic(topic);
    const offsets = await admin.listOffsets(topic, described.partitions.map((p) => ({ partition: p.partition, spec: "latest" as const })));
    return new Map(offsets.map((p) => [p.partition, p.offset ?? 0]));
  } finally {
    admin.close();
  }
}

/**
 * Calls `onRecord` for every record below the end offsets, in order within
 * each partition; returns those ends. REQUEST_TIMED_OUT when a partition's
 * end is not reached within `timeoutMs`.
 */
export async function readToEnd(
  options: ClusterClientOptions,
  topic: string,
  onRecord: (record: ConsumerRecord) => void,
  timeoutMs = 30_000,
): Promise<Map<number, number>> {
  const ends = await endOffsets(options, topic);
  const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  if (remaining.size === 0) return ends;
  const consumer = new Consumer({ ...options, topic, start: { type: "earliest" } });
  const deadline = setTimeout(() => consumer.close(), timeoutMs);
  try {
    await consumer.start();
    for await (const batch of consumer.batches()) {
      for (const record of batch) {
        const end = ends.get(record.partition)!;
        if (record.offset >= end) continue;
        onRecord(record);
        if (record.offset === end - 1) remaining.delete(record.partition);
      }
      if (remaining.size === 0) break;
    }
  } finally {
    clearTimeout(deadline);
    consumer.close();
  }
  if (remaining.size > 0) {
    throw new KafkaCloneError("REQUEST_TIMED_OUT", `reading ${topic} did not reach the end of partitions ${[...remaining].join(", ")} within ${timeoutMs} ms`);
  }
  return ends;
}
