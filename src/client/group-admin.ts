/** Consumer group administration against the active broker: list, describe, delete, reset offsets. */
import { KafkaCloneError } from "../errors";
import type { TopicDescription } from "../log/log-manager";
import { API, type DescribeGroupResponse, type FetchOffsetsResponse, type GroupSummary } from "../protocol/api";
import { ClusterClient, type ClusterClientOptions } from "./cluster-client";

export type ResetTarget = { type: "earliest" } | { type: "latest" } | { type: "offset"; offset: number };

export interface PlannedReset {
  topic: string;
  partition: number;
  /** The group's commit before the reset (null when there was none). */
  previous: number | null;
  offset: number;
  /** The asked-for offset was outside the log and was moved to its nearest end. */
  clamped: boolean;
}

export class GroupAdmin {
  private readonly client: ClusterClient;

  constructor(options: ClusterClientOptions) {
    this.client = new ClusterClient(options);
  }

  async listGroups(): Promise<GroupSummary[]> {
    const { body } = await this.client.request(API.listGroups, {});
    return (body as { groups: GroupSummary[] }).groups;
  }

  async describeGroup(groupId: string): Promise<DescribeGroupResponse> {
    const { body } = await this.client.request(API.describeGroup, { groupId });
    return body as DescribeGroupResponse;
  }

  /** Deletes the commits of a group with no members; returns how many there were. */
  async deleteGroup(groupId: string): Promise<number> {
    const { body } = await this.client.request(API.deleteGroup, { groupId });
    return (body as { commits: number }).commits;
  }

  /**
   * Moves the group's committed offsets for every partition of `topic`
   * (offsets outside the log go to its nearest end, as Kafka does). Only while
   * the group has no members; `dryRun` only computes the plan.
   */
  async resetOffsets(groupId: string, topic: string, target: ResetTarget, dryRun = false): Promise<PlannedReset[]> {
    const [{ body: topicBody }, { body: commitsBody }] = await Promise.all([
      this.client.request(API.describeTopic, { name: topic }),
      this.client.request(API.fetchOffsets, { groupId }),
    ]);
    const partitions = (topicBody as TopicDescription).partitions;
    const previous = new Map((commitsBody as FetchOffsetsResponse).offsets.filter((c) => c.topic === topic).map((c) => [c.partition, c.offset]));
    const plan = partitions.map((p): PlannedReset => {
      const wanted = target.type === "earliest" ? p.logStartOffset : target.type === "latest" ? p.highWatermark : target.offset;
      const offset = Math.min(Math.max(wanted, p.logStartOffset), p.highWatermark);
      return { topic, partition: p.partition, previous: previous.get(p.partition) ?? null, offset, clamped: offset !== wanted };
    });
    if (dryRun) {
      const description = await this.describeGroup(groupId).catch(() => null);
      if (description && description.members.length > 0) throw notEmpty(groupId, description.members.length);
      return plan;
    }
    await this.client.request(API.commitOffsets, {
      groupId,
      memberId: null,
      generationId: -1,
      offsets: plan.map(({ partition, offset }) => ({ topic, partition, offset })),
    });
    return plan;
  }

  close(): void {
    this.client.close();
  }
}

function notEmpty(groupId: string, members: number): KafkaCloneError {
  return new KafkaCloneError("GROUP_NOT_EMPTY", `group ${groupId} has ${members} member(s); stop them before resetting its offsets`);
}
