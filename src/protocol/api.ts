/** The native API: request names and the bodies they carry. */
import type { BrokerAddress, WireError } from "./envelope";
import type { ClusterView } from "./heartbeat-codec";

export const API = {
  metadata: "metadata",
  createTopic: "createTopic",
  deleteTopic: "deleteTopic",
  listTopics: "listTopics",
  describeTopic: "describeTopic",
  produce: "produce",
  subscribe: "subscribe",
  credit: "credit",
  unsubscribe: "unsubscribe",
  listOffsets: "listOffsets",
} as const;

export const PUSH = {
  /** New batches for a subscription; the frames are the attachment. */
  records: "records",
  /** A subscription's partition stopped (the broker stepped down, the topic went away). */
  subscriptionError: "subscriptionError",
} as const;

export type Acks = "all" | "1" | "0";
export const ACKS: readonly Acks[] = ["all", "1", "0"];

export interface MetadataRequest {
  topics?: string[];
}

export interface TopicSummary {
  name: string;
  partitions: number;
}

export interface MetadataResponse {
  brokerId: number;
  role: "active" | "standby";
  activeBroker: BrokerAddress | null;
  epoch: number;
  brokers: BrokerAddress[];
  topics: TopicSummary[];
}

export interface TopicConfigOverrides {
  segmentBytes?: number;
  segmentMs?: number;
  retentionMs?: number;
  retentionBytes?: number;
}

export interface CreateTopicRequest {
  name: string;
  partitions: number;
  config: TopicConfigOverrides;
}

export interface ProducePartition {
  partition: number;
  /** How many attachment bytes (back-to-back frames) belong to this partition. */
  bytes: number;
}

export interface ProduceRequest {
  topic: string;
  acks: Acks;
  partitions: ProducePartition[];
}

export type ProducePartitionResult =
  | { partition: number; baseOffsets: number[] }
  | { partition: number; error: WireError };

export interface ProduceResponse {
  partitions: ProducePartitionResult[];
}

export type StartPosition =
  | { type: "earliest" }
  | { type: "latest" }
  | { type: "offset"; offset: number }
  | { type: "timestamp"; timestamp: number };

export type OutOfRangePolicy = "error" | "earliest" | "latest";

export interface SubscribeRequest {
  /** Chosen by the client, unique on its connection, so pushes can arrive before the response. */
  subscriptionId: number;
  topic: string;
  partitions: { partition: number; start: StartPosition }[];
  /** Bytes the broker may push before the client grants more. */
  credit: number;
  outOfRange: OutOfRangePolicy;
}

export interface SubscribeResponse {
  subscriptionId: number;
  partitions: { partition: number; offset: number; logStartOffset: number; highWatermark: number }[];
}

export interface CreditRequest {
  subscriptionId: number;
  bytes: number;
}

export interface RecordsPush {
  subscriptionId: number;
  partition: number;
  /** The offset the client asked for next; frames may begin before it. */
  fromOffset: number;
  nextOffset: number;
  highWatermark: number;
}

export interface SubscriptionErrorPush {
  subscriptionId: number;
  partition: number;
  error: WireError;
}

export type OffsetSpec = "earliest" | "latest" | { timestamp: number };

export interface ListOffsetsRequest {
  topic: string;
  partitions: { partition: number; spec: OffsetSpec }[];
}

export interface ListOffsetsResponse {
  partitions: { partition: number; offset: number | null }[];
}

/** The zookeeper's TCP API (same port number as its UDP heartbeats). */
export const ZK_API = {
  view: "zkView",
  claim: "zkClaim",
} as const;

export interface ZkViewResponse {
  view: ClusterView;
  zkIncarnation: number;
  sessionTimeoutMs: number;
  uptimeMs: number;
  counters: Record<string, number>;
  /** Per broker: ms since its last accepted heartbeat. */
  heartbeatAgeMs: Record<string, number>;
}

export interface ZkClaimRequest {
  brokerId: number;
  epoch: number;
}

export interface ZkClaimResponse {
  accepted: boolean;
  epoch: number;
  reason?: string;
  view: ClusterView;
}
