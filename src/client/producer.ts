/**
 * The producer: records are batched per partition (until `batchBytes` or
 * `lingerMs`), batches for one topic share a request, at most
 * `maxInFlight` requests are outstanding, and retriable failures are retried
 * with backoff until `deliveryTimeoutMs`. Each record's promise resolves to
 * its offset once the broker acknowledged it at the chosen acks level.
 *
 * Idempotence (on by default with acks=all): every batch carries this
 * producer's id and a per-partition sequence number, so the broker drops a
 * retried batch it already holds and answers with the original offsets.
 * Retries go back in seal order, ahead of newer batches; producer-sequences.ts
 * keeps a partition's records in order when the producer id changes.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import type { ProducerRecord } from "../log/record-codec";
import { API, type Acks, type MetadataResponse, type ProduceRequest, type ProduceResponse } from "../protocol/api";
import { fromWireError } from "../protocol/envelope";
import { ClusterClient, type ClusterClientOptions } from "./cluster-client";
import { StickyPartitioner } from "./partitioner";
import { PartitionAccumulator, type SealedBatch } from "./partition-accumulator";
import { ProducerSequences } from "./producer-sequences";
import { partitionKey, SendQueue } from "./send-queue";

export interface ProducerOptions extends ClusterClientOptions {
  acks?: Acks;
  lingerMs?: number;
  batchBytes?: number;
  maxInFlight?: number;
  /** Upper bound on a request's size; several batches share one request up to this. */
  maxRequestBytes?: number;
  retryBackoffMs?: number;
  deliveryTimeoutMs?: number;
  /** Default: true with acks=all (it needs acknowledgements to work). */
  idempotent?: boolean;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export interface SendRecord extends ProducerRecord {
  partition?: number;
}

export class Producer {
  private readonly client: ClusterClient;
  private readonly partitionCounts = new Map<string, Promise<number>>();
  /** The same counts once known, for send()'s synchronous path. */
  private readonly knownPartitionCounts = new Map<string, number>();
  /** Per topic, the accumulators by partition (no per-record key building). */
  private readonly accumulatorsByTopic = new Map<string, PartitionAccumulator[]>();
  /** Sends waiting for a partition count; while any wait, every send takes the same (ordered) path. */
  private awaitingMetadata = 0;
  private readonly accumulators = new Map<string, PartitionAccumulator>();
  private readonly partitioner = new StickyPartitioner();
  private inFlight = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  readonly acks: Acks;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly maxInFlight: number;
  private readonly maxRequestBytes: number;
  private readonly retryBackoffMs: number;
  private readonly deliveryTimeoutMs: number;
  readonly idempotent: boolean;
  private readonly sequences = new ProducerSequences();
  private readonly queue = new SendQueue(this.sequences);
  private sealed = 0;

  constructor(options: ProducerOptions) {
    this.client = new ClusterClient(options);
    this.acks = options.acks ?? "all";
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    this.maxInFlight = options.maxInFlight ?? 5;
    this.maxRequestBytes = options.maxRequestBytes ?? 1024 * 1024;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    this.idempotent = options.idempotent ?? this.acks === "all";
    if (this.idempotent && this.acks !== "all") {
      throw new KafkaCloneError("INVALID_CONFIG", "an idempotent producer needs acks=all");
    }
  }

