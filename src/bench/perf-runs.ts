/** The three `kafka-clone bench` modes: produce, consume and end to end (produce → consume). */
import { Admin } from "../client/admin";
import type { ClusterClientOptions } from "../client/cluster-client";
import { STAMP_BYTES, stampValue } from "./consume-load";
import { LatencyRecorder, type LatencySummary } from "./latency";
import { consumeLoad } from "./perf-consume";
import { produceLoad, type ProducerSettings } from "./perf-produce";
import { Progress } from "./progress";

export interface PerfOptions {
  cluster: ClusterClientOptions;
  topic: string;
  records: number;
  recordBytes: number;
  partitions: number;
  producer: ProducerSettings;
  idleMs: number;
  progress: boolean;
}

export interface PerfResult {
  mode: "produce" | "consume" | "e2e";
  topic: string;
  partitions: number;
  recordBytes: number;
  /** What the run asked for. */
  requested: number;
  /** Produce: acknowledged; consume and e2e: received by the consumer. */
  records: number;
  sent: number;
  failed: number;
  firstError: string | null;
  seconds: number;
  recordsPerSec: number;
  /** Record values only, MB = 10^6 bytes. */
  mbPerSec: number;
  producer: ProducerSettings | null;
  ackLatencyMs: LatencySummary | null;
  endToEndLatencyMs: LatencySummary | null;
}

/** Creates the topic with `partitions` if it is missing; returns its real partition count. */
async function prepareTopic(options: PerfOptions): Promise<number> {
  const admin = new Admin(options.cluster);
  try {
    await admin.ensureTopic(options.topic, options.partitions);
    return (await admin.describeTopic(options.topic)).partitions.length;
  } finally {
    admin.close();
  }
}

function result(mode: PerfResult["mode"], options: PerfOptions, partitions: number, fields: Partial<PerfResult> & { records: number; seconds: number }): PerfResult {
  const seconds = fields.seconds > 0 ? fields.seconds : Number.EPSILON;
  return {
    mode,
    topic: options.topic,
    partitions,
    recordBytes: options.recordBytes,
    requested: options.records,
    sent: 0,
    failed: 0,
    firstError: null,
    producer: null,
    ackLatencyMs: null,
    endToEndLatencyMs: null,
    recordsPerSec: fields.records / seconds,
    mbPerSec: (fields.records * options.recordBytes) / 1e6 / seconds,
    ...fields,
  };
}

export async function benchProduce(options: PerfOptions): Promise<PerfResult> {
  const partitions = await prepareTopic(options);
  const load = produceLoad({ ...options.producer, cluster: options.cluster, topic: options.topic, records: options.records, recordBytes: options.recordBytes });
  const progress = new Progress("produce", options.records, { done: () => load.acked, detail: () => (load.failed ? `${load.failed} failed` : "") }, process.stderr, options.progress);
  let seconds: number;
  try {
    seconds = await load.run();
  } finally {
    progress.stop();
  }
  return result("produce", options, partitions, {
    records: load.acked,
    sent: load.sent,
    failed: load.failed,
    firstError: load.firstError,
    seconds,
    producer: options.producer,
    ackLatencyMs: load.latency.summary(),
  });
}

export async function benchConsume(options: PerfOptions): Promise<PerfResult> {
  const admin = new Admin(options.cluster);
  const partitions = await admin.describeTopic(options.topic).then((d) => d.partitions.length).finally(() => admin.close());
  const load = consumeLoad({ cluster: options.cluster, topic: options.topic, records: options.records, idleMs: options.idleMs, start: { type: "earliest" } });
  const progress = new Progress("consume", options.records, { done: () => load.received }, process.stderr, options.progress);
  let seconds: number;
  try {
    await load.start();
    seconds = await load.finish();
  } finally {
    progress.stop();
    load.close();
  }
  const perRecord = load.received > 0 ? load.valueBytes / load.received : 0;
  const measured = result("consume", { ...options, recordBytes: Math.round(perRecord) }, partitions, { records: load.received, seconds });
  return { ...measured, mbPerSec: load.valueBytes / 1e6 / (seconds > 0 ? seconds : Number.EPSILON) };
}

/** A consumer subscribed at the log end, then paced producers stamping their send time into each value. */
export async function benchEndToEnd(options: PerfOptions): Promise<PerfResult> {
  const recordBytes = Math.max(options.recordBytes, STAMP_BYTES);
  const partitions = await prepareTopic(options);
  const endToEnd = new LatencyRecorder();
  const consumer = consumeLoad({
    cluster: options.cluster,
    topic: options.topic,
    records: options.records,
    idleMs: options.idleMs,
    start: { type: "latest" },
    onRecord: (record, receivedAt) => {
      const value = record.value;
      if (value === null || value.length < STAMP_BYTES || value[8] !== 1) return;
      endToEnd.recordMs(receivedAt - new DataView(value.buffer, value.byteOffset, value.byteLength).getFloat64(0, true));
    },
  });
  await consumer.start();
  const producer = produceLoad({
    ...options.producer,
    cluster: options.cluster,
    topic: options.topic,
    records: options.records,
    recordBytes,
    stamp: (value, sendTime) => stampValue(value, sendTime, true),
  });
  const progress = new Progress("e2e", options.records, { done: () => consumer.received, detail: () => `${producer.acked.toLocaleString("en-US")} acked` }, process.stderr, options.progress);
  let seconds: number;
  try {
    await producer.run();
    seconds = await consumer.finish();
  } finally {
    progress.stop();
    consumer.close();
  }
  return result("e2e", { ...options, recordBytes }, partitions, {
    records: consumer.received,
    sent: producer.sent,
    failed: producer.failed,
    firstError: producer.firstError,
    seconds,
    producer: options.producer,
    ackLatencyMs: producer.latency.summary(),
    endToEndLatencyMs: endToEnd.summary(),
  });
}
