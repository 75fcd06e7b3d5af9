/**
 * Consumer groups with the compiled binary: `consume --group` members
 * splitting a topic, cooperative rebalances when one joins or dies, resuming
 * from commits, independent groups.
 */
import { describe, expect, test } from "bun:test";
import { startStandaloneBroker, runCli, waitUntil } from "./harness";
import { commitsOf, describeGroup, GroupMember, produceKeyed, recordIds, SteadyProducer, waitForStable } from "./group-harness";

async function brokerWithTopic(partitions: number) {
  const broker = await startStandaloneBroker();
  const created = await runCli(["topics", "create", "--topic", "t", "--partitions", String(partitions), "--broker", broker.address]);
  expect(created.exitCode).toBe(0);
  return { broker, client: { bootstrap: [{ host: "127.0.0.1", port: broker.port }] } };
}

function member(name: string, address: string, group: string, extra: string[] = []): GroupMember {
  return new GroupMember(name, ["--topic", "t", "--broker", address, "--group", group, "--from-beginning", "--auto-commit-interval-ms", "200", ...extra]);
}

const sum = (...lists: { records: unknown[] }[]) => lists.reduce((n, m) => n + m.records.length, 0);

describe("consumer groups (compiled binary)", () => {
  test("two members of a group split a 6-partition topic and together read every record once", async () => {
    const { broker, client } = await brokerWithTopic(6);
    const a = member("a", broker.address, "split");
    const b = member("b", broker.address, "split");
    await waitForStable(client, "split", 2);
    await Promise.all([a.waitForOwned(3), b.waitForOwned(3)]);
    expect(new Set([...a.owned(), ...b.owned()]).size).toBe(6);

    await produceKeyed(client, "t", 0, 3000);
    await waitUntil(() => sum(a, b) >= 3000, 15_000, "3,000 records between them");
    const ids = recordIds([...a.records, ...b.records]);
    expect(ids.length).toBe(3000);
    expect(new Set(ids).size).toBe(3000);
    for (const m of [a, b]) for (const r of m.records) expect(m.owned()).toContain(`t:${r.partition}`);
  }, 40_000);

  test("a third member joins: only moving partitions are revoked, the first two keep reading the rest, nothing is read twice", async () => {
    const { broker, client } = await brokerWithTopic(6);
    const a = member("a", broker.address, "grow");
    const b = member("b", broker.address, "grow");
    await waitForStable(client, "grow", 2);
    await Promise.all([a.waitForOwned(3), b.waitForOwned(3)]);
    const before = { a: a.owned(), b: b.owned() };
    const producer = new SteadyProducer(client, "t");
    await waitUntil(() => sum(a, b) >= 300, 15_000, "records flowing");

    const mark = { a: a.events.length, b: b.events.length };
    const c = member("c", broker.address, "grow");
    await waitForStable(client, "grow", 3, 15_000);
    await Promise.all([a.waitForOwned(2), b.waitForOwned(2), c.waitForOwned(2)]);
    const readDuringGrowth = sum(a, b);
    await waitUntil(() => sum(a, b, c) >= readDuringGrowth + 300, 15_000, "records after the rebalance");
    const produced = await producer.stop();
    await waitUntil(() => sum(a, b, c) >= produced, 15_000, `all ${produced} records`);

    for (const [m, had, since] of [[a, before.a, mark.a], [b, before.b, mark.b]] as const) {
      const kept = had.filter((key) => m.owned().includes(key));
      expect(kept.length).toBeGreaterThan(0);
      // Exactly the partitions that moved were revoked; the kept ones never stopped.
      expect(m.partitionsIn("partitions revoked", since).sort()).toEqual(had.filter((key) => !kept.includes(key)).sort());
      expect(m.partitionsIn("partitions lost")).toEqual([]);
      for (const key of kept) {
        const offsets = m.records.filter((r) => `t:${r.partition}` === key).map((r) => r.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
    }
    const ids = recordIds([...a.records, ...b.records, ...c.records]);
    expect(ids.length).toBe(produced);
    expect(new Set(ids).size).toBe(produced);
  }, 60_000);

  test("a member killed with SIGKILL loses its partitions to the others within the session timeout", async () => {
    const { broker, client } = await brokerWithTopic(6);
    const sessionTimeout = ["--session-timeout-ms", "1500"];
    const a = member("a", broker.address, "die", sessionTimeout);
    const b = member("b", broker.address, "die", sessionTimeout);
    await waitForStable(client, "die", 2);
    await Promise.all([a.waitForOwned(3), b.waitForOwned(3)]);
    const producer = new SteadyProducer(client, "t");
    const bPartitions = new Set(b.owned().map((key) => Number(key.split(":")[1])));
    const committedByB = async () => [...commitsOf(await describeGroup(client, "die"))].filter(([p]) => bPartitions.has(p)).reduce((s, [, o]) => s + o, 0);
    await waitUntil(async () => b.records.length >= 100 && (await committedByB()) >= 50, 15_000, "b reading and committing");

    const killedAt = performance.now();
    await b.kill("SIGKILL");
    await a.waitForOwned(6, 5000);
    const movedAfter = a.events.at(-1)!.at - killedAt;
    expect(movedAfter).toBeLessThan(1500 + 700);
    const produced = await producer.stop();
    const seen = () => new Set(recordIds([...a.records, ...b.records])).size;
    await waitUntil(() => seen() >= produced, 15_000, `all ${produced} records`);
    expect(seen()).toBe(produced);
    // Only b's uncommitted tail is read twice, and only on b's partitions.
    const bIds = new Set(recordIds(b.records));
    const twice = a.records.filter((r) => bIds.has(`${r.partition}:${r.offset}`));
    for (const r of twice) expect(bPartitions.has(r.partition)).toBe(true);
    expect(twice.length).toBeLessThan(b.records.length);
  }, 60_000);

  test("a restarted group resumes from its commits: after a clean exit nothing is read twice; after kill -9 only the uncommitted tail", async () => {
    const { broker, client } = await brokerWithTopic(3);
    await produceKeyed(client, "t", 0, 2000);
    const first = member("first", broker.address, "resume", ["--max-messages", "700"]);
    expect(await first.proc.exited).toBe(0);
    expect(first.records.length).toBe(700);
    const second = member("second", broker.address, "resume", ["--timeout-ms", "1500"]);
    expect(await second.proc.exited).toBe(0);
    const cleanIds = recordIds([...first.records, ...second.records]);
    expect(cleanIds.length).toBe(2000);
    expect(new Set(cleanIds).size).toBe(2000);

    const producer = new SteadyProducer(client, "t");
    const third = member("third", broker.address, "resume", ["--session-timeout-ms", "1500"]);
    await waitUntil(async () => {
      const commits = commitsOf(await describeGroup(client, "resume"));
      return third.records.length >= 500 && [...commits.values()].reduce((s, o) => s + o, 0) > 2000 + 200;
    }, 15_000, "the third member reading and committing");
    await third.kill("SIGKILL");
    // Once its session has expired no commit of the dead member can still be on its way.
    await waitUntil(async () => (await describeGroup(client, "resume")).members.length === 0, 10_000, "the dead member to be removed");
    const committed = commitsOf(await describeGroup(client, "resume"));
    const printed = new Map<number, number>();
    for (const r of third.records) printed.set(r.partition, Math.max(printed.get(r.partition) ?? 0, r.offset + 1));
    const produced = 2000 + (await producer.stop());

    const fourth = member("fourth", broker.address, "resume");
    await waitUntil(() => new Set(recordIds([...first.records, ...second.records, ...third.records, ...fourth.records])).size >= produced, 15_000, "everything read");
    for (const [partition, commit] of committed) {
      const firstAgain = Math.min(...fourth.records.filter((r) => r.partition === partition).map((r) => r.offset));
      // No gap (it starts at the commit) and no re-read before it.
      if (Number.isFinite(firstAgain)) expect(firstAgain).toBe(commit);
      expect(commit).toBeLessThanOrEqual(printed.get(partition) ?? commit);
    }
    const reread = recordIds(fourth.records).filter((id) => new Set(recordIds(third.records)).has(id)).length;
    const tail = [...committed].reduce((s, [p, c]) => s + Math.max(0, (printed.get(p) ?? c) - c), 0);
    expect(reread).toBe(tail);
  }, 60_000);

  test("two groups each read everything", async () => {
    const { broker, client } = await brokerWithTopic(4);
    await produceKeyed(client, "t", 0, 1000);
    const g1 = member("g1", broker.address, "one", ["--timeout-ms", "1500"]);
    const g2a = member("g2a", broker.address, "two", ["--timeout-ms", "1500"]);
    const g2b = member("g2b", broker.address, "two", ["--timeout-ms", "1500"]);
    await Promise.all([g1.proc.exited, g2a.proc.exited, g2b.proc.exited]);
    expect(new Set(recordIds(g1.records)).size).toBe(1000);
    expect(new Set(recordIds([...g2a.records, ...g2b.records])).size).toBe(1000);
    expect(g2a.records.length + g2b.records.length).toBe(1000);
  }, 40_000);
});
