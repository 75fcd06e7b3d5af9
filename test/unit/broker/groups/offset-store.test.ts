import { afterEach, describe, expect, test } from "bun:test";
import { OffsetStore } from "../../../../src/broker/groups/offset-store";
import { OFFSETS_TOPIC } from "../../../../src/broker/groups/offset-records";
import { encodeBatch } from "../../../../src/log/record-codec";
import { Fixtures, silentLogger } from "./fixtures";

const fixtures = new Fixtures();
afterEach(() => fixtures.cleanup());

const commitsOf = (store: OffsetStore, group: string) =>
  Object.fromEntries(store.committed(group).map((c) => [`${c.topic}-${c.partition}`, c.offset]));

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

describe("committed offsets in __consumer_offsets", () => {
  test("commits survive a reopen (a takeover replays the topic); the latest commit of a key wins", async () => {
    const dir = fixtures.dataDir();
    const logs = fixtures.open(dir);
    const store = new OffsetStore(logs, 1, { logger: silentLogger });
    await store.commit("g1", [{ topic: "t", partition: 0, offset: 5, metadata: "" }, { topic: "t", partition: 1, offset: 7, metadata: "m" }]);
    await store.commit("g1", [{ topic: "t", partition: 0, offset: 9, metadata: "" }]);
    await store.commit("g2", [{ topic: "u", partition: 3, offset: 1, metadata: "" }]);
    expect(commitsOf(store, "g1")).toEqual({ "t-0": 9, "t-1": 7 });
    await logs.close();

    const reopened = new OffsetStore(fixtures.open(dir), 2, { logger: silentLogger });
    expect(reopened.groupIds()).toEqual(["g1", "g2"]);
    expect(commitsOf(reopened, "g1")).toEqual({ "t-0": 9, "t-1": 7 });
    expect(reopened.committedOffset("g1", "t", 1)?.metadata).toBe("m");
    expect(reopened.loadReport).toMatchObject({ records: 4, commits: 3, groups: 2, skipped: 0 });
  });

  test("a deleted group stays deleted after a reopen (tombstones)", async () => {
    const dir = fixtures.dataDir();
    const logs = fixtures.open(dir);
    const store = new OffsetStore(logs, 1, { logger: silentLogger });
    await store.commit("gone", [{ topic: "t", partition: 0, offset: 5, metadata: "" }]);
    await store.commit("kept", [{ topic: "t", partition: 0, offset: 6, metadata: "" }]);
    expect(await store.deleteGroup("gone")).toBe(1);
    expect(store.groupIds()).toEqual(["kept"]);
    await logs.close();
    expect(new OffsetStore(fixtures.open(dir), 2, { logger: silentLogger }).groupIds()).toEqual(["kept"]);
  });

  test("records that are not commits are skipped, not fatal", async () => {
    const dir = fixtures.dataDir();
    const logs = fixtures.open(dir);
    new OffsetStore(logs, 1, { logger: silentLogger });
    const log = logs.partition(OFFSETS_TOPIC, 0);
    const end = log.append(encodeBatch([{ key: new TextEncoder().encode("junk"), value: null }, { key: null, value: new Uint8Array([1]) }]), 1).nextOffset;
    await log.waitFor(end, "all");
    await logs.close();
    const store = new OffsetStore(fixtures.open(dir), 2, { logger: silentLogger });
    expect(store.loadReport).toMatchObject({ records: 2, skipped: 2, commits: 0 });
  });

  test("the topic stays small: superseded commits are rewritten away, and the latest ones survive a reopen", async () => {
    const dir = fixtures.dataDir();
    const logs = fixtures.open(dir);
    const store = new OffsetStore(logs, 1, { logger: silentLogger, compactMinBytes: 64 * 1024, segmentBytes: 32 * 1024 });
    const log = logs.partition(OFFSETS_TOPIC, 0);
    let maxSize = 0;
    for (let round = 1; round <= 400; round++) {
      await store.commit("busy", Array.from({ length: 12 }, (_, p) => ({ topic: "orders", partition: p, offset: round * 100 + p, metadata: "" })));
      if (round % 50 === 0) await store.commit(`quiet-${round}`, [{ topic: "orders", partition: 0, offset: round, metadata: "" }]);
      maxSize = Math.max(maxSize, log.sizeBytes);
    }
    // 4,808 commit records of ~40 bytes (~200 KiB) went in; the log never held much more than the trigger size.
    expect(maxSize).toBeLessThan(200 * 1024);
    await waitFor(() => log.logStartOffset > 0, "the first rewrite");
    await logs.close();
    const reopened = new OffsetStore(fixtures.open(dir), 2, { logger: silentLogger });
    expect(commitsOf(reopened, "busy")).toEqual(Object.fromEntries(Array.from({ length: 12 }, (_, p) => [`orders-${p}`, 40_000 + p])));
    for (let round = 50; round <= 400; round += 50) expect(commitsOf(reopened, `quiet-${round}`)).toEqual({ "orders-0": round });
    expect(reopened.loadReport.records).toBeLessThan(4808 / 2);
  });

  test("a crash between the rewrite and the deletion of old segments loses nothing (old records then the rewrite)", async () => {
    const dir = fixtures.dataDir();
    const logs = fixtures.open(dir);
    const store = new OffsetStore(logs, 1, { logger: silentLogger });
    await store.commit("g", [{ topic: "t", partition: 0, offset: 1, metadata: "" }]);
    await store.commit("dead", [{ topic: "t", partition: 0, offset: 1, metadata: "" }]);
    await store.deleteGroup("dead");
    await store.commit("g", [{ topic: "t", partition: 0, offset: 2, metadata: "" }]);
    // The rewrite as it would be appended, without deleting anything.
    const log = logs.partition(OFFSETS_TOPIC, 0);
    const { appendRecords } = await import("../../../../src/broker/groups/offsets-compaction");
    const { encodeCommitKey, encodeCommitValue } = await import("../../../../src/broker/groups/offset-records");
    log.roll();
    const end = appendRecords(log, store.committed("g").map((c) => ({ key: encodeCommitKey(c), value: encodeCommitValue(c) })), 1);
    await log.waitFor(end, "all");
    await logs.close();
    const reopened = new OffsetStore(fixtures.open(dir), 2, { logger: silentLogger });
    expect(reopened.groupIds()).toEqual(["g"]);
    expect(commitsOf(reopened, "g")).toEqual({ "t-0": 2 });
  });
});
