/** Validation of the group requests (untrusted bodies): clear INVALID_REQUEST errors naming the field. */
import { describe, expect, test } from "bun:test";
import { KafkaCloneError } from "../../../src/errors";
import {
  readCommitOffsetsRequest,
  readFetchOffsetsRequest,
  readGroupRequest,
  readJoinGroupRequest,
  readMemberRequest,
  readSyncGroupRequest,
} from "../../../src/protocol/requests";

const join = { groupId: "g", memberId: null, clientId: "c", topics: ["t"], assignors: ["range"], sessionTimeoutMs: 1000, rebalanceTimeoutMs: 5000 };

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    expect((error as KafkaCloneError).code).toBe("INVALID_REQUEST");
    return (error as Error).message;
  }
  throw new Error("expected INVALID_REQUEST");
}

describe("group request validation", () => {
  test("a well-formed join, sync, commit and fetch read back as given", () => {
    expect(readJoinGroupRequest(join)).toEqual(join);
    expect(readSyncGroupRequest({ groupId: "g", memberId: "m", owned: [{ topic: "t", partitions: [2, 0] }] })).toEqual({ groupId: "g", memberId: "m", owned: [{ topic: "t", partitions: [2, 0] }] });
    expect(readCommitOffsetsRequest({ groupId: "g", memberId: null, offsets: [{ topic: "t", partition: 1, offset: 5 }] })).toEqual({
      groupId: "g", memberId: null, generationId: -1, offsets: [{ topic: "t", partition: 1, offset: 5, metadata: "" }],
    });
    expect(readFetchOffsetsRequest({ groupId: "g" })).toEqual({ groupId: "g" });
    expect(readMemberRequest({ groupId: "g", memberId: "m" })).toEqual({ groupId: "g", memberId: "m" });
    expect(readGroupRequest({ groupId: "g.1 with spaces" })).toBe("g.1 with spaces");
  });

  test("group ids: not empty, not too long, no control characters", () => {
    expect(problem(() => readGroupRequest({ groupId: "" }))).toContain("groupId");
    expect(problem(() => readGroupRequest({ groupId: "x".repeat(256) }))).toContain("groupId");
    expect(problem(() => readGroupRequest({ groupId: "a\u0000b" }))).toContain("control characters");
    expect(problem(() => readGroupRequest({ groupId: 5 }))).toContain("groupId");
  });

  test("joins need topics, assignors and sane timeouts", () => {
    expect(problem(() => readJoinGroupRequest({ ...join, topics: [] }))).toContain("topics");
    expect(problem(() => readJoinGroupRequest({ ...join, assignors: [] }))).toContain("assignors");
    expect(problem(() => readJoinGroupRequest({ ...join, sessionTimeoutMs: 10 }))).toContain("sessionTimeoutMs");
    expect(problem(() => readJoinGroupRequest({ ...join, rebalanceTimeoutMs: 1e12 }))).toContain("rebalanceTimeoutMs");
  });

  test("partitions and offsets: no repeats, no negatives", () => {
    expect(problem(() => readSyncGroupRequest({ groupId: "g", memberId: "m", owned: [{ topic: "t", partitions: [1, 1] }] }))).toContain("twice");
    expect(problem(() => readSyncGroupRequest({ groupId: "g", memberId: "m", owned: [{ topic: "t", partitions: [] }, { topic: "t", partitions: [] }] }))).toContain("twice");
    expect(problem(() => readCommitOffsetsRequest({ groupId: "g", offsets: [{ topic: "t", partition: 0, offset: -1 }] }))).toContain("offset");
    expect(problem(() => readCommitOffsetsRequest({ groupId: "g", offsets: [{ topic: "t", partition: 0, offset: 1 }, { topic: "t", partition: 0, offset: 2 }] }))).toContain("second time");
  });
});
