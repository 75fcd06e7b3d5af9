import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { nodeFileIO } from "../../../src/log/file-io";
import { LogManager } from "../../../src/log/log-manager";
import { resolveLogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { RECOVERY_CHECKPOINT_FILE } from "../../../src/log/recovery-checkpoint";
import { encodeBatch } from "../../../src/log/record-codec";
import { decodeAll, expectCode, silentLogger, TempDirs } from "./helpers";

const config = resolveLogConfig({ indexIntervalBytes: 128, retentionMs: -1 });
const temp = new TempDirs();
const open: PartitionLog[] = [];
const enc = new TextEncoder();
const dec = new TextDecoder();

function openLog(dir: string, recoveryPoint: number | null = null): PartitionLog {
  const { log } = openPartitionLog({ io: nodeFileIO, config, topic: "t", partition: 0, dir, recoveryPoint });
  open.push(log);
  return log;
}

async function write(log: PartitionLog, values: string[], epoch: number): Promise<void> {
  let next = 0;
  for (const value of values) next = log.append(encodeBatch([{ value: enc.encode(value), timestamp: 1_000 }]), epoch).nextOffset;
  await log.waitFor(next, "all");
}

function values(log: PartitionLog): string[] {
  const out: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const result = log.read(offset, 1 << 20);
    out.push(...decodeAll(result.data).filter((r) => r.offset >= offset).map((r) => dec.decode(r.value!)));
    offset = result.nextOffset;
  }
  return out;
}

afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => {});
  temp.cleanup();
});

describe("a deposed leader's writes are not part of the log", () => {
  test("bytes appended to a segment the new leader sealed are ignored by reads and cut by recovery", async () => {
    const dir = temp.make();
    const old = openLog(dir);
    await write(old, ["a", "b", "c"], 1);
    const current = openLog(dir);
    current.startFreshSegment();
    // The deposed leader does not know yet: it appends to the file it has open.
    await write(old, ["zombie-1", "zombie-2"], 1);
    await write(current, ["d", "e"], 2);
    expect(values(current)).toEqual(["a", "b", "c", "d", "e"]);

    const rescanned = openLog(dir, null);
    expect(values(rescanned)).toEqual(["a", "b", "c", "d", "e"]);
    expect(rescanned.logEndOffset).toBe(5);
    // Trusted without a scan, the sealed segment is still read only up to its end.
    const trusted = openLog(dir, 5);
    expect(values(trusted)).toEqual(["a", "b", "c", "d", "e"]);
  });

  test("an empty active segment is replaced, so the old leader's appends go to an unlinked file", async () => {
    const dir = temp.make();
    const old = openLog(dir);
    const current = openLog(dir);
    current.startFreshSegment();
    await write(old, ["zombie"], 1);
    await write(current, ["first"], 2);
    expect(values(current)).toEqual(["first"]);
    expect(values(openLog(dir, null))).toEqual(["first"]);
  });

  test("a new segment never replaces an existing file", async () => {
    const dir = temp.make();
    const log = openLog(dir);
    await write(log, ["a"], 1);
    fs.writeFileSync(path.join(dir, "00000000000000000001.log"), "");
    await expectCode(() => log.roll(), "STORAGE_ERROR");
  });
});

describe("a fenced log manager", () => {
  test("refuses checkpoints, rolls and topic changes, and leaves the checkpoint file alone on close", async () => {
    const dir = temp.make();
    let fenced = false;
    const manager = LogManager.open(dir, { checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger, isFenced: () => fenced });
    manager.createTopic("t", 1);
    await write(manager.partition("t", 0), ["a"], 1);
    await manager.checkpoint();
    const before = fs.readFileSync(path.join(dir, RECOVERY_CHECKPOINT_FILE), "utf8");
    fenced = true;
    await write(manager.partition("t", 0), ["b"], 1);
    await expectCode(() => manager.checkpoint(), "FENCED_LEADER_EPOCH");
    await expectCode(() => manager.partition("t", 0).roll(), "FENCED_LEADER_EPOCH");
    await expectCode(() => manager.createTopic("u", 1), "FENCED_LEADER_EPOCH");
    await expectCode(() => manager.deleteTopic("t"), "FENCED_LEADER_EPOCH");
    expect(() => manager.enforceRetention()).toThrow();
    await manager.close();
    expect(fs.readFileSync(path.join(dir, RECOVERY_CHECKPOINT_FILE), "utf8")).toBe(before);
  });
});
