/**
 * Reads the whole topic back once the run is over: every partition from
 * offset 0 to its end as the active broker reports it, through a fresh
 * consumer.
 */
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import { readToEnd } from "../../src/client/read-to-end";
import { type FinalLog, recordId } from "./history";

export { endOffsets } from "../../src/client/read-to-end";

const decoder = new TextDecoder();

export async function readWholeTopic(options: ClusterClientOptions, topic: string, timeoutMs: number): Promise<{ log: FinalLog; ends: Map<number, number> }> {
  const log: FinalLog = new Map();
  const ends = await readToEnd(
    options,
    topic,
    (record) => {
      let entry = log.get(record.partition);
      if (!entry) log.set(record.partition, (entry = { offsets: [], values: [] }));
      entry.offsets.push(record.offset);
      entry.values.push(record.value === null ? "" : recordId(decoder.decode(record.value)));
    },
    timeoutMs,
  );
  for (const partition of ends.keys()) if (!log.has(partition)) log.set(partition, { offsets: [], values: [] });
  return { log, ends };
}
