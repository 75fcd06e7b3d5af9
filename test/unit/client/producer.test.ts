/** The producer against a real broker running in this process (no binary, no child process). */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Broker } from "../../../src/broker/broker";
import { Admin } from "../../../src/client/admin";
import { partitionForKey } from "../../../src/client/partitioner";
import { Producer, type ProducerOptions, type RecordMetadata } from "../../../src/client/producer";
import { KafkaCloneError } from "../../../src/errors";
import { checkFrame } from "../../../src/log/batch-frame";
import { decodeRecords, type StoredRecord } from "../../../src/log/record-codec";
import { configureLogging } from "../../../src/logger";
import { waitUntil } from "../../integration/harness";

configureLogging({ level: "error" });
const utf8 = new TextEncoder();
const text = new TextDecoder();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startBroker(active = true): Promise<Broker> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-producer-"));
  const broker = new Broker({ id: 1, host: "127.0.0.1", port: 0, dataDir, maxFrameBytes: 64 * 1024 * 1024 });
  broker.listen();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  cleanups.push(() => broker.stop());
  if (active) await broker.becomeActive(broker.nextStandaloneEpoch());
  return broker;
}

function clientOptions(broker: Broker): { bootstrap: { host: string; port: number }[]; discoveryTimeoutMs: number } {
  return { bootstrap: [{ host: "127.0.0.1", port: broker.port }], discoveryTimeoutMs: 10_000 };
}

async function createTopic(broker: Broker, name: string, partitions: number): Promise<void> {
  const admin = new Admin(clientOptions(broker));
  await admin.createTopic(name, partitions);
  admin.close();
}

function producerFor(broker: Broker, options: Partial<ProducerOptions> = {}): Producer {
  const producer = new Producer({ ...clientOptions(broker), retryBackoffMs: 20, ...options });
  cleanups.push(() => producer.close().catch(() => {}));
  return producer;
}

/** Every durable record of a partition, straight from the broker's log. */
function readPartition(broker: Broker, topic: string, partition: number): StoredRecord[] {
  const log = broker.logs!.partition(topic, partition);
  const records: StoredRecord[] = [];
  for (let offset = log.logStartOffset; offset < log.highWatermark; ) {
    const { data, nextOffset } = log.read(offset, 1024 * 1024);
    for (let pos = 0; pos < data.length; ) {
      const check = checkFrame(data, pos);
      if (!check.ok) throw new Error(check.reason);
      records.push(...decodeRecords(data, pos).filter((r) => r.offset >= offset));
      pos += check.header.frameSize;
    }
    offset = nextOffset;
  }
  return records;
}

const valueOf = (i: number) => `record-${i}-${"x".repeat((i * 37) % 900)}`;

