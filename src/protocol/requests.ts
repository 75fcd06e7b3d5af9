/** Decoders for request bodies arriving from the network (untrusted input). */
import { KafkaCloneError } from "../errors";
import {
  ACKS,
  type CreateTopicRequest,
  type CreditRequest,
  type ListOffsetsRequest,
  type MetadataRequest,
  type OffsetSpec,
  type ProduceRequest,
  type StartPosition,
  type SubscribeRequest,
  type TopicConfigOverrides,
  type ZkClaimRequest,
} from "./api";
import { asArray, asInt, asObject, asOneOf, asString, optional } from "./wire-values";

const MAX_PARTITION = 9_999;
const MAX_TIMESTAMP = 8_640_000_000_000_000;

const topicField = (v: unknown) => asString(v, "topic", 300);
const partitionField = (v: unknown, what = "partition") => asInt(v, what, 0, MAX_PARTITION);

/**
 * Each partition at most once per request: a repeated one would be appended
 * twice, or subscribed twice (leaking the first cursor's log listener).
 */
function uniquePartitions<T extends { partition: number }>(list: T[]): T[] {
  const seen = new Set<number>();
  list.forEach(({ partition }, i) => {
    if (seen.has(partition)) throw new KafkaCloneError("INVALID_REQUEST", `partitions[${i}].partition ${partition} is listed twice`);
    seen.add(partition);
  });
  return list;
}

export function readMetadataRequest(body: unknown): MetadataRequest {
  const o = body === null ? {} : asObject(body, "metadata request");
  const topics = optional(o.topics, (v) => asArray(v, "topics", 10_000).map(topicField));
  return topics ? { topics } : {};
}

export function readTopicName(body: unknown): string {
  return topicField(asObject(body, "request").name);
}

export function readCreateTopicRequest(body: unknown): CreateTopicRequest {
  const o = asObject(body, "createTopic request");
  const config: TopicConfigOverrides = {};
  if (o.config !== undefined && o.config !== null) {
    const c = asObject(o.config, "config");
    for (const key of ["segmentBytes", "segmentMs", "retentionMs", "retentionBytes"] as const) {
      if (c[key] !== undefined) config[key] = asInt(c[key], `config.${key}`, -1);
    }
    const unknown = Object.keys(c).filter((k) => !["segmentBytes", "segmentMs", "retentionMs", "retentionBytes"].includes(k));
    if (unknown.length > 0) throw new KafkaCloneError("INVALID_CONFIG", `unknown topic setting ${unknown[0]}`);
  }
  return { name: topicField(o.name), partitions: asInt(o.partitions, "partitions", 1, MAX_PARTITION + 1), config };
}

export function readProduceRequest(body: unknown, attachmentBytes: number): ProduceRequest {
  const o = asObject(body, "produce request");
  const partitions = asArray(o.partitions, "partitions", MAX_PARTITION + 1).map((p, i) => {
    const po = asObject(p, `partitions[${i}]`);
    return { partition: partitionField(po.partition, `partitions[${i}].partition`), bytes: asInt(po.bytes, `partitions[${i}].bytes`, 1) };
  });
  uniquePartitions(partitions);
  const declared = partitions.reduce((sum, p) => sum + p.bytes, 0);
  if (declared !== attachmentBytes) {
    throw new KafkaCloneError("INVALID_REQUEST", `partitions declare ${declared} bytes of batches, the frame carries ${attachmentBytes}`);
  }
  return { topic: topicField(o.topic), acks: asOneOf(o.acks ?? "all", "acks", ACKS), partitions };
}

function readStart(value: unknown, what: string): StartPosition {
  const o = asObject(value, what);
  const type = asOneOf(o.type, `${what}.type`, ["earliest", "latest", "offset", "timestamp"] as const);
  if (type === "offset") return { type, offset: asInt(o.offset, `${what}.offset`) };
  if (type === "timestamp") return { type, timestamp: asInt(o.timestamp, `${what}.timestamp`, 0, MAX_TIMESTAMP) };
  return { type };
}

export function readSubscribeRequest(body: unknown): SubscribeRequest {
  const o = asObject(body, "subscribe request");
  const partitions = asArray(o.partitions, "partitions", MAX_PARTITION + 1).map((p, i) => {
    const po = asObject(p, `partitions[${i}]`);
    return { partition: partitionField(po.partition, `partitions[${i}].partition`), start: readStart(po.start, `partitions[${i}].start`) };
  });
  uniquePartitions(partitions);
  return {
    subscriptionId: asInt(o.subscriptionId, "subscriptionId", 1, 0xffff_ffff),
    topic: topicField(o.topic),
    partitions,
    credit: asInt(o.credit, "credit", 1, 1 << 30),
    outOfRange: asOneOf(o.outOfRange ?? "error", "outOfRange", ["error", "earliest", "latest"] as const),
  };
}

export function readCreditRequest(body: unknown): CreditRequest {
  const o = asObject(body, "credit request");
  return { subscriptionId: asInt(o.subscriptionId, "subscriptionId"), bytes: asInt(o.bytes, "bytes", 0, 1 << 30) };
}

export function readSubscriptionId(body: unknown): number {
  return asInt(asObject(body, "request").subscriptionId, "subscriptionId");
}

function readOffsetSpec(value: unknown, what: string): OffsetSpec {
  if (value === "earliest" || value === "latest") return value;
  const o = asObject(value, what);
  return { timestamp: asInt(o.timestamp, `${what}.timestamp`, 0, MAX_TIMESTAMP) };
}

export function readListOffsetsRequest(body: unknown): ListOffsetsRequest {
  const o = asObject(body, "listOffsets request");
  const partitions = asArray(o.partitions, "partitions", MAX_PARTITION + 1).map((p, i) => {
    const po = asObject(p, `partitions[${i}]`);
    return { partition: partitionField(po.partition, `partitions[${i}].partition`), spec: readOffsetSpec(po.spec, `partitions[${i}].spec`) };
  });
  uniquePartitions(partitions);
  return { topic: topicField(o.topic), partitions };
}

export function readZkClaimRequest(body: unknown): ZkClaimRequest {
  const o = asObject(body, "claim request");
  return { brokerId: asInt(o.brokerId, "brokerId", 1, 2 ** 31 - 1), epoch: asInt(o.epoch, "epoch", 1) };
}
