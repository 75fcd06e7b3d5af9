/**
 * A consumer group across a kill -9 of the active broker: the broker that
 * takes over replays __consumer_offsets, the members (compiled binary,
 * through the zookeeper) rejoin and every partition resumes from its commit.
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { TestCluster } from "./cluster-harness";
import { commitsOf, describeGroup, GroupMember, produceKeyed, recordIds, SteadyProducer, waitForStable } from "./group-harness";
import { waitUntil } from "./harness";

describe("consumer groups across a failover", () => {
  test("a group survives a kill -9 of the active broker and resumes from its commits", async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2] });
    expect((await cluster.waitForActive()).id).toBe(2);
    await cluster.broker(2).waitForLog(/takeover complete/);
    const client = cluster.clientOptions({ requestTimeoutMs: 10_000 });
    const admin = new Admin(client);
    await admin.createTopic("t", 4);
    admin.close();
    await produceKeyed(client, "t", 0, 1000);

    const args = ["--topic", "t", "--zookeeper", cluster.zkAddress, "--group", "g", "--from-beginning", "--auto-commit-interval-ms", "200", "--session-timeout-ms", "3000"];
    const a = new GroupMember("a", args);
    const b = new GroupMember("b", args);
    await waitForStable(client, "g", 2, 15_000);
    const producer = new SteadyProducer(client, "t");
    const committedSum = async () => [...commitsOf(await describeGroup(client, "g")).values()].reduce((s, o) => s + o, 0);
    await waitUntil(async () => a.records.length + b.records.length >= 1300 && (await committedSum()) >= 1100, 20_000, "reading and committing");

    const before = commitsOf(await describeGroup(client, "g"));
    const marks = { a: a.events.length, b: b.events.length };
    await cluster.kill(2, "SIGKILL");
    expect((await cluster.waitForActive(1, 15_000)).id).toBe(1);

    // The new active broker has every commit made before the kill (or a later one).
    const restored = commitsOf(await describeGroup(client, "g"));
    for (const [partition, offset] of before) expect(restored.get(partition)!).toBeGreaterThanOrEqual(offset);

    await waitForStable(client, "g", 2, 20_000);
    await waitUntil(() => a.owned().length + b.owned().length === 4, 20_000, "both members reading again");
    await producer.stop();
    const total = (await describeGroup(client, "g")).partitions.reduce((s, p) => s + (p.logEndOffset ?? 0), 0);
    await waitUntil(() => new Set(recordIds([...a.records, ...b.records])).size >= total, 20_000, `all ${total} records`);
    expect(new Set(recordIds([...a.records, ...b.records])).size).toBe(total);

    // Each member lost its partitions with the old coordinator and, rejoined, started them at their commits:
    // never before a commit made before the kill, never past what had been read before it (no gap).
    const firstStart = new Map<number, { at: number; start: number }>();
    for (const [m, since] of [[a, marks.a], [b, marks.b]] as const) {
      const after = m.events.slice(since);
      expect(after.some((e) => e.message === "partitions lost")).toBe(true);
      for (const e of after.filter((x) => x.message === "partitions assigned")) {
        for (const [key, start] of Object.entries(e.startOffsets ?? {})) {
          const partition = Number(key.split(":")[1]);
          if ((firstStart.get(partition)?.at ?? Infinity) > e.at) firstStart.set(partition, { at: e.at, start });
        }
      }
    }
    expect(firstStart.size).toBe(4);
    // What had been read of a partition before it was handed out again. Records (stdout) and events (stderr)
    // come through different pipes, so the cut is the reassignment, a failover after the last read before it.
    const readBefore = (partition: number, cut: number) =>
      Math.max(0, ...[...a.records, ...b.records].filter((r) => r.partition === partition && r.at < cut).map((r) => r.offset + 1));
    for (const [partition, { at, start }] of firstStart) {
      expect(start).toBeGreaterThanOrEqual(before.get(partition) ?? 0);
      expect(start).toBeLessThanOrEqual(readBefore(partition, at));
    }
  }, 90_000);
});
