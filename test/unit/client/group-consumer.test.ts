/** Group consumers against a broker running in this process: splitting, cooperative rebalances, commits, a takeover. */
import { afterEach, describe, expect, test } from "bun:test";
import { configureLogging } from "../../../src/logger";
import { waitUntil } from "../../integration/harness";
import { GroupWorld, ids } from "./group-fixtures";

configureLogging({ level: "error" });
let world: GroupWorld;
afterEach(() => world.stop());

async function setup(partitions = 6): Promise<GroupWorld> {
  world = new GroupWorld();
  await world.start();
  await world.createTopic("t", partitions);
  return world;
}

const stable = (group = "g") => world.broker.requireActive().groups.describe(group).state === "Stable";

describe("group consumers", () => {
  test("two members split six partitions and together read every record once", async () => {
    await setup();
    const a = await world.member({ groupId: "g", topics: ["t"] });
    const b = await world.member({ groupId: "g", topics: ["t"] });
    await waitUntil(() => a.owned().length === 3 && b.owned().length === 3 && stable(), 5000, "a 3/3 split");
    expect(new Set([...a.owned(), ...b.owned()]).size).toBe(6);
    await world.produce("t", 600);
    await waitUntil(() => a.records.length + b.records.length >= 600, 5000, "600 records");
    const all = ids([...a.records, ...b.records]);
    expect(new Set(all).size).toBe(600);
    expect(all.length).toBe(600);
  });

  test("a third member takes over only moving partitions; the others keep their remaining ones and nothing is read twice", async () => {
    await setup();
    const a = await world.member({ groupId: "g", topics: ["t"] });
    const b = await world.member({ groupId: "g", topics: ["t"] });
    await waitUntil(() => a.owned().length === 3 && b.owned().length === 3, 5000, "a 3/3 split");
    const before = { a: a.owned(), b: b.owned() };
    let producing = true;
    const producer = (async () => {
      for (let round = 0; producing; round++) await world.produce("t", 50, `r${round}`);
    })();
    const c = await world.member({ groupId: "g", topics: ["t"] });
    await waitUntil(() => a.owned().length === 2 && b.owned().length === 2 && c.owned().length === 2, 5000, "a 2/2/2 split");
    producing = false;
    await producer;
    const kept = { a: before.a.filter((k) => a.owned().includes(k)), b: before.b.filter((k) => b.owned().includes(k)) };
    expect(kept.a.length).toBeGreaterThan(0);
    expect(kept.b.length).toBeGreaterThan(0);
    for (const [member, keptKeys] of [[a, kept.a], [b, kept.b]] as const) {
      const revoked = member.events.filter((e) => e.type === "revoked").flatMap((e) => (e.type === "revoked" ? e.partitions.flatMap((t) => t.partitions.map((p) => `t:${p}`)) : []));
      for (const key of keptKeys) expect(revoked).not.toContain(key);
      expect(member.events.some((e) => e.type === "lost")).toBe(false);
    }
    const end = world.broker.requireActive().logs.describeTopic("t").partitions.reduce((sum, p) => sum + p.highWatermark, 0);
    await waitUntil(() => a.records.length + b.records.length + c.records.length >= end, 5000, "every record");
    const all = ids([...a.records, ...b.records, ...c.records]);
    expect(new Set(all).size).toBe(end);
    expect(all.length).toBe(end);
  });

  test("a member that stops heartbeating is removed after its session timeout and its partitions move", async () => {
    await setup();
    const a = await world.member({ groupId: "g", topics: ["t"], sessionTimeoutMs: 300 });
    const b = await world.member({ groupId: "g", topics: ["t"], sessionTimeoutMs: 300 });
    await waitUntil(() => a.owned().length === 3 && b.owned().length === 3, 5000, "a 3/3 split");
    // Silence b: no heartbeats, no syncs (as if its process froze).
    (b.consumer as unknown as { membership: { stopHeartbeats(): void; leaving: boolean } }).membership.stopHeartbeats();
    (b.consumer as unknown as { membership: { leaving: boolean } }).membership.leaving = true;
    const silenced = performance.now();
    await waitUntil(() => a.owned().length === 6, 5000, "a to own all six");
    expect(performance.now() - silenced).toBeLessThan(300 + 500);
  });

  test("a restarted member resumes from the group's commits with no gap and nothing read twice", async () => {
    await setup(3);
    await world.produce("t", 300);
    const first = await world.member({ groupId: "g", topics: ["t"] });
    await waitUntil(() => first.records.length === 300, 5000, "300 records");
    await first.consumer.close();
    await world.produce("t", 300, "w");
    const second = await world.member({ groupId: "g", topics: ["t"] });
    await waitUntil(() => second.records.length >= 300, 5000, "300 more");
    const all = ids([...first.records, ...second.records]);
    expect(all.length).toBe(600);
    expect(new Set(all).size).toBe(600);
  });

  test("after a takeover the coordinator has the commits; members rejoin and resume from them", async () => {
    await setup(4);
    await world.produce("t", 400);
    const a = await world.member({ groupId: "g", topics: ["t"] });
    const b = await world.member({ groupId: "g", topics: ["t"] });
    await waitUntil(() => a.records.length + b.records.length === 400, 5000, "400 records");
    await a.consumer.commit();
    await b.consumer.commit();
    await world.takeover();
    expect(world.broker.requireActive().groups.fetch({ groupId: "g" }).offsets.reduce((sum, o) => sum + o.offset, 0)).toBe(400);
    await world.produce("t", 400, "after");
    await waitUntil(() => a.records.length + b.records.length >= 800, 10_000, "800 records");
    const all = ids([...a.records, ...b.records]);
    expect(new Set(all).size).toBe(800);
    expect(all.length).toBe(800);
    expect([...a.events, ...b.events].some((e) => e.type === "lost")).toBe(true);
    await waitUntil(() => a.owned().length + b.owned().length === 4 && stable(), 5000, "both rejoined");
  });
});
