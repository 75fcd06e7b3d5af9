/**
 * All topics of a data directory: `topics/<topic>/<partition>/` plus the
 * recovery checkpoint. Creating and deleting a topic are atomic renames
 * between `topics/`, `staging/` and `trash/`.
 */
import fs from "node:fs";
import path from "node:path";
import { KafkaCloneError } from "../errors";
import { createLogger, type Logger } from "../logger";
import { nodeFileIO, storageError, type FileIO } from "./file-io";
import { DEFAULT_LOG_CONFIG, type LogConfig, resolveLogConfig } from "./log-config";
import type { LogObserver } from "./log-observer";
import type { PartitionLog } from "./partition-log";
import { openPartitionLog, type RecoveryReport } from "./partition-recovery";
import {
  partitionKey,
  readRecoveryCheckpoint,
  RECOVERY_CHECKPOINT_FILE,
  type RecoveryPoints,
  writeRecoveryCheckpointAsync,
} from "./recovery-checkpoint";
import { validateTopicName } from "./topic-name";
import { readTopicMetadata, type TopicMetadata, validatePartitionCount, writeTopicMetadata } from "./topic-metadata";
import { syncDirectory } from "./atomic-file";

export interface LogManagerOptions {
  io?: FileIO;
  /** Broker-wide defaults under each topic's own settings. */
  defaults?: Partial<LogConfig>;
  /** How often recovery points are checkpointed; 0 turns the timer off. */
  checkpointIntervalMs?: number;
  /** How often retention runs; 0 turns the timer off. */
  retentionCheckIntervalMs?: number;
  logger?: Logger;
  /**
   * True once a newer leader owns the data directory (e.g. its leader-epoch
   * file moved on). Checked before anything that changes files other than
   * appends: checkpoints, retention, rolls, topic creation and deletion.
   */
  isFenced?: () => boolean;
  /** Told of every partition's appends and storage errors. */
  observer?: LogObserver;
}

export interface PartitionDescription {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  sizeBytes: number;
  segments: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
  config: LogConfig;
  overrides: Partial<LogConfig>;
}

interface OpenTopic {
  metadata: TopicMetadata;
  config: LogConfig;
  logs: PartitionLog[];
}

export class LogManager {
  private readonly topics = new Map<string, OpenTopic>();
  /** Topics whose deletion has begun but not finished. */
  private readonly deleting = new Set<string>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointsInFlight = 0;
  private closed = false;
  /** The disk was found unusable: nothing more is written, a checkpoint at close included. */
  private failed = false;
  private scratchCount = 0;
  readonly recoveryReports = new Map<string, RecoveryReport>();

  private constructor(
    readonly dataDir: string,
    private readonly io: FileIO,
    private readonly defaults: LogConfig,
    private readonly logger: Logger,
    private readonly isFenced: () => boolean,
    private readonly observer: LogObserver | null,
  ) {}

  static open(dataDir: string, options: LogManagerOptions = {}): LogManager {
    const defaults = resolveLogConfig(options.defaults ?? {}, DEFAULT_LOG_CONFIG);
    const manager = new LogManager(dataDir, options.io ?? nodeFileIO, defaults, options.logger ?? createLogger("log"), options.isFenced ?? (() => false), options.observer ?? null);
    manager.load();
    manager.startTimers(options.checkpointIntervalMs ?? 1000, options.retentionCheckIntervalMs ?? 30_000);
    return manager;
  }

  private get topicsDir(): string {
    return path.join(this.dataDir, "topics");
  }

