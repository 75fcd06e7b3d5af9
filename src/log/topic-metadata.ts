/** `topics/<topic>/topic.json`: how many partitions a topic has and its settings. */
import fs from "node:fs";
import path from "node:path";
import { KafkaCloneError } from "../errors";
import { writeFileAtomically } from "./atomic-file";
import { type LogConfig, resolveLogConfig } from "./log-config";

export const TOPIC_METADATA_FILE = "topic.json";
export const MAX_PARTITIONS = 10_000;

export interface TopicMetadata {
  version: 1;
  name: string;
  partitions: number;
  /** Only the settings that differ from the broker's defaults. */
  config: Partial<LogConfig>;
  createdAt: string;
}

export function validatePartitionCount(partitions: unknown): number {
  if (typeof partitions !== "number" || !Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new KafkaCloneError("INVALID_CONFIG", `partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${String(partitions)}`);
  }
  return partitions;
}

export function writeTopicMetadata(topicDir: string, metadata: TopicMetadata): void {
  writeFileAtomically(path.join(topicDir, TOPIC_METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
}

export function readTopicMetadata(topicDir: string, expectedName: string): TopicMetadata {
  const file = path.join(topicDir, TOPIC_METADATA_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new KafkaCloneError("CORRUPT_MESSAGE", `${file}: cannot read topic metadata: ${(error as Error).message}`);
  }
  const meta = parsed as Partial<TopicMetadata> | null;
  if (meta === null || typeof meta !== "object" || meta.version !== 1 || meta.name !== expectedName) {
    throw new KafkaCloneError("CORRUPT_MESSAGE", `${file}: not version-1 metadata for topic ${expectedName}`);
  }
  try {
    validatePartitionCount(meta.partitions);
    resolveLogConfig(meta.config ?? {});
  } catch (error) {
    throw new KafkaCloneError("CORRUPT_MESSAGE", `${file}: ${(error as Error).message}`);
  }
  return { version: 1, name: expectedName, partitions: meta.partitions!, config: meta.config ?? {}, createdAt: String(meta.createdAt ?? "") };
}
