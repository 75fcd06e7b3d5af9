/**
 * The idempotent producer gives up on a batch (delivery timeout, or a
 * non-retriable error) and starts a new producer id: records sent after that
 * must still land after the records sent before it that are still being
 * retried (the chaos checker found newer records overtaking older ones,
 * seed 105), and older records that can never land must not hold the newer
 * ones up until their own delivery timeout.
 */
import { afterEach, expect, test } from "bun:test";
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

function setUp(script: Outcome[], options: Partial<ProducerOptions>): { broker: FakeBroker; producer: Producer } {
  const broker = new FakeBroker("t", 1);
  broker.script.push(...script);
  cleanups.push(() => broker.stop());
  const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 1, requestTimeoutMs: 5000, discoveryTimeoutMs: 5000, ...options });
  cleanups.push(() => producer.close().catch(() => {}));
  return { broker, producer };
}

const send = (producer: Producer, prefix: string, count = 5): Promise<RecordMetadata[]> =>
  Promise.all(Array.from({ length: count }, (_, i) => producer.send("t", { value: utf8.encode(`${prefix}${i}`), partition: 0 })));
const values = (prefix: string, count = 5) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

async function rejection(promise: Promise<unknown>): Promise<KafkaCloneError> {
  try {
    await promise;
  } catch (error) {
    return error as KafkaCloneError;
  }
  throw new Error("expected a rejection");
}

test("records sent after the producer gave up on a batch land after older ones still being retried", async () => {
  // x is written, but its answer (NOT_LEADER) comes after its delivery timeout: the producer gives up
  // on it and starts a new producer id. y (sent before that, old id) is refused once and waits out a
  // backoff; z is sent after x was given up (new id). y must still land before z.
  const deliveryTimeoutMs = 400;
  const { broker, producer } = setUp(
    [{ appendThenRequestError: "NOT_LEADER", holdMs: deliveryTimeoutMs + 50 }, { partitionError: "STORAGE_ERROR" }],
    { deliveryTimeoutMs, maxInFlight: 1, retryBackoffMs: 50 },
  );
  const x = send(producer, "x");
  while (broker.produceRequests < 1) await Bun.sleep(1);
  // Half the delivery timeout later: y's own timeout runs out well after x's.
  await Bun.sleep(deliveryTimeoutMs / 2);
  const y = send(producer, "y");
  expect((await rejection(x)).code).toBe("NOT_LEADER");
  const z = send(producer, "z");
  const [yMeta, zMeta] = await Promise.all([y, z]);
  expect(broker.values(0)).toEqual([...values("x"), ...values("y"), ...values("z")]);
  expect(yMeta.map((m) => m.offset)).toEqual([5, 6, 7, 8, 9]);
  expect(zMeta.map((m) => m.offset)).toEqual([10, 11, 12, 13, 14]);
});

test("an older batch that can never land (the gap before it is permanent) is given up at once, and newer records follow", async () => {
  // x fails for good (nothing written) while y, of the same producer id and already sent, is refused
  // as out of sequence: it can never land, so it fails now instead of after its 10 s delivery timeout.
  const { broker, producer } = setUp([{ partitionError: "INVALID_RECORD", holdMs: 100 }], { deliveryTimeoutMs: 10_000, maxInFlight: 2, retryBackoffMs: 10 });
  const x = send(producer, "x");
  while (broker.produceRequests < 1) await Bun.sleep(1);
  const started = performance.now();
  const y = send(producer, "y");
  expect((await rejection(x)).code).toBe("INVALID_RECORD");
  const z = send(producer, "z");
  expect((await rejection(y)).code).toBe("OUT_OF_ORDER_SEQUENCE");
  expect(performance.now() - started).toBeLessThan(3000);
  expect((await z).map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
  expect(broker.values(0)).toEqual(values("z"));
});
