/** The native API: request names and the bodies they carry. */
import type { BrokerAddress, WireError } from "./envelope";
import type { BrokerAddresses, BrokerRole, ClusterView } from "./heartbeat-codec";

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
  joinGroup: "joinGroup",
  syncGroup: "syncGroup",
  heartbeat: "heartbeat",
  leaveGroup: "leaveGroup",
  commitOffsets: "commitOffsets",
  fetchOffsets: "fetchOffsets",
  listGroups: "listGroups",
  describeGroup: "describeGroup",
  deleteGroup: "deleteGroup",
} as const;

export const PUSH = {
  /** New batches for a subscription; the frames are the attachment. */
  records: "records",
  /** A subscription's partition stopped (the broker stepped down, the topic went away). */
  subscriptionError: "subscriptionError",
  /** A group member's assignment changed: sync now rather than at the next heartbeat. */
  groupNudge: "groupNudge",
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
  /** Every broker the zookeeper knows, as `cluster status` shows them. */
  brokers: ZkBrokerStatus[];
  /** Elections the zookeeper has asked for since it started. */
  elections: number;
  /** Times a broker became active (by claim or, after a zookeeper restart, by heartbeat). */
  leaderChanges: number;
  lastFailover: ZkFailover | null;
}

export interface ZkBrokerStatus extends BrokerAddresses {
  id: number;
  /** As the zookeeper sees it: the broker it names active, or standby. */
  role: BrokerRole;
  alive: boolean;
  /** The leader epoch the broker's heartbeats carry (the one it holds, or the highest it has seen). */
  epoch: number;
  term: number;
  heartbeatAgeMs: number;
  /** Since the broker process started, by its own clock (wall time). */
  uptimeMs: number;
}

/** The most recent change of active broker after one was lost. */
export interface ZkFailover {
  fromBrokerId: number;
  toBrokerId: number;
  epoch: number;
  /** From the zookeeper retiring the old active broker to accepting the new one. */
  leaderlessMs: number;
  agoMs: number;
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

// Consumer groups (the coordinator runs in the active broker; see src/broker/groups).

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface JoinGroupRequest {
  groupId: string;
  /** Null for a new member; a member's own id to change its subscription. */
  memberId: string | null;
  clientId: string;
  topics: string[];
  /** Assignor names in order of preference ("range", "round-robin"). */
  assignors: string[];
  sessionTimeoutMs: number;
  /** How long the member may take to give up partitions it is asked to revoke. */
  rebalanceTimeoutMs: number;
}

export interface JoinGroupResponse {
  memberId: string;
  generationId: number;
  assignor: string;
  heartbeatIntervalMs: number;
}

export interface SyncGroupRequest {
  groupId: string;
  memberId: string;
  /** The partitions the member holds right now. */
  owned: TopicPartitions[];
}

export interface SyncGroupResponse {
  generationId: number;
  /** What the member should hold now; partitions it holds beyond these are to be revoked. */
  assignment: TopicPartitions[];
  /** True when the member holds its whole target (nothing to revoke, nothing still to come). */
  settled: boolean;
}

export interface MemberRequest {
  groupId: string;
  memberId: string;
}

export interface HeartbeatResponse {
  generationId: number;
  /** A sync would change the member's assignment. */
  syncNeeded: boolean;
}

export interface GroupNudgePush {
  groupId: string;
  memberId: string;
  generationId: number;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

export interface CommitOffsetsRequest {
  groupId: string;
  /** Null (with generation -1) for a commit from outside the group, allowed only while it has no members. */
  memberId: string | null;
  generationId: number;
  offsets: OffsetToCommit[];
}

export interface FetchOffsetsRequest {
  groupId: string;
  /** Only these partitions; every commit of the group when omitted. */
  topics?: TopicPartitions[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
  commitTimestamp: number;
}

export interface FetchOffsetsResponse {
  offsets: CommittedOffset[];
}

export type GroupStateName = "Empty" | "Reconciling" | "Stable";

export interface GroupSummary {
  groupId: string;
  state: GroupStateName;
  members: number;
  assignor: string | null;
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  host: string;
  topics: string[];
  assignment: TopicPartitions[];
  target: TopicPartitions[];
}

export interface GroupPartitionDescription {
  topic: string;
  partition: number;
  committedOffset: number | null;
  logStartOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
}

export interface DescribeGroupResponse {
  groupId: string;
  state: GroupStateName;
  generationId: number;
  assignor: string | null;
  members: GroupMemberDescription[];
  partitions: GroupPartitionDescription[];
}