  private load(): void {
    for (const dir of [this.topicsDir, path.join(this.dataDir, "staging"), path.join(this.dataDir, "trash")]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    for (const leftover of ["staging", "trash"]) {
      for (const name of fs.readdirSync(path.join(this.dataDir, leftover))) {
        fs.rmSync(path.join(this.dataDir, leftover, name), { recursive: true, force: true });
      }
    }
    const points = this.readCheckpoint();
    for (const name of fs.readdirSync(this.topicsDir).sort()) {
      validateTopicName(name);
      const metadata = readTopicMetadata(path.join(this.topicsDir, name), name);
      this.topics.set(name, this.openTopic(metadata, points));
    }
  }

  private readCheckpoint(): RecoveryPoints | null {
    try {
      return readRecoveryCheckpoint(path.join(this.dataDir, RECOVERY_CHECKPOINT_FILE));
    } catch (error) {
      this.logger.warn("recovery checkpoint unreadable; scanning every log in full", { error: (error as Error).message });
      return null;
    }
  }

  private openTopic(metadata: TopicMetadata, points: RecoveryPoints | null): OpenTopic {
    const config = resolveLogConfig(metadata.config, this.defaults);
    const logs: PartitionLog[] = [];
    try {
      this.openPartitions(metadata, points, config, logs);
    } catch (error) {
      for (const log of logs) void log.close().catch(() => {});
      throw error;
    }
    return { metadata, config, logs };
  }

  private openPartitions(metadata: TopicMetadata, points: RecoveryPoints | null, config: LogConfig, logs: PartitionLog[]): void {
    for (let partition = 0; partition < metadata.partitions; partition++) {
      const key = partitionKey(metadata.name, partition);
      const recoveryPoint = points === null ? null : (points.get(key) ?? null);
      const dir = path.join(this.topicsDir, metadata.name, String(partition));
      const { log, report } = openPartitionLog({ io: this.io, config, topic: metadata.name, partition, dir, recoveryPoint });
      log.isFenced = this.isFenced;
      log.observer = this.observer;
      this.recoveryReports.set(key, report);
      if (report.truncatedBytes > 0) this.logger.warn("recovered partition: cut a torn tail", { topic: metadata.name, partition, ...report });
      else if (report.scannedBytes > 0) this.logger.info("recovered partition", { topic: metadata.name, partition, ...report });
      logs.push(log);
    }
  }

  createTopic(name: string, partitions: number, overrides: Partial<LogConfig> = {}): TopicDescription {
    validateTopicName(name);
    validatePartitionCount(partitions);
    resolveLogConfig(overrides, this.defaults);
    this.assertOpen();
    this.assertNotFenced();
    if (this.topics.has(name)) throw new KafkaCloneError("TOPIC_ALREADY_EXISTS", `topic ${name} already exists`);
    // Its directory is still there until the deletion's closes are done: a new one would be renamed over it, then thrown away with it.
    if (this.deleting.has(name)) throw new KafkaCloneError("TOPIC_ALREADY_EXISTS", `topic ${name} is still being deleted; try again`);
    const metadata: TopicMetadata = { version: 1, name, partitions, config: overrides, createdAt: new Date().toISOString() };
    const staging = this.scratchDir("staging");
    const dir = path.join(this.topicsDir, name);
    try {
      fs.mkdirSync(staging, { recursive: true });
      for (let p = 0; p < partitions; p++) fs.mkdirSync(path.join(staging, String(p)));
      writeTopicMetadata(staging, metadata);
      fs.renameSync(staging, dir);
      syncDirectory(this.topicsDir);
    } catch (error) {
      // A full or failing disk: leave nothing half made behind.
      fs.rmSync(staging, { recursive: true, force: true });
      throw storageError(`creating topic ${name}`, error);
    }
    try {
      this.topics.set(name, this.openTopic(metadata, new Map()));
    } catch (error) {
      // Its logs could not be created: take the directory away again, so no restart finds half a topic.
      try {
        fs.renameSync(dir, this.scratchDir("trash"));
      } catch {
        // The directory stays; the next start opens (and completes) it.
      }
      throw error instanceof KafkaCloneError ? error : storageError(`creating topic ${name}`, error);
    }
    this.logger.info("created topic", { topic: name, partitions });
    return this.describeTopic(name);
  }

  async deleteTopic(name: string): Promise<void> {
    validateTopicName(name);
    const topic = this.topic(name);
    this.assertNotFenced();
    this.topics.delete(name);
    this.deleting.add(name);
    try {
      await Promise.all(topic.logs.map((log) => log.close()));
      const trash = this.scratchDir("trash");
      try {
        fs.renameSync(path.join(this.topicsDir, name), trash);
        syncDirectory(this.topicsDir);
      } catch (error) {
        throw storageError(`deleting topic ${name}`, error);
      }
      // Drop its recovery point now, so a topic created later under this name is not held to it.
      await this.checkpoint();
      fs.rmSync(trash, { recursive: true, force: true });
    } finally {
      this.deleting.delete(name);
    }
    this.logger.info("deleted topic", { topic: name });
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  listTopics(): string[] {
    return [...this.topics.keys()].sort();
  }

  describeTopic(name: string): TopicDescription {
    const topic = this.topic(name);
    return {
      name,
      config: topic.config,
      overrides: topic.metadata.config,
      partitions: topic.logs.map((log) => ({
        partition: log.partition,
        logStartOffset: log.logStartOffset,
        logEndOffset: log.logEndOffset,
        highWatermark: log.highWatermark,
        sizeBytes: log.sizeBytes,
        segments: log.segmentCount,
      })),
    };
  }

  partition(topicName: string, partition: number): PartitionLog {
    const topic = this.topic(topicName);
    const log = Number.isInteger(partition) ? topic.logs[partition] : undefined;
    if (log === undefined) {
      throw new KafkaCloneError("INVALID_PARTITION", `topic ${topicName} has partitions 0 to ${topic.logs.length - 1}, not ${partition}`);
    }
    return log;
  }

  partitionCount(topicName: string): number {
    return this.topic(topicName).logs.length;
  }

  allPartitions(): PartitionLog[] {
    return [...this.topics.values()].flatMap((topic) => topic.logs);
  }

  /**
   * Records every partition's durable end as its recovery point. Its fsyncs
   * run off the event loop; one checkpoint at a time (a call during another
   * waits for it and then takes its own).
   */
  checkpoint(): Promise<void> {
    this.checkpointsInFlight++;
    const run = this.checkpointChain
      .catch(() => {})
      .then(() => this.checkpointNow())
      .finally(() => this.checkpointsInFlight--);
    this.checkpointChain = run;
    return run;
  }

  private async checkpointNow(): Promise<void> {
    this.assertNotFenced();
    const logs = this.allPartitions();
    const points = await Promise.all(logs.map((log) => log.prepareCheckpoint()));
    // A takeover may have happened while the fsyncs ran: a deposed leader must not name points.
    this.assertNotFenced();
    const named: RecoveryPoints = new Map(logs.map((log, i) => [partitionKey(log.topic, log.partition), points[i]!]));
    await writeRecoveryCheckpointAsync(path.join(this.dataDir, RECOVERY_CHECKPOINT_FILE), named);
  }

  enforceRetention(nowMs = Date.now()): number {
    this.assertNotFenced();
    let deleted = 0;
    for (const log of this.allPartitions()) {
      const n = log.enforceRetention(nowMs);
      if (n > 0) this.logger.info("retention deleted segments", { topic: log.topic, partition: log.partition, segments: n });
      deleted += n;
    }
    return deleted;
  }

  /** Gives every partition a segment file no earlier leader has open (the takeover's first write). */
  startFreshSegments(): void {
    for (const log of this.allPartitions()) log.startFreshSegment();
  }

  /** Every partition refuses writes with `error` from now on (an unusable disk); checkpoints and retention stop. */
  failAll(error: KafkaCloneError): void {
    this.failed = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const log of this.allPartitions()) log.fail(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.allPartitions().map((log) => log.close()));
    if (!this.failed && !this.isFenced()) await this.checkpoint();
  }

  /** A fresh name under staging/ or trash/, short whatever the topic name's length. */
  private scratchDir(under: "staging" | "trash"): string {
    return path.join(this.dataDir, under, `${process.pid}-${Date.now()}-${++this.scratchCount}`);
  }

  private topic(name: string): OpenTopic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new KafkaCloneError("TOPIC_NOT_FOUND", `topic ${name} does not exist`);
    return topic;
  }

  private assertNotFenced(): void {
    if (this.isFenced()) throw new KafkaCloneError("FENCED_LEADER_EPOCH", `a newer leader owns ${this.dataDir}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new KafkaCloneError("LOG_CLOSED", "the log manager is closed");
  }

  private startTimers(checkpointMs: number, retentionMs: number): void {
    const every = (ms: number, what: string, task: () => unknown) => {
      if (ms <= 0) return;
      const timer = setInterval(() => {
        if (this.isFenced()) {
          this.logger.warn(`a newer leader owns ${this.dataDir}: no more ${what}s from this broker`);
          for (const t of this.timers) clearInterval(t);
          return;
        }
        const failed = (error: unknown) => this.logger.error(`${what} failed`, { error: (error as Error).message });
        try {
          const result = task();
          if (result instanceof Promise) result.catch(failed);
        } catch (error) {
          failed(error);
        }
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(checkpointMs, "recovery checkpoint", () => (this.checkpointsInFlight === 0 ? this.checkpoint() : undefined));
    every(retentionMs, "retention", () => this.enforceRetention());
  }
}