  /**
   * Resolves to the record's partition and offset once acknowledged (offset -1 with acks=0).
   * Once the topic's partition count is known the record is copied into its batch before
   * send() returns (no promise hop per record: this is the producer's hot path).
   */
  send(topic: string, record: SendRecord): Promise<RecordMetadata> {
    if (this.closed) return Promise.reject(new KafkaCloneError("INVALID_REQUEST", "the producer is closed"));
    const partitions = this.knownPartitionCounts.get(topic);
    if (partitions === undefined || this.awaitingMetadata > 0) {
      // Behind a metadata lookup: later sends queue behind it too, so records keep their send order.
      this.awaitingMetadata++;
      return this.partitionCount(topic).then(
        (count) => {
          this.awaitingMetadata--;
          return this.enqueue(topic, count, record);
        },
        (error: unknown) => {
          this.awaitingMetadata--;
          throw error;
        },
      );
    }
    try {
      return this.enqueue(topic, partitions, record);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private enqueue(topic: string, partitions: number, record: SendRecord): Promise<RecordMetadata> {
    if (this.closed) throw new KafkaCloneError("INVALID_REQUEST", "the producer is closed");
    const partition = this.partitioner.choose(topic, partitions, record.key, record.partition);
    const accumulator = this.accumulatorFor(topic, partition);
    const result = accumulator.add(record);
    if (accumulator.sizeBytes >= this.batchBytes) this.seal(accumulator, partitions);
    else accumulator.armLinger(this.lingerMs, () => this.seal(accumulator, partitions));
    return result;
  }

  /** Sends everything batched so far and waits until every record is settled. */
  async flush(): Promise<void> {
    for (const accumulator of this.accumulators.values()) {
      if (accumulator.recordCount > 0) this.seal(accumulator, 0);
    }
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.client.close();
  }

  /** Number of partitions, from the active broker's metadata; TOPIC_NOT_FOUND when absent. */
  partitionCount(topic: string): Promise<number> {
    let known = this.partitionCounts.get(topic);
    if (!known) {
      known = this.client.request(API.metadata, { topics: [topic] }).then(({ body }) => {
        const found = (body as MetadataResponse).topics.find((t) => t.name === topic);
        if (!found) throw new KafkaCloneError("TOPIC_NOT_FOUND", `topic ${topic} does not exist`);
        this.knownPartitionCounts.set(topic, found.partitions);
        return found.partitions;
      });
      known.catch(() => this.partitionCounts.delete(topic));
      this.partitionCounts.set(topic, known);
    }
    return known;
  }

  private accumulatorFor(topic: string, partition: number): PartitionAccumulator {
    let byPartition = this.accumulatorsByTopic.get(topic);
    if (!byPartition) {
      byPartition = [];
      this.accumulatorsByTopic.set(topic, byPartition);
    }
    let accumulator = byPartition[partition];
    if (!accumulator) {
      accumulator = new PartitionAccumulator(topic, partition, this.batchBytes);
      byPartition[partition] = accumulator;
      this.accumulators.set(`${topic}\u0000${partition}`, accumulator);
    }
    return accumulator;
  }

  private seal(accumulator: PartitionAccumulator, partitions: number): void {
    const deadline = performance.now() + this.deliveryTimeoutMs;
    let batch: SealedBatch | null;
    if (this.idempotent && accumulator.recordCount > 0) {
      const key = `${accumulator.topic}\u0000${accumulator.partition}`;
      batch = accumulator.seal(deadline, this.sequences.take(key, accumulator.recordCount));
      if (batch) this.sequences.sealed(key, batch);
    } else {
      batch = accumulator.seal(deadline);
    }
    if (!batch) return;
    batch.order = this.sealed++;
    if (partitions > 0) this.partitioner.batchSealed(accumulator.topic, accumulator.partition, partitions);
    this.queue.push(batch);
    this.pump();
  }

  /** Starts requests while there is room in the in-flight window (see send-queue.ts for which batches may go). */
  private pump(): void {
    while (this.inFlight < this.maxInFlight) {
      const next = this.queue.takeRequest(this.maxRequestBytes);
      if (!next) return;
      this.inFlight++;
      void this.sendRequest(next.topic, next.batches).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  private async sendRequest(topic: string, batches: SealedBatch[]): Promise<void> {
    const byPartition = new Map<number, SealedBatch[]>();
    for (const batch of batches) {
      const list = byPartition.get(batch.partition);
      if (list) list.push(batch);
      else byPartition.set(batch.partition, [batch]);
    }
    const ordered = [...byPartition.values()].flat();
    const request: ProduceRequest = {
      topic,
      acks: this.acks,
      partitions: [...byPartition].map(([partition, list]) => ({ partition, bytes: list.reduce((n, b) => n + b.frame.length, 0) })),
    };
    try {
      const connection = await this.client.leader();
      if (this.acks === "0") {
        connection.send(API.produce, request, ordered.map((batch) => batch.frame));
        for (const batch of ordered) this.complete(batch, -1);
        return;
      }
      const { body } = await connection.request(API.produce, request, ordered.map((batch) => batch.frame));
      const response = body as ProduceResponse;
      for (const [partition, list] of byPartition) {
        const result = response.partitions.find((p) => p.partition === partition);
        list.forEach((batch, i) => {
          if (!result) this.retryOrFail(batch, new KafkaCloneError("INVALID_REQUEST", `no result for partition ${partition}`));
          else if ("error" in result) this.retryOrFail(batch, fromWireError(result.error));
          else this.complete(batch, result.baseOffsets[i] ?? -1);
        });
      }
    } catch (error) {
      this.client.reportFailure(error);
      for (const batch of ordered) this.retryOrFail(batch, error);
    }
  }

  private retryOrFail(batch: SealedBatch, error: unknown): void {
    const failure = asKafkaCloneError(error);
    if (failure.code === "NOT_LEADER") this.client.reportFailure(failure);
    const hopeless = failure.code === "OUT_OF_ORDER_SEQUENCE" && batch.generation >= 0 && this.sequences.isAbandoned(partitionKey(batch), batch);
    if (!failure.retriable || hopeless || this.closed || performance.now() + this.retryBackoffMs >= batch.deadline) {
      batch.fail(failure);
      if (batch.generation >= 0) {
        // Later batches of this producer id would wait forever behind the gap: a new generation starts.
        this.sequences.gaveUp(partitionKey(batch), batch);
        this.sequences.settled(partitionKey(batch), batch);
      }
      return;
    }
    batch.attempts++;
    this.inFlight++;
    this.queue.backOff(batch, this.retryBackoffMs, () => {
      this.inFlight--;
      this.pump();
    });
  }

  private complete(batch: SealedBatch, baseOffset: number): void {
    batch.complete(baseOffset);
    if (batch.generation >= 0) this.sequences.settled(partitionKey(batch), batch);
  }
}
