/**
 * Reads the whole topic back once the run is over: every partition from
 * offset 0 to its end as the active broker reports it, through a fresh
 * consumer.
 */
import { Admin } from "../../src/client/admin";
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import { Consumer } from "../../src/client/consumer";
import { type FinalLog, recordId } from "./history";

const decoder = new TextDecoder();

/** Each partition's end offset, from the active broker. */
export async function endOffsets(options: ClusterClientOptions, topic: string): Promise<Map<number, number>> {
  const admin = new Admin(options);
  try {
    const described = await admin.describeTopic(topic);
    const offsets = await admin.listOffsets(topic, described.partitions.map((_, partition) => ({ partition, spec: "latest" as const })));
    return new Map(offsets.map((p) => [p.partition, p.offset ?? 0]));
  } finally {
    admin.close();
  }
}

export async function readWholeTopic(options: ClusterClientOptions, topic: string, timeoutMs: number): Promise<{ log: FinalLog; ends: Map<number, number> }> {
  const ends = await endOffsets(options, topic);
  const log: FinalLog = new Map([...ends.keys()].map((partition) => [partition, { offsets: [], values: [] }]));
  const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  if (remaining.size === 0) return { log, ends };
  const consumer = new Consumer({ ...options, topic, start: { type: "earliest" } });
  const deadline = setTimeout(() => consumer.close(), timeoutMs);
  try {
    await consumer.start();
    for await (const batch of consumer.batches()) {
      for (const record of batch) {
        const end = ends.get(record.partition)!;
        if (record.offset >= end) continue;
        const entry = log.get(record.partition)!;
        entry.offsets.push(record.offset);
        entry.values.push(record.value === null ? "" : recordId(decoder.decode(record.value)));
        if (record.offset === end - 1) remaining.delete(record.partition);
      }
      if (remaining.size === 0) break;
    }
  } finally {
    clearTimeout(deadline);
    consumer.close();
  }
  if (remaining.size > 0) throw new Error(`the final read did not reach the end of partitions ${[...remaining].join(", ")} within ${timeoutMs} ms`);
  return { log, ends };
}
