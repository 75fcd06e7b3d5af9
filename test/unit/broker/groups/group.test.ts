import { describe, expect, test } from "bun:test";
import { Group, type MemberSpec } from "../../../../src/broker/groups/group";
import { KafkaCloneError } from "../../../../src/errors";

const spec = (overrides: Partial<MemberSpec> = {}): MemberSpec => ({
  clientId: "c",
  host: "h",
  topics: ["t"],
  assignors: ["range"],
  sessionTimeoutMs: 1000,
  rebalanceTimeoutMs: 5000,
  ...overrides,
});

function newGroup(partitions: Record<string, number> = { t: 6 }) {
  const counts = new Map(Object.entries(partitions));
  let n = 0;
  const group = new Group("g", (topic) => counts.get(topic) ?? null);
  const join = (now = 0, s: Partial<MemberSpec> = {}) => group.join(null, spec(s), now, () => `m${++n}`);
  return { group, counts, join };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as KafkaCloneError).code;
  }
  return "none";
}

const keys = (...ps: number[]) => ps.map((p) => `t:${p}`);

describe("group membership and cooperative rebalancing", () => {
  test("a lone member gets every partition and the group is stable", () => {
    const { group, join } = newGroup();
    const { memberId } = join();
    expect(group.state).toBe("Reconciling");
    const sync = group.sync(memberId, [], 0);
    expect(sync.assignment).toEqual(keys(0, 1, 2, 3, 4, 5));
    expect(sync.settled).toBe(true);
    expect(group.state).toBe("Stable");
    expect(group.generationId).toBe(1);
  });

  test("a second member gets only what the first has released; the first keeps reading the rest", () => {
    const { group, join } = newGroup();
    const a = join().memberId;
    group.sync(a, [], 0);
    const b = join(10);
    expect(b.nudge).toEqual([a]);
    expect(group.generationId).toBe(2);
    // b's target is 3-5, still owned by a: nothing yet.
    expect(group.sync(b.memberId, [], 10)).toMatchObject({ assignment: [], settled: false });
    expect(group.heartbeat(a, 11).syncNeeded).toBe(true);
    // a is told to hold 0-2 only; it still reports owning all six until it has revoked.
    const told = group.sync(a, keys(0, 1, 2, 3, 4, 5), 12);
    expect(told.assignment).toEqual(keys(0, 1, 2));
    expect(group.heartbeat(a, 13).syncNeeded).toBe(false);
    expect(group.state).toBe("Reconciling");
    // a released 3-5: b is nudged and now gets them.
    const released = group.sync(a, keys(0, 1, 2), 20);
    expect(released).toMatchObject({ assignment: keys(0, 1, 2), settled: true, nudge: [b.memberId] });
    expect(group.heartbeat(b.memberId, 21).syncNeeded).toBe(true);
    expect(group.sync(b.memberId, [], 22)).toMatchObject({ assignment: keys(3, 4, 5), settled: true });
    expect(group.state).toBe("Stable");
  });

  test("a third member moves only the partitions that change owner (range: 0-2/3-5 → 0-1/2-3/4-5)", () => {
    const { group, join } = newGroup();
    const a = join().memberId;
    group.sync(a, [], 0);
    const b = join().memberId;
    group.sync(a, keys(0, 1, 2), 0);
    group.sync(b, [], 0);
    expect(group.state).toBe("Stable");
    const c = join(100).memberId;
    const toA = group.sync(a, keys(0, 1, 2), 101).assignment;
    const toB = group.sync(b, keys(3, 4, 5), 101).assignment;
    expect(toA).toEqual(keys(0, 1)); // revokes 2 only
    expect(toB).toEqual(keys(3)); // revokes 4, 5; 2 is not free yet
    expect(group.sync(c, [], 101).assignment).toEqual([]);
    group.sync(a, keys(0, 1), 102);
    group.sync(b, keys(3), 102);
    expect(group.sync(b, keys(3), 103).assignment).toEqual(keys(2, 3));
    expect(group.sync(c, [], 103).assignment).toEqual(keys(4, 5));
    expect(group.state).toBe("Stable");
    expect(group.ownerOf("t:2")).toBe(b);
  });

  test("no partition ever has two owners, whatever order members sync in", () => {
    const { group, join } = newGroup({ t: 12 });
    const ids: string[] = [];
    const held = new Map<string, string[]>();
    let now = 0;
    const checkExclusive = () => {
      const all = [...held.values()].flat();
      expect(new Set(all).size).toBe(all.length);
      const owned = group.describeMembers().flatMap((m) => m.owned);
      expect(new Set(owned).size).toBe(owned.length);
    };
    for (let round = 0; round < 40; round++) {
      now += 10;
      if (round % 7 === 0 && ids.length < 5) ids.push(join(now, { assignors: round % 2 ? ["round-robin", "range"] : ["range", "round-robin"] }).memberId);
      if (round === 25) {
        const gone = ids.shift()!;
        held.delete(gone);
        group.leave(gone, now);
      }
      for (const id of [...ids].sort(() => (round % 3) - 1)) {
        const mine = held.get(id) ?? [];
        const { assignment } = group.sync(id, mine, now);
        // Revoke at once, take what is assigned.
        held.set(id, assignment);
        checkExclusive();
      }
    }
    for (const id of ids) held.set(id, group.sync(id, held.get(id) ?? [], now).assignment);
    expect(group.state).toBe("Stable");
    expect([...held.values()].flat().sort()).toEqual(Array.from({ length: 12 }, (_, p) => `t:${p}`).sort());
  });

  test("a member that stops heartbeating is removed after its session timeout; its partitions move", () => {
    const { group, join } = newGroup();
    const a = join(0).memberId;
    group.sync(a, [], 0);
    const b = join(0).memberId;
    group.sync(a, keys(0, 1, 2), 0);
    group.sync(b, [], 0);
    group.heartbeat(a, 900);
    expect(group.expire(1000).removed).toEqual([]);
    const { removed, nudge } = group.expire(1001);
    expect(removed).toEqual([{ memberId: b, reason: "session timeout" }]);
    expect(nudge).toEqual([a]);
    expect(group.sync(a, keys(0, 1, 2), 1002).assignment).toEqual(keys(0, 1, 2, 3, 4, 5));
    expect(codeOf(() => group.heartbeat(b, 1003))).toBe("UNKNOWN_MEMBER");
  });

  test("a member that does not give up revoked partitions within its rebalance timeout is removed", () => {
    const { group, join } = newGroup();
    const a = join(0, { rebalanceTimeoutMs: 500, sessionTimeoutMs: 10_000 }).memberId;
    group.sync(a, [], 0);
    join(100);
    group.sync(a, keys(0, 1, 2, 3, 4, 5), 100);
    group.heartbeat(a, 550);
    expect(group.expire(600).removed).toEqual([]);
    expect(group.expire(601).removed).toEqual([{ memberId: a, reason: "rebalance timeout" }]);
  });

  test("leaving frees the partitions at once for the others", () => {
    const { group, join } = newGroup();
    const a = join().memberId;
    group.sync(a, [], 0);
    const b = join().memberId;
    group.sync(a, keys(0, 1, 2), 0);
    group.sync(b, [], 0);
    expect(group.leave(a, 5)).toEqual([b]);
    expect(group.sync(b, keys(3, 4, 5), 6).assignment).toEqual(keys(0, 1, 2, 3, 4, 5));
    group.leave(b, 7);
    expect(group.state).toBe("Empty");
  });

  test("the group uses an assignor every member supports, and refuses a member sharing none", () => {
    const { group, join } = newGroup();
    join(0, { assignors: ["round-robin", "range"] });
    expect(group.assignor).toBe("round-robin");
    join(0, { assignors: ["range"] });
    expect(group.assignor).toBe("range");
    expect(codeOf(() => join(0, { assignors: ["round-robin"] }))).toBe("INCONSISTENT_GROUP_PROTOCOL");
    expect(group.size).toBe(2);
  });

  test("a topic that grows starts a new generation", () => {
    const { group, counts, join } = newGroup({ t: 2 });
    const a = join().memberId;
    group.sync(a, [], 0);
    expect(group.refreshTopics(1)).toEqual([]);
    counts.set("t", 4);
    expect(group.refreshTopics(2)).toEqual([a]);
    expect(group.sync(a, keys(0, 1), 3).assignment).toEqual(keys(0, 1, 2, 3));
  });

  test("commits: members only for what they own, outsiders only while the group is empty", () => {
    const { group, join } = newGroup();
    expect(codeOf(() => group.checkCommit(null, ["t:0"]))).toBe("none");
    const a = join().memberId;
    group.sync(a, [], 0);
    const b = join().memberId;
    expect(codeOf(() => group.checkCommit(null, ["t:0"]))).toBe("GROUP_NOT_EMPTY");
    expect(codeOf(() => group.checkCommit(a, keys(0, 5)))).toBe("none"); // 5 is being revoked but still a's
    expect(codeOf(() => group.checkCommit(b, keys(5)))).toBe("ILLEGAL_GENERATION");
    expect(codeOf(() => group.checkCommit("nobody", keys(0)))).toBe("UNKNOWN_MEMBER");
  });
});
