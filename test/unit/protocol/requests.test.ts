import { describe, expect, test } from "bun:test";
import { KafkaCloneError } from "../../../src/errors";
import {
  readCreateTopicRequest,
  readCreditRequest,
  readListOffsetsRequest,
  readMetadataRequest,
  readProduceRequest,
  readSubscribeRequest,
  readSubscriptionId,
  readTopicName,
} from "../../../src/protocol/requests";

function failure(run: () => unknown): KafkaCloneError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    return error as KafkaCloneError;
  }
  throw new Error("expected the body to be rejected");
}

const produce = (over: Record<string, unknown>, attachmentBytes = 100) =>
  readProduceRequest({ topic: "t", acks: "all", partitions: [{ partition: 0, bytes: 100 }], ...over }, attachmentBytes);
const subscribe = (over: Record<string, unknown>) =>
  readSubscribeRequest({ subscriptionId: 1, topic: "t", partitions: [{ partition: 0, start: { type: "earliest" } }], credit: 1024, ...over });

describe("request validators", () => {
  test("well-formed bodies decode, with defaults filled in", () => {
    expect(readProduceRequest({ topic: "t", partitions: [{ partition: 2, bytes: 10 }, { partition: 0, bytes: 5 }] }, 15)).toEqual({
      topic: "t",
      acks: "all",
      partitions: [{ partition: 2, bytes: 10 }, { partition: 0, bytes: 5 }],
    });
    expect(subscribe({})).toEqual({
      subscriptionId: 1,
      topic: "t",
      partitions: [{ partition: 0, start: { type: "earliest" } }],
      credit: 1024,
      outOfRange: "error",
    });
    expect(subscribe({ partitions: [{ partition: 1, start: { type: "offset", offset: 42 } }, { partition: 2, start: { type: "timestamp", timestamp: 5 } }] }).partitions).toEqual([
      { partition: 1, start: { type: "offset", offset: 42 } },
      { partition: 2, start: { type: "timestamp", timestamp: 5 } },
    ]);
    expect(readMetadataRequest(null)).toEqual({});
    expect(readMetadataRequest({ topics: ["a"] })).toEqual({ topics: ["a"] });
    expect(readCreateTopicRequest({ name: "t", partitions: 3, config: { retentionMs: -1 } })).toEqual({ name: "t", partitions: 3, config: { retentionMs: -1 } });
    expect(readCreditRequest({ subscriptionId: 3, bytes: 0 })).toEqual({ subscriptionId: 3, bytes: 0 });
    expect(readListOffsetsRequest({ topic: "t", partitions: [{ partition: 0, spec: "latest" }, { partition: 1, spec: { timestamp: 9 } }] })).toEqual({
      topic: "t",
      partitions: [{ partition: 0, spec: "latest" }, { partition: 1, spec: { timestamp: 9 } }],
    });
  });

  test("wrong types and ranges are INVALID_REQUEST naming the field", () => {
    const cases: [() => unknown, string][] = [
      [() => readProduceRequest(null, 0), "produce request"],
      [() => readProduceRequest([], 0), "produce request"],
      [() => produce({ partitions: "x" }), "partitions"],
      [() => produce({ partitions: { 0: { partition: 0, bytes: 100 } } }), "partitions"],
      [() => produce({ partitions: [7] }), "partitions[0]"],
      [() => produce({ partitions: [{ partition: "0", bytes: 100 }] }), "partitions[0].partition"],
      [() => produce({ partitions: [{ partition: -1, bytes: 100 }] }), "partitions[0].partition"],
      [() => produce({ partitions: [{ partition: 1.5, bytes: 100 }] }), "partitions[0].partition"],
      [() => produce({ partitions: [{ partition: 0, bytes: 0 }] }, 0), "partitions[0].bytes"],
      [() => produce({ partitions: [{ partition: 0, bytes: 60 }, { partition: 0, bytes: 40 }] }), "partitions[1].partition 0 is listed twice"],
      [() => produce({ topic: 5 }), "topic"],
      [() => produce({ topic: "x".repeat(301) }), "topic"],
      [() => produce({ acks: 1 }), "acks"],
      [() => produce({ acks: "2" }), "acks"],
      [() => produce({}, 99), "partitions declare 100 bytes of batches, the frame carries 99"],
      [() => produce({ partitions: [] }, 10), "partitions declare 0 bytes"],
      [() => subscribe({ subscriptionId: 0 }), "subscriptionId"],
      [() => subscribe({ subscriptionId: "1" }), "subscriptionId"],
      [() => subscribe({ credit: 0 }), "credit"],
      [() => subscribe({ credit: 2 ** 31 }), "credit"],
      [() => subscribe({ credit: "lots" }), "credit"],
      [() => subscribe({ outOfRange: "ignore" }), "outOfRange"],
      [() => subscribe({ partitions: null }), "partitions"],
      [() => subscribe({ partitions: [{ partition: 0 }] }), "partitions[0].start"],
      [() => subscribe({ partitions: [{ partition: 0, start: { type: "offset" } }] }), "partitions[0].start.offset"],
      [() => subscribe({ partitions: [{ partition: 0, start: { type: "timestamp", timestamp: -1 } }] }), "partitions[0].start.timestamp"],
      [() => subscribe({ partitions: [{ partition: 0, start: { type: "earliest" } }, { partition: 0, start: { type: "latest" } }] }), "listed twice"],
      [() => readMetadataRequest("all"), "metadata request"],
      [() => readMetadataRequest({ topics: "a" }), "topics"],
      [() => readMetadataRequest({ topics: [1] }), "topic"],
      [() => readTopicName({}), "topic"],
      [() => readTopicName("t"), "request"],
      [() => readCreateTopicRequest({ name: "t", partitions: 0 }), "partitions"],
      [() => readCreateTopicRequest({ name: "t", partitions: 10_001 }), "partitions"],
      [() => readCreateTopicRequest({ name: "t", partitions: 1, config: "big" }), "config"],
      [() => readCreateTopicRequest({ name: "t", partitions: 1, config: { segmentBytes: "1GB" } }), "config.segmentBytes"],
      [() => readCreditRequest({ subscriptionId: 1, bytes: -5 }), "bytes"],
      [() => readCreditRequest({ subscriptionId: 1, bytes: 2 ** 31 }), "bytes"],
      [() => readCreditRequest({ bytes: 5 }), "subscriptionId"],
      [() => readSubscriptionId({ subscriptionId: null }), "subscriptionId"],
      [() => readListOffsetsRequest({ topic: "t", partitions: [{ partition: 0, spec: "yesterday" }] }), "partitions[0].spec"],
      [() => readListOffsetsRequest({ topic: "t", partitions: [{ partition: 0, spec: { timestamp: "now" } }] }), "partitions[0].spec.timestamp"],
      [() => readListOffsetsRequest({ topic: "t", partitions: [{ partition: 3, spec: "latest" }, { partition: 3, spec: "earliest" }] }), "listed twice"],
    ];
    for (const [run, mentions] of cases) {
      const error = failure(run);
      expect(error.code).toBe("INVALID_REQUEST");
      expect(error.message).toContain(mentions);
    }
  });

  test("values are shown in the message, cut short", () => {
    expect(failure(() => produce({ acks: "x".repeat(1000) })).message.length).toBeLessThan(200);
    expect(failure(() => subscribe({ credit: "lots" })).message).toContain('got "lots"');
  });

  test("an unknown topic setting is INVALID_CONFIG", () => {
    const error = failure(() => readCreateTopicRequest({ name: "t", partitions: 1, config: { compression: 1 } }));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("compression");
  });
});