describe("producer against an in-process broker", () => {
  test("each record's promise resolves to its own offset, in send order, and the log holds it there", async () => {
    const broker = await startBroker();
    await createTopic(broker, "offsets", 1);
    const producer = producerFor(broker, { batchBytes: 4096, maxRequestBytes: 16 * 1024, maxInFlight: 1 });
    await producer.partitionCount("offsets");
    const sends = Array.from({ length: 2000 }, (_, i) => producer.send("offsets", { value: utf8.encode(valueOf(i)) }));
    // Seal the last, small batch while full ones still wait: it must not overtake them.
    await Bun.sleep(0);
    await producer.flush();
    const metadata = await Promise.all(sends);
    expect(metadata.map((m) => m.offset)).toEqual([...Array(2000).keys()]);
    const stored = readPartition(broker, "offsets", 0);
    expect(stored.map((r) => text.decode(r.value!))).toEqual(Array.from({ length: 2000 }, (_, i) => valueOf(i)));
  });

  test("keyed records: per-partition offsets are contiguous and each points at its record", async () => {
    const broker = await startBroker();
    await createTopic(broker, "keyed", 4);
    const producer = producerFor(broker, { batchBytes: 2048 });
    const sent = Array.from({ length: 1000 }, (_, i) => ({ key: utf8.encode(`user-${i % 37}`), value: utf8.encode(`event-${i}`) }));
    const metadata = await Promise.all(sent.map((record) => producer.send("keyed", record)));
    const byPartition = new Map<number, RecordMetadata[]>();
    metadata.forEach((m, i) => {
      expect(m.partition).toBe(partitionForKey(sent[i]!.key, 4));
      byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
    });
    for (const [partition, list] of byPartition) {
      expect(list.map((m) => m.offset)).toEqual([...Array(list.length).keys()]);
      const stored = readPartition(broker, "keyed", partition);
      for (const m of list) {
        const i = metadata.indexOf(m);
        expect(text.decode(stored[m.offset]!.value!)).toBe(`event-${i}`);
        expect(text.decode(stored[m.offset]!.key!)).toBe(`user-${i % 37}`);
      }
    }
  });

  test("acks=1 resolves offsets; acks=0 resolves -1 and the records still arrive", async () => {
    const broker = await startBroker();
    await createTopic(broker, "acks", 1);
    const one = producerFor(broker, { acks: "1" });
    const ones = await Promise.all(Array.from({ length: 10 }, (_, i) => one.send("acks", { value: utf8.encode(`one-${i}`) })));
    expect(ones.map((m) => m.offset)).toEqual([...Array(10).keys()]);
    const zero = producerFor(broker, { acks: "0" });
    const zeros = await Promise.all(Array.from({ length: 10 }, (_, i) => zero.send("acks", { value: utf8.encode(`zero-${i}`) })));
    expect(zeros.every((m) => m.offset === -1)).toBe(true);
    await zero.close();
    await waitUntil(() => broker.logs!.partition("acks", 0).highWatermark === 20, 5000, "the acks=0 records");
    expect(readPartition(broker, "acks", 0).map((r) => text.decode(r.value!))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `one-${i}`),
      ...Array.from({ length: 10 }, (_, i) => `zero-${i}`),
    ]);
  });

  test("a missing topic and a missing partition are clear errors", async () => {
    const broker = await startBroker();
    await createTopic(broker, "small", 2);
    const producer = producerFor(broker);
    const codeOf = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        return (error as KafkaCloneError).code;
      }
      return "resolved";
    };
    expect(await codeOf(producer.send("absent", { value: utf8.encode("x") }))).toBe("TOPIC_NOT_FOUND");
    expect(await codeOf(producer.send("small", { value: utf8.encode("x"), partition: 2 }))).toBe("INVALID_PARTITION");
    expect((await producer.send("small", { value: utf8.encode("x"), partition: 1 })).offset).toBe(0);
  });

  test("records sent before any broker is active are delivered once one is", async () => {
    const broker = await startBroker(false);
    const asked = countCalls(broker, "metadata");
    const producer = producerFor(broker);
    const sends = Array.from({ length: 20 }, (_, i) => producer.send("later", { value: utf8.encode(`early-${i}`), partition: 0 }));
    await waitUntil(() => asked.calls > 0, 5000, "the producer to find only a standby broker");
    await broker.becomeActive(broker.nextStandaloneEpoch());
    await createTopic(broker, "later", 1);
    const metadata = await Promise.all(sends);
    expect(metadata.map((m) => m.offset)).toEqual([...Array(20).keys()]);
  });

  test("a broker stepping down mid-stream: every record is retried until acknowledged, and its offset holds it", async () => {
    const broker = await startBroker();
    await createTopic(broker, "failover", 1);
    // NOT_LEADER comes from requireActive (new requests) or confirmLeadership (requests in flight).
    const refusals = [countCalls(broker, "requireActive", true), countCalls(broker, "confirmLeadership", true)];
    const producer = producerFor(broker, { batchBytes: 1024, lingerMs: 1 });
    const sends: Promise<RecordMetadata>[] = [];
    const sendRange = (from: number, to: number) => {
      for (let i = from; i < to; i++) sends.push(producer.send("failover", { value: utf8.encode(`f-${i}`), partition: 0 }));
    };
    sendRange(0, 1000);
    await Promise.all(sends.slice(0, 500));
    await broker.stepDown("test: leadership lost");
    sendRange(1000, 2000);
    await waitUntil(() => refusals.some((r) => r.calls > 0), 5000, "a produce request refused with NOT_LEADER");
    await broker.becomeActive(broker.nextStandaloneEpoch());
    sendRange(2000, 3000);
    const metadata = await Promise.all(sends);
    const values = readPartition(broker, "failover", 0).map((r) => text.decode(r.value!));
    metadata.forEach((m, i) => expect(values[m.offset]).toBe(`f-${i}`));
    // Idempotent (the default with acks=all): nothing lost, nothing twice, nothing out of order.
    expect(values).toEqual(Array.from({ length: 3000 }, (_, i) => `f-${i}`));
  });
});

/** Counts calls of one of the broker's methods (only the failed ones with `failuresOnly`). */
function countCalls(broker: Broker, method: "metadata" | "requireActive" | "confirmLeadership", failuresOnly = false): { calls: number } {
  const counter = { calls: 0 };
  const target = broker as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = target[method]!.bind(broker);
  target[method] = (...args: unknown[]) => {
    if (!failuresOnly) counter.calls++;
    try {
      return original(...args);
    } catch (error) {
      if (failuresOnly) counter.calls++;
      throw error;
    }
  };
  return counter;
}
