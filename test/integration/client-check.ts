/**
 * "Does the broker still serve a normal client?" — one record produced with
 * the client library and read back with a consumer, both over fresh
 * connections.
 */
import { expect } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Consumer } from "../../src/client/consumer";
import { Producer } from "../../src/client/producer";
import { withTimeout, type ServerProcess } from "./harness";

const CHECK_TOPIC = "health-check";
let round = 0;

export async function assertBrokerServes(broker: ServerProcess): Promise<void> {
  expect(broker.proc.exitCode).toBeNull();
  expect(broker.proc.signalCode).toBeNull();
  const bootstrap = [{ host: "127.0.0.1", port: broker.port }];
  const options = { bootstrap, discoveryTimeoutMs: 5000, requestTimeoutMs: 5000 };
  const admin = new Admin(options);
  const producer = new Producer({ ...options, lingerMs: 0 });
  const value = new TextEncoder().encode(`still serving ${++round} ${Date.now()}`);
  let consumer: Consumer | null = null;
  try {
    await admin.ensureTopic(CHECK_TOPIC, 1);
    const { offset } = await producer.send(CHECK_TOPIC, { value, partition: 0 });
    consumer = new Consumer({ ...options, topic: CHECK_TOPIC, partitions: [0], startOffsets: new Map([[0, offset]]) });
    await consumer.start();
    const iterator = consumer.records();
    const first = await withTimeout(iterator.next(), 5000, "the health-check record");
    expect(first.done).toBe(false);
    expect(first.value!.offset).toBe(offset);
    expect(first.value!.value).toEqual(value);
  } finally {
    consumer?.close();
    await producer.close();
    admin.close();
  }
}
