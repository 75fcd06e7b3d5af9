/**
 * The consumer: one push subscription to the active broker. Records arrive as
 * they become durable; the consumer grants credit back only as the
 * application takes records, so a slow reader holds at most `creditBytes`.
 * When the broker goes away it finds the new active broker and resubscribes
 * from the first offset it has not received yet.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import { checkFrame } from "../log/batch-frame";
import type { RecordHeader } from "../log/record-codec";
import {
  API,
  type MetadataResponse,
  type OutOfRangePolicy,
  PUSH,
  type RecordsPush,
  type StartPosition,
  type SubscribeRequest,
  type SubscribeResponse,
  type SubscriptionErrorPush,
} from "../protocol/api";
import { fromWireError } from "../protocol/envelope";
import { ClusterClient, type ClusterClientOptions } from "./cluster-client";
import { decodeFrameInto } from "./record-decoder";

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export interface ConsumerOptions extends Omit<ClusterClientOptions, "onPush" | "onDisconnect"> {
  topic: string;
  /** Partitions to read; all when omitted. */
  partitions?: number[];
  /** Where to start partitions without an entry in `startOffsets`. */
  start?: StartPosition;
  startOffsets?: Map<number, number>;
  creditBytes?: number;
  outOfRange?: OutOfRangePolicy;
}

interface Chunk {
  records: ConsumerRecord[];
  bytes: number;
}

export class Consumer {
  private readonly client: ClusterClient;
  private readonly fetchPositions = new Map<number, number>();
  private readonly queue: Chunk[] = [];
  private subscriptionId = -1;
  private subscriptionCounter = 0;
  private pendingCredit = 0;
  private wake: (() => void) | null = null;
  private failure: KafkaCloneError | null = null;
  private closed = false;
  private resubscribing: Promise<void> | null = null;
  private readonly creditBytes: number;

  constructor(private readonly options: ConsumerOptions) {
    this.creditBytes = options.creditBytes ?? 8 * 1024 * 1024;
    this.client = new ClusterClient({
      ...options,
      onPush: (api, body, attachment) => this.handlePush(api, body, attachment),
      onDisconnect: () => this.scheduleResubscribe(),
    });
  }

  /** Subscribes; resolves with each partition's starting offset. */
  async start(): Promise<Map<number, number>> {
    const partitions = this.options.partitions ?? (await this.allPartitions());
    const start = this.options.start ?? { type: "latest" };
    const starts = partitions.map((partition) => {
      const offset = this.options.startOffsets?.get(partition);
      return { partition, start: offset === undefined ? start : ({ type: "offset", offset } as StartPosition) };
    });
    await this.subscribe(starts);
    return new Map(this.fetchPositions);
  }

  /** Records one at a time, in order within each partition. */
  async *records(): AsyncGenerator<ConsumerRecord> {
    for await (const batch of this.batches()) yield* batch;
  }

  /** Records as they arrived, a pushed chunk at a time (cheaper per record). */
  async *batches(): AsyncGenerator<ConsumerRecord[]> {
    while (!this.closed) {
      const chunk = this.queue.shift();
      if (chunk) {
        yield chunk.records;
        this.grant(chunk.bytes);
        continue;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  /** The next offset to fetch per partition. */
  positions(): Map<number, number> {
    return new Map(this.fetchPositions);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.wake?.();
  }

  private async allPartitions(): Promise<number[]> {
    const { body } = await this.client.request(API.metadata, { topics: [this.options.topic] });
    const topic = (body as MetadataResponse).topics.find((t) => t.name === this.options.topic);
    if (!topic) throw new KafkaCloneError("TOPIC_NOT_FOUND", `topic ${this.options.topic} does not exist`);
    return [...Array(topic.partitions).keys()];
  }

  private async subscribe(partitions: SubscribeRequest["partitions"]): Promise<void> {
    const request: SubscribeRequest = {
      subscriptionId: ++this.subscriptionCounter,
      topic: this.options.topic,
      partitions,
      credit: this.creditBytes,
      outOfRange: this.options.outOfRange ?? "error",
    };
    this.subscriptionId = request.subscriptionId;
    this.pendingCredit = 0;
    const { body } = await this.client.request(API.subscribe, request);
    // Pushes may have been handled before this response; they set the positions they started from.
    for (const { partition, offset } of (body as SubscribeResponse).partitions) {
      if (!this.fetchPositions.has(partition)) this.fetchPositions.set(partition, offset);
    }
  }

  private handlePush(api: string, body: unknown, attachment: Uint8Array): void {
    if (api === PUSH.records) {
      const push = body as RecordsPush;
      if (push.subscriptionId !== this.subscriptionId) return;
      try {
        this.accept(push, attachment);
      } catch (error) {
        this.fail(asKafkaCloneError(error));
      }
    } else if (api === PUSH.subscriptionError) {
      const push = body as SubscriptionErrorPush;
      if (push.subscriptionId !== this.subscriptionId) return;
      const error = fromWireError(push.error);
      if (error.retriable) {
        this.client.reportFailure(error);
        this.scheduleResubscribe();
      } else {
        this.fail(error);
      }
    }
  }

  private accept(push: RecordsPush, data: Uint8Array): void {
    const expected = this.fetchPositions.get(push.partition) ?? push.fromOffset;
    if (push.fromOffset !== expected) return;
    const records: ConsumerRecord[] = [];
    for (let pos = 0; pos < data.length; ) {
      const check = checkFrame(data, pos);
      if (!check.ok) throw new KafkaCloneError("CORRUPT_MESSAGE", `${this.options.topic}-${push.partition}: ${check.reason}`);
      decodeFrameInto(records, data, pos, check.header, this.options.topic, push.partition, expected);
      pos += check.header.frameSize;
    }
    this.fetchPositions.set(push.partition, push.nextOffset);
    this.queue.push({ records, bytes: data.length });
    this.wake?.();
  }

  private grant(bytes: number): void {
    this.pendingCredit += bytes;
    if (this.pendingCredit < this.creditBytes / 4 && this.queue.length > 0) return;
    const connection = this.client.current;
    if (!connection || this.subscriptionId < 0) return;
    const amount = this.pendingCredit;
    this.pendingCredit = 0;
    connection.request(API.credit, { subscriptionId: this.subscriptionId, bytes: amount }).catch(() => {});
  }

  private scheduleResubscribe(): void {
    if (this.closed || this.resubscribing) return;
    this.subscriptionId = -1;
    this.resubscribing = this.subscribe(
      [...this.fetchPositions].map(([partition, offset]) => ({ partition, start: { type: "offset", offset } as StartPosition })),
    )
      .catch((error) => this.fail(asKafkaCloneError(error)))
      .finally(() => {
        this.resubscribing = null;
      });
  }

  private fail(error: KafkaCloneError): void {
    if (this.closed) return;
    this.failure ??= error;
    this.wake?.();
  }
}
