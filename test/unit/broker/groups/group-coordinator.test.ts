/** The coordinator over a real log manager, with fake client sessions and an injected clock. */
import { afterEach, describe, expect, test } from "bun:test";
import type { ClientSession } from "../../../../src/broker/client-session";
import { GroupCoordinator } from "../../../../src/broker/groups/group-coordinator";
import { KafkaCloneError } from "../../../../src/errors";
import type { LogManager } from "../../../../src/log/log-manager";
import { encodeBatch } from "../../../../src/log/record-codec";
import { PUSH, type JoinGroupRequest } from "../../../../src/protocol/api";
import { Fixtures, silentLogger } from "./fixtures";

const fixtures = new Fixtures();
const coordinators: GroupCoordinator[] = [];
afterEach(async () => {
  for (const c of coordinators.splice(0)) c.close();
  await fixtures.cleanup();
});

class FakeSession {
  readonly pushes: { api: string; body: unknown }[] = [];
  isClosed = false;
  readonly connection = { remote: "10.0.0.7:5555" };
  push(api: string, body: unknown): void {
    this.pushes.push({ api, body });
  }
  nudged(): number {
    return this.pushes.filter((p) => p.api === PUSH.groupNudge).length;
  }
}

function world(partitions = 6) {
  const dir = fixtures.dataDir();
  const logs = fixtures.open(dir);
  logs.createTopic("t", partitions);
  let now = 0;
  const clock = { advance: (ms: number) => (now += ms) };
  const open = (l: LogManager = logs) => {
    const c = new GroupCoordinator(l, 1, { logger: silentLogger, now: () => now, sweepIntervalMs: 0 });
    coordinators.push(c);
    return c;
  };
  return { dir, logs, clock, coordinator: open(), open };
}

const join = (c: GroupCoordinator, session: FakeSession, overrides: Partial<JoinGroupRequest> = {}) =>
  c.join({ groupId: "g", memberId: null, clientId: "cli", topics: ["t"], assignors: ["range"], sessionTimeoutMs: 1000, rebalanceTimeoutMs: 5000, ...overrides }, session as unknown as ClientSession);

const codeOf = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (error) {
    return (error as KafkaCloneError).code;
  }
  return "none";
};

