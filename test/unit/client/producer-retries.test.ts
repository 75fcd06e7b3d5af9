import { afterEach, describe, expect, test } from "bun:test";
import { Producer, type ProducerOptions, type RecordMetadata } from "../../../src/client/producer";
import { KafkaCloneError } from "../../../src/errors";
import { configureLogging } from "../../../src/logger";
import { FakeBroker, type Outcome } from "./fake-broker";

configureLogging({ level: "error" });
const utf8 = new TextEncoder();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUp(script: Outcome[], options: Partial<ProducerOptions> = {}): { broker: FakeBroker; producer: Producer } {
  const broker = new FakeBroker("t", 2);
  broker.script.push(...script);
  cleanups.push(() => broker.stop());
  const producer = new Producer({ bootstrap: broker.bootstrap, retryBackoffMs: 10, lingerMs: 1, requestTimeoutMs: 5000, discoveryTimeoutMs: 5000, ...options });
  cleanups.push(() => producer.close().catch(() => {}));
  return { broker, producer };
}

/** `count` records to partition 0 ("v0", "v1", ...), sent in one go; resolves to each one's metadata. */
function sendMany(producer: Producer, count: number, partition = 0, prefix = "v"): Promise<RecordMetadata[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => producer.send("t", { value: utf8.encode(`${prefix}${i}`), partition })));
}

async function rejection(promise: Promise<unknown>): Promise<KafkaCloneError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    return error as KafkaCloneError;
  }
  throw new Error("expected a rejection");
}

const expected = (count: number, prefix = "v") => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe("producer retries", () => {
  for (const [name, outcome] of [
    ["a retriable partition error (STORAGE_ERROR)", { partitionError: "STORAGE_ERROR" }],
    ["a retriable request error (NOT_LEADER)", { requestError: "NOT_LEADER" }],
    ["a dropped connection (NETWORK_ERROR)", "hangUp"],
  ] as [string, Outcome][]) {
    test(`${name} is retried: every record lands once, in order, with its own offset`, async () => {
      const { broker, producer } = setUp([outcome, outcome]);
      const metadata = await sendMany(producer, 100);
      expect(metadata.map((m) => m.offset)).toEqual([...Array(100).keys()]);
      expect(broker.values(0)).toEqual(expected(100));
      expect(broker.produceRequests).toBeGreaterThanOrEqual(3);
    });
  }

  test("a request that times out is retried on a fresh connection", async () => {
    const { broker, producer } = setUp(["silence"], { requestTimeoutMs: 200 });
    const metadata = await sendMany(producer, 10);
    expect(metadata.map((m) => m.offset)).toEqual([...Array(10).keys()]);
    expect(broker.values(0)).toEqual(expected(10));
  });

  test("a non-retriable error fails each record with its code, without retrying", async () => {
    const { broker, producer } = setUp([{ partitionError: "INVALID_RECORD" }]);
    const errors = await Promise.all(Array.from({ length: 5 }, (_, i) => rejection(producer.send("t", { value: utf8.encode(`${i}`), partition: 0 }))));
    for (const error of errors) expect(error.code).toBe("INVALID_RECORD");
    expect(broker.produceRequests).toBe(1);
    // The producer is still usable.
    expect((await producer.send("t", { value: utf8.encode("after"), partition: 0 })).offset).toBe(0);
  });

  test("a retriable error that never clears fails the records once the delivery timeout passes", async () => {
    const { broker, producer } = setUp(Array(1000).fill({ partitionError: "STORAGE_ERROR" }), { deliveryTimeoutMs: 300 });
    const started = performance.now();
    const error = await rejection(producer.send("t", { value: utf8.encode("doomed"), partition: 0 }));
    expect(error.code).toBe("STORAGE_ERROR");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(broker.produceRequests).toBeGreaterThan(2);
    expect(broker.values(0)).toEqual([]);
  });

  for (const acks of ["all", "1"] as const) {
    test(`acks=${acks}: batches retried from a failed multi-batch request keep their order ahead of newer ones`, async () => {
      // Small batches, one request in flight: the failed request carries several batches of
      // partition 0 while newer batches wait behind it.
      const { broker, producer } = setUp([{ partitionError: "STORAGE_ERROR" }], { acks, batchBytes: 256, maxInFlight: 1, maxRequestBytes: 2048 });
      const metadata = await sendMany(producer, 300);
      expect(broker.values(0)).toEqual(expected(300));
      expect(metadata.map((m) => m.offset)).toEqual([...Array(300).keys()]);
    });
  }

  test("several requests in flight, the first fails: its batches are retried before anything newer of their partition", async () => {
    // Each failed batch waits out its own backoff; sending newer batches of the partition meanwhile
    // leaves a sequence gap the broker refuses, every round (the producer wedged until its delivery timeout).
    const { broker, producer } = setUp([{ partitionError: "STORAGE_ERROR" }], { batchBytes: 256, maxInFlight: 5, deliveryTimeoutMs: 3000 });
    const metadata = await sendMany(producer, 400);
    expect(broker.values(0)).toEqual(expected(400));
    expect(metadata.map((m) => m.offset)).toEqual([...Array(400).keys()]);
  });

  // With more than one request in flight, order after a failure also needs the broker to refuse
  // out-of-sequence batches (idempotence); the client alone guarantees it with one in flight.
  test("records for two partitions in one failing request are both retried, each in order", async () => {
    const { broker, producer } = setUp([{ requestError: "NOT_LEADER" }], { batchBytes: 256, maxInFlight: 1 });
    const [a, b] = await Promise.all([sendMany(producer, 100, 0, "a"), sendMany(producer, 100, 1, "b")]);
    expect(broker.values(0)).toEqual(expected(100, "a"));
    expect(broker.values(1)).toEqual(expected(100, "b"));
    expect(a!.map((m) => m.offset)).toEqual([...Array(100).keys()]);
    expect(b!.every((m) => m.partition === 1)).toBe(true);
  });
});
