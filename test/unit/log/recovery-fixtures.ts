/** Opening a partition directory at a recovery point, and checking what it holds afterwards. */
import { expect } from "bun:test";
import { nodeFileIO, type FileIO } from "../../../src/log/file-io";
import { resolveLogConfig, type LogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { decodeAll, expectedStored, plain, type Rng } from "./helpers";

export const CONFIG: LogConfig = resolveLogConfig({ segmentBytes: 4096, indexIntervalBytes: 200, retentionMs: -1 });

export function makeRecords(rng: Rng, count: number, clock: { now: number }): ProducerRecord[] {
  return Array.from({ length: count }, () => ({
    key: rng.chance(0.3) ? null : rng.bytes(rng.int(1, 8)),
    value: rng.bytes(rng.int(5, 60)),
    timestamp: (clock.now += rng.int(0, 50)),
  }));
}

export function openAt(dir: string, recoveryPoint: number | null, io: FileIO = nodeFileIO, config = CONFIG) {
  return openPartitionLog({ io, config, topic: "t", partition: 0, dir, recoveryPoint });
}

export async function appendAll(log: PartitionLog, records: ProducerRecord[][]): Promise<void> {
  let last = 0;
  for (const batch of records) last = log.append(encodeBatch(batch), 3).nextOffset;
  await log.waitFor(last, "all");
}

export function readEverything(log: PartitionLog): ReturnType<typeof decodeAll> {
  const out: ReturnType<typeof decodeAll> = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const result = log.read(offset, 1 << 20);
    out.push(...decodeAll(result.data).filter((r) => r.offset >= offset));
    offset = result.nextOffset;
  }
  return out;
}

export function expectLogHolds(log: PartitionLog, model: ProducerRecord[]): void {
  expect(log.logEndOffset).toBe(model.length);
  expect(log.highWatermark).toBe(model.length);
  expect(readEverything(log).map(plain)).toEqual(model.map((r, i) => plain(expectedStored(r, i))));
}

/** After recovery, appends continue at the right offset and read back. */
export async function expectAppendsContinue(log: PartitionLog, model: ProducerRecord[]): Promise<void> {
  const extra: ProducerRecord[] = [{ key: null, value: new TextEncoder().encode("after recovery"), timestamp: 9e12 }];
  const result = log.append(encodeBatch(extra), 4);
  expect(result.baseOffsets).toEqual([model.length]);
  await log.waitFor(result.nextOffset, "all");
  expectLogHolds(log, [...model, ...extra]);
}
