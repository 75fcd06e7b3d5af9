/** Topic administration and offset lookups against the active broker. */
import { KafkaCloneError } from "../errors";
import type { TopicDescription } from "../log/log-manager";
import {
  API,
  type ListOffsetsResponse,
  type MetadataResponse,
  type OffsetSpec,
  type TopicConfigOverrides,
  type TopicSummary,
} from "../protocol/api";
import { ClusterClient, type ClusterClientOptions } from "./cluster-client";

export class Admin {
  private readonly client: ClusterClient;

  constructor(options: ClusterClientOptions) {
    this.client = new ClusterClient(options);
  }

  async createTopic(name: string, partitions: number, config: TopicConfigOverrides = {}): Promise<TopicDescription> {
    const { body } = await this.client.request(API.createTopic, { name, partitions, config });
    return body as TopicDescription;
  }

  /** Creates the topic unless it exists; returns whether it was created. */
  async ensureTopic(name: string, partitions: number, config: TopicConfigOverrides = {}): Promise<boolean> {
    try {
      await this.createTopic(name, partitions, config);
      return true;
    } catch (error) {
      if (error instanceof KafkaCloneError && error.code === "TOPIC_ALREADY_EXISTS") return false;
      throw error;
    }
  }

  async deleteTopic(name: string): Promise<void> {
    await this.client.request(API.deleteTopic, { name });
  }

  async listTopics(): Promise<TopicSummary[]> {
    const { body } = await this.client.request(API.listTopics, {});
    return (body as { topics: TopicSummary[] }).topics;
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    const { body } = await this.client.request(API.describeTopic, { name });
    return body as TopicDescription;
  }

  async metadata(topics?: string[]): Promise<MetadataResponse> {
    const { body } = await this.client.request(API.metadata, topics ? { topics } : {});
    return body as MetadataResponse;
  }

  async listOffsets(topic: string, partitions: { partition: number; spec: OffsetSpec }[]): Promise<ListOffsetsResponse["partitions"]> {
    const { body } = await this.client.request(API.listOffsets, { topic, partitions });
    return (body as ListOffsetsResponse).partitions;
  }

  close(): void {
    this.client.close();
  }
}
