/** Topics of a data directory: create, list, describe, delete, validation, reopen and checkpoints. */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { LogManager, type LogManagerOptions } from "../../../src/log/log-manager";
import { readRecoveryCheckpoint, RECOVERY_CHECKPOINT_FILE } from "../../../src/log/recovery-checkpoint";
import { encodeBatch } from "../../../src/log/record-codec";
import { MAX_TOPIC_NAME_LENGTH, topicNameProblem } from "../../../src/log/topic-name";
import { copyTree, decodeAll, expectCode, listTree, silentLogger, TempDirs } from "./helpers";

const temp = new TempDirs();
const managers: LogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close().catch(() => {});
  temp.cleanup();
});

function openManager(dir: string, options: LogManagerOptions = {}): LogManager {
  const manager = LogManager.open(dir, { checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger, ...options });
  managers.push(manager);
  return manager;
}

const enc = new TextEncoder();

async function produce(manager: LogManager, topic: string, partition: number, values: string[]): Promise<number> {
  const log = manager.partition(topic, partition);
  let next = 0;
  for (const v of values) next = log.append(encodeBatch([{ key: null, value: enc.encode(v), timestamp: 1_000 }]), 1).nextOffset;
  await log.waitFor(next, "all");
  return next;
}

function valuesIn(manager: LogManager, topic: string, partition: number): string[] {
  const log = manager.partition(topic, partition);
  const dec = new TextDecoder();
  const out: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const result = log.read(offset, 1 << 20);
    out.push(...decodeAll(result.data).filter((r) => r.offset >= offset).map((r) => dec.decode(r.value!)));
    offset = result.nextOffset;
  }
  return out;
}

