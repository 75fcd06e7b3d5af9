import { describe, expect, test } from "bun:test";
import { ClusterHistory, type FailoverRecord } from "../../../src/zookeeper/cluster-history";

describe("ClusterHistory", () => {
  test("counts elections and leader changes; a failover is timed from losing the active broker to the next one", () => {
    const told: FailoverRecord[] = [];
    const history = new ClusterHistory((f) => told.push(f));
    history.observe([{ type: "election-needed" }], 100);
    history.observe([{ type: "active-changed", id: 3, epoch: 1, via: "claim" }], 150);
    expect(history.failover(150)).toBeNull();
    history.observe([{ type: "broker-died", id: 3 }, { type: "active-lost", id: 3, epoch: 1, reason: "died" }, { type: "election-needed" }], 1000);
    history.observe([{ type: "active-changed", id: 2, epoch: 2, via: "claim" }], 1240);
    expect([history.elections, history.leaderChanges]).toEqual([2, 2]);
    expect(history.failover(2240)).toEqual({ fromBrokerId: 3, toBrokerId: 2, epoch: 2, leaderlessMs: 240, agoMs: 1000 });
    expect(told).toHaveLength(1);
  });
});
