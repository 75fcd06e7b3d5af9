import { describe, expect, test } from "bun:test";
import { KafkaCloneError } from "../../../src/errors";
import { type Envelope, fromWire, fromWireError, toWire, toWireError } from "../../../src/protocol/envelope";

function rejection(value: unknown): KafkaCloneError {
  try {
    fromWire(value);
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    return error as KafkaCloneError;
  }
  throw new Error(`fromWire accepted ${JSON.stringify(value)}`);
}

describe("envelope", () => {
  test("request, response and push round trip", () => {
    const envelopes: Envelope[] = [
      { kind: "request", api: "metadata", correlationId: 0, body: { topics: ["a"] } },
      { kind: "request", api: "produce", correlationId: 0xffff_ffff, body: null },
      { kind: "response", correlationId: 5, error: null, body: { ok: true } },
      { kind: "response", correlationId: 6, error: { code: "NOT_LEADER", message: "go there", leader: { id: 2, host: "h", port: 9 } }, body: null },
      { kind: "push", api: "records", body: { subscriptionId: 1 } },
    ];
    for (const envelope of envelopes) expect(fromWire(toWire(envelope))).toEqual(envelope);
  });

  test("a missing body travels as null", () => {
    expect(toWire({ kind: "request", api: "listTopics", correlationId: 1, body: undefined })).toEqual([1, "listTopics", 1, null]);
  });

  test("malformed shapes are rejected with INVALID_REQUEST naming what is wrong", () => {
    const cases: [unknown, string][] = [
      [null, "envelope"],
      [42, "envelope"],
      ["request", "envelope"],
      [{ 0: 1, 1: "metadata", 2: 1, 3: null }, "envelope"],
      [[1, "metadata", 1, null, "extra"], "envelope"],
      [[], "kind undefined"],
      [[9, "metadata", 1, null], "kind 9"],
      [[1, "metadata", 1], "kind 1 with 3 parts"],
      [[3, "records", {}, null], "kind 3 with 4 parts"],
      [[1, 7, 1, null], "api"],
      [[1, null, 1, null], "api"],
      [[1, "a".repeat(65), 1, null], "api"],
      [[1, "metadata", -1, null], "correlation id"],
      [[1, "metadata", 1.5, null], "correlation id"],
      [[1, "metadata", "1", null], "correlation id"],
      [[1, "metadata", 2 ** 32, null], "correlation id"],
      [[2, "1", null, null], "correlation id"],
      [[2, 1, "boom", null], "error"],
      [[2, 1, [], null], "error"],
      [[2, 1, { code: "NOT_LEADER", message: 5 }, null], "error.message"],
      [[2, 1, { code: "NOT_LEADER", message: "x", leader: { id: 1, host: "h", port: 70_000 } }, null], "error.leader.port"],
      [[3, 5, {}], "api"],
    ];
    for (const [value, mentions] of cases) {
      const error = rejection(value);
      expect(error.code).toBe("INVALID_REQUEST");
      expect(error.message).toContain(mentions);
    }
  });

  test("an error code this version does not know becomes UNKNOWN, keeping the message", () => {
    const envelope = fromWire([2, 3, { code: "FROM_THE_FUTURE", message: "newer broker" }, null]);
    expect(envelope).toEqual({ kind: "response", correlationId: 3, error: { code: "UNKNOWN", message: "newer broker" }, body: null });
  });

  test("wire errors keep code, message and leader", () => {
    const original = new KafkaCloneError("NOT_LEADER", "broker 1 is standby");
    const wire = toWireError(original, { id: 2, host: "10.0.0.2", port: 9092 });
    const back = fromWireError(wire);
    expect(back).toBeInstanceOf(KafkaCloneError);
    expect(back.code).toBe("NOT_LEADER");
    expect(back.retriable).toBe(true);
    expect(back.message).toBe("broker 1 is standby");
    expect(back.leader).toEqual({ id: 2, host: "10.0.0.2", port: 9092 });
    expect(fromWireError(toWireError(new KafkaCloneError("TOPIC_NOT_FOUND"))).leader).toBeUndefined();
  });
});