describe("topics", () => {
  test("create, list, describe and delete", async () => {
    const dir = temp.make();
    const manager = openManager(dir);
    expect(manager.listTopics()).toEqual([]);
    const created = manager.createTopic("orders", 3, { retentionMs: 60_000 });
    expect(created.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(created.overrides).toEqual({ retentionMs: 60_000 });
    expect(created.config.retentionMs).toBe(60_000);
    manager.createTopic("a.b_c-1", 1);
    expect(manager.listTopics()).toEqual(["a.b_c-1", "orders"]);
    expect(manager.hasTopic("orders")).toBe(true);
    expect(manager.partitionCount("orders")).toBe(3);
    await produce(manager, "orders", 1, ["x", "y"]);
    const described = manager.describeTopic("orders");
    expect(described.partitions[1]).toMatchObject({ logStartOffset: 0, logEndOffset: 2, highWatermark: 2, segments: 1 });
    expect(described.partitions[1]!.sizeBytes).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, "topics", "orders", "2"))).toBe(true);
    await expectCode(() => manager.createTopic("orders", 1), "TOPIC_ALREADY_EXISTS");
    await manager.deleteTopic("orders");
    expect(manager.listTopics()).toEqual(["a.b_c-1"]);
    expect(fs.existsSync(path.join(dir, "topics", "orders"))).toBe(false);
    expect(fs.readdirSync(path.join(dir, "trash"))).toEqual([]);
    await expectCode(manager.deleteTopic("orders"), "TOPIC_NOT_FOUND");
  });

  test("a name of the maximum length works", async () => {
    const dir = temp.make();
    const manager = openManager(dir);
    const name = "n".repeat(MAX_TOPIC_NAME_LENGTH);
    manager.createTopic(name, 2);
    await produce(manager, name, 1, ["long"]);
    await manager.close();
    const reopened = openManager(dir);
    expect(reopened.listTopics()).toEqual([name]);
    expect(valuesIn(reopened, name, 1)).toEqual(["long"]);
    await reopened.deleteTopic(name);
    expect(reopened.listTopics()).toEqual([]);
  });

  test("unknown topics and partitions are refused with their codes", async () => {
    const manager = openManager(temp.make());
    manager.createTopic("t", 2);
    await expectCode(() => manager.describeTopic("nope"), "TOPIC_NOT_FOUND");
    await expectCode(() => manager.partition("nope", 0), "TOPIC_NOT_FOUND");
    await expectCode(() => manager.partitionCount("nope"), "TOPIC_NOT_FOUND");
    for (const p of [-1, 2, 1.5, Number.NaN]) await expectCode(() => manager.partition("t", p), "INVALID_PARTITION");
    expect(manager.partition("t", 1).partition).toBe(1);
  });

  test("partition counts are validated", async () => {
    const dir = temp.make();
    const manager = openManager(dir);
    const before = listTree(dir);
    for (const n of [0, -1, 1.5, 10_001, Number.NaN, "3" as unknown as number]) {
      await expectCode(() => manager.createTopic("t", n), "INVALID_CONFIG");
    }
    expect(listTree(dir)).toEqual(before);
  });

  test("topic settings are validated", async () => {
    const dir = temp.make();
    const manager = openManager(dir);
    const before = listTree(dir);
    const bad: Record<string, unknown>[] = [
      { segmentBytes: 10 },
      { segmentBytes: 1.5 },
      { segmentBytes: -1 },
      { segmentBytes: 2 ** 32 },
      { segmentMs: 0 },
      { retentionMs: -2 },
      { retentionBytes: 0 },
      { indexIntervalBytes: 0 },
      { retentionMs: "1000" },
      { nonsense: 1 },
      { toString: 5 },
      JSON.parse('{"__proto__": 5}'),
    ];
    for (const overrides of bad) {
      const error = await expectCode(() => manager.createTopic("t", 1, overrides as never), "INVALID_CONFIG");
      expect(error.message).not.toContain("undefined");
    }
    expect(listTree(dir)).toEqual(before);
    const ok = manager.createTopic("t", 1, { retentionMs: -1, retentionBytes: -1, segmentBytes: 1024 });
    expect(ok.config).toMatchObject({ retentionMs: -1, retentionBytes: -1, segmentBytes: 1024 });
    await expectCode(() => LogManager.open(temp.make(), { defaults: { segmentBytes: 5 }, logger: silentLogger }), "INVALID_CONFIG");
  });

  test("bad topic names are refused with INVALID_TOPIC and touch nothing on disk", async () => {
    const dir = temp.make();
    const manager = openManager(dir);
    manager.createTopic("existing", 1);
    const outside = path.join(path.dirname(dir), "x");
    const outsideBefore = fs.existsSync(outside);
    const before = listTree(dir);
    const names = ["../x", "a/b", "", "a".repeat(250), "bad\0name", ".", "..", "a b", "ü", "../../etc", "/abs", "a\\b", "x\n"];
    for (const name of names) {
      await expectCode(() => manager.createTopic(name, 1), "INVALID_TOPIC");
      await expectCode(manager.deleteTopic(name), "INVALID_TOPIC");
      expect(topicNameProblem(name)).not.toBeNull();
    }
    await expectCode(() => manager.createTopic(42 as unknown as string, 1), "INVALID_TOPIC");
    expect(listTree(dir)).toEqual(before);
    expect(fs.existsSync(outside)).toBe(outsideBefore);
    for (const good of ["a", "A-Z.0_9", "..a", "a..", "x".repeat(249)]) expect(topicNameProblem(good)).toBeNull();
  });
});

