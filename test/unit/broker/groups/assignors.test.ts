import { describe, expect, test } from "bun:test";
import { chooseAssignor, rangeAssignor, roundRobinAssignor, tpKey, parseTpKey } from "../../../../src/broker/groups/assignors";

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));
const members = (...specs: [string, string[]][]) => specs.map(([memberId, topics]) => ({ memberId, topics }));
const plain = (assignment: Map<string, string[]>) => Object.fromEntries(assignment);

describe("range assignor", () => {
  test("splits each topic into contiguous ranges, the first members taking the remainder", () => {
    const result = rangeAssignor.assign(members(["a", ["t"]], ["b", ["t"]], ["c", ["t"]]), counts({ t: 7 }));
    expect(plain(result)).toEqual({ a: ["t:0", "t:1", "t:2"], b: ["t:3", "t:4"], c: ["t:5", "t:6"] });
  });

  test("ranges per topic, only over the members subscribed to it; missing topics are skipped", () => {
    const result = rangeAssignor.assign(members(["a", ["t", "u", "gone"]], ["b", ["t"]]), counts({ t: 2, u: 3 }));
    expect(plain(result)).toEqual({ a: ["t:0", "u:0", "u:1", "u:2"], b: ["t:1"] });
  });

  test("more members than partitions leaves the last ones empty", () => {
    const result = rangeAssignor.assign(members(["a", ["t"]], ["b", ["t"]], ["c", ["t"]]), counts({ t: 2 }));
    expect(plain(result)).toEqual({ a: ["t:0"], b: ["t:1"], c: [] });
  });
});

describe("round-robin assignor", () => {
  test("deals all partitions of all topics in turn", () => {
    const result = roundRobinAssignor.assign(members(["a", ["t", "u"]], ["b", ["t", "u"]]), counts({ t: 3, u: 2 }));
    expect(plain(result)).toEqual({ a: ["t:0", "t:2", "u:1"], b: ["t:1", "u:0"] });
  });

  test("skips members not subscribed to a topic", () => {
    const result = roundRobinAssignor.assign(members(["a", ["t"]], ["b", ["u"]], ["c", ["t", "u"]]), counts({ t: 4, u: 2 }));
    const all = [...result.values()].flat().sort();
    expect(all).toEqual(["t:0", "t:1", "t:2", "t:3", "u:0", "u:1"]);
    expect(result.get("a")!.every((k) => k.startsWith("t:"))).toBe(true);
    expect(result.get("b")!.every((k) => k.startsWith("u:"))).toBe(true);
  });

  test("an empty group gets nothing", () => {
    expect(roundRobinAssignor.assign([], counts({ t: 3 })).size).toBe(0);
  });

  test("every partition exactly once, sizes differ by at most one (12 partitions, 5 members)", () => {
    const ms = members(...["a", "b", "c", "d", "e"].map((id) => [id, ["t"]] as [string, string[]]));
    for (const assignor of [rangeAssignor, roundRobinAssignor]) {
      const result = assignor.assign(ms, counts({ t: 12 }));
      const all = [...result.values()].flat();
      expect(new Set(all).size).toBe(12);
      expect(all.length).toBe(12);
      const sizes = [...result.values()].map((l) => l.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe("choosing the group's assignor", () => {
  test("the one every member supports", () => {
    expect(chooseAssignor([["range", "round-robin"], ["round-robin"]])).toBe("round-robin");
  });

  test("most first-choice votes among the common ones; a tie goes to the oldest member's order", () => {
    expect(chooseAssignor([["range", "round-robin"], ["round-robin", "range"], ["round-robin", "range"]])).toBe("round-robin");
    expect(chooseAssignor([["range", "round-robin"], ["round-robin", "range"]])).toBe("range");
  });

  test("null when there is no common assignor, or only ones this broker does not know", () => {
    expect(chooseAssignor([["range"], ["round-robin"]])).toBeNull();
    expect(chooseAssignor([["sticky"], ["sticky"]])).toBeNull();
    expect(chooseAssignor([["sticky", "range"], ["range", "sticky"]])).toBe("range");
  });

  test("keys round-trip", () => {
    expect(parseTpKey(tpKey("a.b-c_d", 12))).toEqual({ topic: "a.b-c_d", partition: 12 });
  });
});
