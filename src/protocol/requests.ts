/** Decoders for request bodies arriving from the network (untrusted input). */
import { KafkaCloneError } from "../errors";
import {
  ACKS,
  type CommitOffsetsRequest,
  type CreateTopicRequest,
  type CreditRequest,
  type FetchOffsetsRequest,
  type JoinGroupRequest,
  type ListOffsetsRequest,
  type MemberRequest,
  type MetadataRequest,
  type OffsetSpec,
  type ProduceRequest,
  type StartPosition,
  type SubscribeRequest,
  type SyncGroupRequest,
  type TopicConfigOverrides,
  type TopicPartitions,
  type ZkClaimRequest,
} from "./api";
import { asArray, asInt, asObject, asOneOf, asString, MAX_TERM_OR_EPOCH, optional } from "./wire-values";

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
  return { brokerId: asInt(o.brokerId, "brokerId", 1, 2 ** 31 - 1), epoch: asInt(o.epoch, "epoch", 1, MAX_TERM_OR_EPOCH) };
}

// Consumer groups

const MAX_GROUP_ID = 255;
const MAX_TIMEOUT_MS = 3_600_000;

export function readGroupId(value: unknown, what = "groupId"): string {
  const id = asString(value, what, MAX_GROUP_ID);
  if (id.length === 0 || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new KafkaCloneError("INVALID_REQUEST", `${what} must be 1 to ${MAX_GROUP_ID} characters without control characters`);
  }
  return id;
}

const memberIdField = (v: unknown) => asString(v, "memberId", 512);

function readTopicPartitionsList(value: unknown, what: string): TopicPartitions[] {
  const seen = new Set<string>();
  return asArray(value, what, 10_000).map((item, i) => {
    const o = asObject(item, `${what}[${i}]`);
    const topic = topicField(o.topic);
    if (seen.has(topic)) throw new KafkaCloneError("INVALID_REQUEST", `${what}[${i}].topic ${topic} is listed twice`);
    seen.add(topic);
    const partitions = asArray(o.partitions, `${what}[${i}].partitions`, MAX_PARTITION + 1).map((p) => partitionField(p));
    if (new Set(partitions).size !== partitions.length) throw new KafkaCloneError("INVALID_REQUEST", `${what}[${i}] lists a partition twice`);
    return { topic, partitions };
  });
}

export function readJoinGroupRequest(body: unknown): JoinGroupRequest {
  const o = asObject(body, "joinGroup request");
  const topics = asArray(o.topics, "topics", 1000).map(topicField);
  if (topics.length === 0) throw new KafkaCloneError("INVALID_REQUEST", "topics must name at least one topic");
  const assignors = asArray(o.assignors, "assignors", 16).map((v, i) => asString(v, `assignors[${i}]`, 64));
  if (assignors.length === 0) throw new KafkaCloneError("INVALID_REQUEST", "assignors must name at least one assignor");
  return {
    groupId: readGroupId(o.groupId),
    memberId: o.memberId === null || o.memberId === undefined ? null : memberIdField(o.memberId),
    clientId: asString(o.clientId ?? "", "clientId", 255),
    topics,
    assignors,
    sessionTimeoutMs: asInt(o.sessionTimeoutMs, "sessionTimeoutMs", 50, MAX_TIMEOUT_MS),
    rebalanceTimeoutMs: asInt(o.rebalanceTimeoutMs, "rebalanceTimeoutMs", 50, MAX_TIMEOUT_MS),
  };
}

export function readSyncGroupRequest(body: unknown): SyncGroupRequest {
  const o = asObject(body, "syncGroup request");
  return { groupId: readGroupId(o.groupId), memberId: memberIdField(o.memberId), owned: readTopicPartitionsList(o.owned, "owned") };
}

export function readMemberRequest(body: unknown): MemberRequest {
  const o = asObject(body, "group member request");
  return { groupId: readGroupId(o.groupId), memberId: memberIdField(o.memberId) };
}

export function readCommitOffsetsRequest(body: unknown): CommitOffsetsRequest {
  const o = asObject(body, "commitOffsets request");
  const seen = new Set<string>();
  const offsets = asArray(o.offsets, "offsets", 100_000).map((item, i) => {
    const e = asObject(item, `offsets[${i}]`);
    const entry = {
      topic: topicField(e.topic),
      partition: partitionField(e.partition, `offsets[${i}].partition`),
      offset: asInt(e.offset, `offsets[${i}].offset`),
      metadata: optional(e.metadata, (v) => asString(v, `offsets[${i}].metadata`, 4096)) ?? "",
    };
    const key = `${entry.topic}:${entry.partition}`;
    if (seen.has(key)) throw new KafkaCloneError("INVALID_REQUEST", `offsets[${i}] commits ${key} a second time`);
    seen.add(key);
    return entry;
  });
  return {
    groupId: readGroupId(o.groupId),
    memberId: o.memberId === null || o.memberId === undefined ? null : memberIdField(o.memberId),
    generationId: asInt(o.generationId ?? -1, "generationId", -1),
    offsets,
  };
}

export function readFetchOffsetsRequest(body: unknown): FetchOffsetsRequest {
  const o = asObject(body, "fetchOffsets request");
  const topics = optional(o.topics, (v) => readTopicPartitionsList(v, "topics"));
  return topics ? { groupId: readGroupId(o.groupId), topics } : { groupId: readGroupId(o.groupId) };
}

export function readGroupRequest(body: unknown): string {
  return readGroupId(asObject(body, "group request").groupId);
}