describe("reopening", () => {
  test("reopen keeps topics, partitions, settings and data", async () => {
    const dir = temp.make();
    const first = openManager(dir);
    first.createTopic("keep", 2, { segmentBytes: 4096 });
    await produce(first, "keep", 0, ["a", "b"]);
    await produce(first, "keep", 1, ["c"]);
    await first.close();
    await expectCode(() => first.createTopic("late", 1), "LOG_CLOSED");
    const second = openManager(dir);
    expect(second.listTopics()).toEqual(["keep"]);
    expect(second.describeTopic("keep").overrides).toEqual({ segmentBytes: 4096 });
    expect(second.partitionCount("keep")).toBe(2);
    expect(valuesIn(second, "keep", 0)).toEqual(["a", "b"]);
    expect(valuesIn(second, "keep", 1)).toEqual(["c"]);
  });

  test("close writes a checkpoint so a reopen scans nothing", async () => {
    const dir = temp.make();
    const first = openManager(dir, { defaults: { segmentBytes: 2048, indexIntervalBytes: 256 } });
    first.createTopic("t", 3);
    for (let p = 0; p < 3; p++) {
      await produce(first, "t", p, Array.from({ length: 40 + p * 17 }, (_, i) => `value-${p}-${i}-${"z".repeat(i % 30)}`));
    }
    first.partition("t", 2).roll();
    await first.close();
    const points = readRecoveryCheckpoint(path.join(dir, RECOVERY_CHECKPOINT_FILE));
    expect(points.get("t 0")).toBe(40);
    expect(points.get("t 2")).toBe(74);
    const second = openManager(dir, { defaults: { segmentBytes: 2048, indexIntervalBytes: 256 } });
    for (let p = 0; p < 3; p++) {
      const report = second.recoveryReports.get(`t ${p}`)!;
      expect(report).toMatchObject({ scannedBytes: 0, truncatedBytes: 0, nextOffset: 40 + p * 17 });
    }
    expect(valuesIn(second, "t", 1).length).toBe(57);
  });

  test("a topic deleted and created again is not held to the old topic's recovery point", async () => {
    const dir = temp.make();
    const first = openManager(dir);
    first.createTopic("again", 1);
    await produce(first, "again", 0, ["1", "2", "3", "4", "5"]);
    await first.checkpoint();
    await first.deleteTopic("again");
    first.createTopic("again", 1);
    await produce(first, "again", 0, ["only"]);
    // An unclean stop before the next checkpoint.
    const image = temp.make();
    copyTree(dir, image);
    await first.close();
    const second = openManager(image);
    expect(valuesIn(second, "again", 0)).toEqual(["only"]);
  });

  test("an unreadable checkpoint means a full scan, not a failure", async () => {
    const dir = temp.make();
    const first = openManager(dir);
    first.createTopic("t", 1);
    await produce(first, "t", 0, ["a", "b"]);
    await first.close();
    fs.writeFileSync(path.join(dir, RECOVERY_CHECKPOINT_FILE), "garbage\n");
    const second = openManager(dir);
    expect(second.recoveryReports.get("t 0")!.scannedBytes).toBeGreaterThan(0);
    expect(valuesIn(second, "t", 0)).toEqual(["a", "b"]);
  });

  test("leftovers in staging and trash are cleared on open", async () => {
    const dir = temp.make();
    const first = openManager(dir);
    await first.close();
    fs.mkdirSync(path.join(dir, "staging", "half-created", "0"), { recursive: true });
    fs.mkdirSync(path.join(dir, "trash", "half-deleted"), { recursive: true });
    openManager(dir);
    expect(fs.readdirSync(path.join(dir, "staging"))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, "trash"))).toEqual([]);
  });

  test("startFreshSegments gives every partition a new segment; retention runs across topics", async () => {
    const dir = temp.make();
    const manager = openManager(dir);
    manager.createTopic("r", 2, { retentionBytes: 1 });
    await produce(manager, "r", 0, ["a", "b"]);
    await produce(manager, "r", 1, ["c"]);
    manager.startFreshSegments();
    expect(manager.describeTopic("r").partitions.map((p) => p.segments)).toEqual([2, 2]);
    await produce(manager, "r", 0, ["d"]);
    expect(manager.enforceRetention()).toBeGreaterThanOrEqual(1);
    expect(manager.partition("r", 0).logStartOffset).toBe(2);
    expect(valuesIn(manager, "r", 0)).toEqual(["d"]);
  });
});