describe("group coordinator", () => {
  test("a joining member nudges the members whose partitions move; heartbeats keep members alive; silence removes them", async () => {
    const { coordinator: c, clock } = world();
    const sa = new FakeSession();
    const a = join(c, sa);
    expect(a).toMatchObject({ generationId: 1, assignor: "range", heartbeatIntervalMs: 250 });
    expect(c.sync({ groupId: "g", memberId: a.memberId, owned: [] }, null).assignment).toEqual([{ topic: "t", partitions: [0, 1, 2, 3, 4, 5] }]);
    const sb = new FakeSession();
    const b = join(c, sb);
    expect(sa.nudged()).toBe(1);
    expect(sb.nudged()).toBe(0);
    c.sync({ groupId: "g", memberId: a.memberId, owned: [{ topic: "t", partitions: [0, 1, 2, 3, 4, 5] }] }, null);
    c.sync({ groupId: "g", memberId: a.memberId, owned: [{ topic: "t", partitions: [0, 1, 2] }] }, null);
    expect(sb.nudged()).toBe(1);
    expect(c.sync({ groupId: "g", memberId: b.memberId, owned: [] }, null)).toMatchObject({ assignment: [{ topic: "t", partitions: [3, 4, 5] }], settled: true });

    clock.advance(800);
    c.heartbeat({ groupId: "g", memberId: a.memberId }, null);
    clock.advance(800);
    c.sweep();
    expect(c.describe("g").members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(sa.nudged()).toBe(2);
    expect(await codeOf(() => c.heartbeat({ groupId: "g", memberId: b.memberId }, null))).toBe("UNKNOWN_MEMBER");
  });

  test("describe: members with their host, committed offsets, log end and lag per partition", async () => {
    const { coordinator: c, logs } = world(2);
    const log = logs.partition("t", 1);
    const end = log.append(encodeBatch(Array.from({ length: 10 }, () => ({ value: new Uint8Array([1]) }))), 1).nextOffset;
    await log.waitFor(end, "all");
    const a = join(c, new FakeSession());
    c.sync({ groupId: "g", memberId: a.memberId, owned: [] }, null);
    await c.commit({ groupId: "g", memberId: a.memberId, generationId: 1, offsets: [{ topic: "t", partition: 1, offset: 4 }] });
    const d = c.describe("g");
    expect(d).toMatchObject({ state: "Stable", generationId: 1, assignor: "range" });
    expect(d.members).toEqual([{ memberId: a.memberId, clientId: "cli", host: "10.0.0.7:5555", topics: ["t"], assignment: [{ topic: "t", partitions: [0, 1] }], target: [{ topic: "t", partitions: [0, 1] }] }]);
    expect(d.partitions).toEqual([
      { topic: "t", partition: 0, committedOffset: null, logStartOffset: 0, logEndOffset: 0, lag: null, memberId: a.memberId },
      { topic: "t", partition: 1, committedOffset: 4, logStartOffset: 0, logEndOffset: 10, lag: 6, memberId: a.memberId },
    ]);
    expect(c.list()).toEqual([{ groupId: "g", state: "Stable", members: 1, assignor: "range" }]);
  });

  test("commits: checked against membership, topics and partitions; deletion only of an empty group", async () => {
    const { coordinator: c } = world(2);
    const commit = (memberId: string | null, partition = 0, topic = "t") => c.commit({ groupId: "g", memberId, generationId: -1, offsets: [{ topic, partition, offset: 1 }] });
    expect(await codeOf(() => commit("ghost"))).toBe("UNKNOWN_MEMBER");
    expect(await codeOf(() => commit(null, 0, "nope"))).toBe("TOPIC_NOT_FOUND");
    expect(await codeOf(() => commit(null, 7))).toBe("INVALID_PARTITION");
    expect(await codeOf(() => commit(null))).toBe("none");
    const a = join(c, new FakeSession());
    expect(await codeOf(() => commit(null))).toBe("GROUP_NOT_EMPTY");
    expect(await codeOf(() => commit(a.memberId))).toBe("ILLEGAL_GENERATION");
    c.sync({ groupId: "g", memberId: a.memberId, owned: [] }, null);
    expect(await codeOf(() => commit(a.memberId))).toBe("none");
    expect(await codeOf(() => c.deleteGroup("g"))).toBe("GROUP_NOT_EMPTY");
    c.leave({ groupId: "g", memberId: a.memberId });
    expect(await c.deleteGroup("g")).toBe(1);
    expect(await codeOf(() => c.deleteGroup("g"))).toBe("GROUP_NOT_FOUND");
    expect(await codeOf(() => c.describe("g"))).toBe("GROUP_NOT_FOUND");
    expect(c.list()).toEqual([]);
  });

  test("a new coordinator over the reopened log (a takeover) has the commits but no members", async () => {
    const { coordinator: c, logs, open, dir } = world(2);
    const a = join(c, new FakeSession());
    c.sync({ groupId: "g", memberId: a.memberId, owned: [] }, null);
    await c.commit({ groupId: "g", memberId: a.memberId, generationId: 1, offsets: [{ topic: "t", partition: 0, offset: 3 }, { topic: "t", partition: 1, offset: 0 }] });
    c.close();
    await logs.close();
    const next = open(fixtures.open(dir));
    expect(next.fetch({ groupId: "g" }).offsets.map((o) => [o.partition, o.offset])).toEqual([[0, 3], [1, 0]]);
    expect(next.list()).toEqual([{ groupId: "g", state: "Empty", members: 0, assignor: null }]);
    expect(await codeOf(() => next.heartbeat({ groupId: "g", memberId: a.memberId }, null))).toBe("UNKNOWN_MEMBER");
  });

  test("a member offering no assignor the group uses is refused; a member that never syncs its revocation is removed after its rebalance timeout", async () => {
    const { coordinator: c, clock } = world();
    const a = join(c, new FakeSession(), { rebalanceTimeoutMs: 300, sessionTimeoutMs: 10_000 });
    c.sync({ groupId: "g", memberId: a.memberId, owned: [] }, null);
    expect(await codeOf(() => join(c, new FakeSession(), { assignors: ["round-robin"] }))).toBe("INCONSISTENT_GROUP_PROTOCOL");
    const b = join(c, new FakeSession(), { sessionTimeoutMs: 10_000 });
    clock.advance(200);
    c.heartbeat({ groupId: "g", memberId: a.memberId }, null);
    c.heartbeat({ groupId: "g", memberId: b.memberId }, null);
    c.sweep();
    expect(c.describe("g").members.length).toBe(2);
    clock.advance(200);
    c.sweep();
    expect(c.describe("g").members.map((m) => m.memberId)).toEqual([b.memberId]);
  });
});
