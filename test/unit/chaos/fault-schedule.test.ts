import { describe, expect, test } from "bun:test";
import { faultSchedule } from "../../chaos/fault-schedule";
import { Random } from "../../chaos/random";

describe("chaos fault schedule", () => {
  test("a seed replays the same schedule; another seed gives another", () => {
    const a = faultSchedule(42, 50, [1, 2, 3], 500);
    expect(faultSchedule(42, 50, [1, 2, 3], 500)).toEqual(a);
    expect(faultSchedule(43, 50, [1, 2, 3], 500)).not.toEqual(a);
  });

  test("every kind appears, with holds on the right side of the session timeout", () => {
    const schedule = faultSchedule(7, 400, [1, 2, 3], 500);
    const kinds = new Set(schedule.map((f) => f.kind));
    expect([...kinds].sort()).toEqual([
      "kill-active", "kill-active-twice", "pause-active-long", "pause-active-short", "pause-broker", "pause-zookeeper", "restart-broker", "restart-zookeeper",
      "zookeeper-and-active",
    ]);
    for (const fault of schedule) {
      if (fault.kind === "pause-active-long") expect(fault.holdMs).toBeGreaterThan(500);
      if (fault.kind === "pause-active-short") expect(fault.holdMs).toBeLessThan(500);
      if (fault.kind === "restart-broker") expect([1, 2, 3]).toContain(fault.brokerId!);
    }
  });

  test("network partitions only when asked for", () => {
    const kinds = (network: boolean) => new Set(faultSchedule(3, 400, [1, 2, 3], 500, network).map((f) => f.kind));
    expect([...kinds(false)].filter((k) => k.startsWith("partition") || k.startsWith("isolate"))).toEqual([]);
    expect([...kinds(true)].filter((k) => k.startsWith("partition") || k.startsWith("isolate")).sort()).toEqual(["isolate-active", "partition-active", "partition-broker"]);
  });

  test("the generator is deterministic and spreads over [0, 1)", () => {
    const random = new Random(1);
    const values = Array.from({ length: 1000 }, () => random.next());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(990);
    expect(new Random(9).int(3, 3)).toBe(3);
  });
});
