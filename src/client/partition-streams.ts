/**
 * Push subscriptions for a changing set of partitions, one subscription per
 * partition over one connection, so a partition can be added or dropped
 * without disturbing the others (a group member keeps reading what a
 * rebalance leaves it). Records are queued in pushed chunks; credit goes back
 * to a partition's subscription as the application takes its chunks.
 *
 * A subscription is never moved to another broker behind the owner's back:
 * a new stream, or one whose subscription failed or lost its connection, is
 * stalled until the owner subscribes it again (a group member first checks
 * that the coordinator still knows it, on the connection it subscribes on).
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import { checkFrame } from "../log/batch-frame";
import {
  API,
  type OutOfRangePolicy,
  PUSH,
  type RecordsPush,
  type StartPosition,
  type SubscribeRequest,
  type SubscribeResponse,
  type SubscriptionErrorPush,
} from "../protocol/api";
import { fromWireError } from "../protocol/envelope";
import type { RpcConnection } from "../net/rpc-connection";
import type { ClusterClient } from "./cluster-client";
import type { ConsumerRecord } from "./consumer";
import { decodeFrameInto } from "./record-decoder";

export interface StreamChunk {
  key: string;
  /** Which ownership of the partition this chunk belongs to (a re-added partition gets a new one). */
  streamId: number;
  records: ConsumerRecord[];
  bytes: number;
  /** The offset after this chunk. */
  nextOffset: number;
}

interface Stream {
  key: string;
  topic: string;
  partition: number;
  streamId: number;
  subscriptionId: number;
  /** The next offset to fetch (after the last pushed chunk); -1 until the first subscription answers. */
  position: number;
  /** Where the first subscription starts. */
  start: StartPosition;
  pendingCredit: number;
  outOfRange: OutOfRangePolicy;
}

export interface PartitionStreamsHooks {
  /** Records were queued. */
  onData(): void;
  /** A stream's first subscription answered: it reads from `offset`. */
  onStarted(key: string, streamId: number, offset: number): void;
  /** A stream stopped with a retriable error (the broker stepped down): resubscribe when it makes sense. */
  onStall(error: KafkaCloneError): void;
  onFatal(error: KafkaCloneError): void;
}

export class PartitionStreams {
  private readonly streams = new Map<string, Stream>();
  private readonly bySubscription = new Map<number, Stream>();
  private queue: StreamChunk[] = [];
  private counter = 0;

  constructor(
    private readonly client: ClusterClient,
    private readonly creditBytes: number,
    private readonly hooks: PartitionStreamsHooks,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  has(key: string, streamId?: number): boolean {
    const stream = this.streams.get(key);
    return stream !== undefined && (streamId === undefined || stream.streamId === streamId);
  }

  keys(): string[] {
    return [...this.streams.keys()];
  }

  /** A partition to read from `start`: it stays stalled until resubscribeStalled subscribes it. */
  register(topic: string, partition: number, start: StartPosition, outOfRange: OutOfRangePolicy): void {
    const key = `${topic}:${partition}`;
    if (this.streams.has(key)) throw new KafkaCloneError("INVALID_ARGUMENT", `${key} is already being read`);
    this.streams.set(key, { key, topic, partition, streamId: ++this.counter, subscriptionId: -1, position: -1, start, pendingCredit: 0, outOfRange });
  }

  get stalled(): number {
    let count = 0;
    for (const stream of this.streams.values()) if (stream.subscriptionId < 0) count++;
    return count;
  }

  /** Stops reading a partition at once: its queued chunks go, its subscription is closed in the background. */
  remove(key: string): void {
    const stream = this.streams.get(key);
    if (!stream) return;
    this.forget(stream);
    this.queue = this.queue.filter((chunk) => chunk.key !== key);
    if (stream.subscriptionId < 0) return;
    this.client.current?.request(API.unsubscribe, { subscriptionId: stream.subscriptionId }).catch(() => {});
  }

  take(): StreamChunk | undefined {
    return this.queue.shift();
  }

  /** The application is done with `chunk`: its bytes become credit again. */
  consumed(chunk: StreamChunk): void {
    const stream = this.streams.get(chunk.key);
    if (!stream || stream.streamId !== chunk.streamId || stream.subscriptionId < 0) return;
    stream.pendingCredit += chunk.bytes;
    if (stream.pendingCredit < this.creditBytes / 4 && this.queue.some((c) => c.key === chunk.key)) return;
    const connection = this.client.current;
    if (!connection) return;
    const bytes = stream.pendingCredit;
    stream.pendingCredit = 0;
    connection.request(API.credit, { subscriptionId: stream.subscriptionId, bytes }).catch(() => {});
  }

  /** Subscribes every stalled stream again over `connection`, each from its position. */
  async resubscribeStalled(connection: RpcConnection): Promise<void> {
    const stalled = [...this.streams.values()].filter((stream) => stream.subscriptionId < 0);
    await Promise.all(stalled.map((stream) => this.subscribe(stream, connection)));
  }

  /** Handles records and subscription errors; returns false for pushes that are not ours. */
  handlePush(api: string, body: unknown, attachment: Uint8Array): boolean {
    if (api !== PUSH.records && api !== PUSH.subscriptionError) return false;
    const { subscriptionId } = body as { subscriptionId: number };
    const stream = this.bySubscription.get(subscriptionId);
    if (!stream) return true;
    if (api === PUSH.records) {
      try {
        this.accept(stream, body as RecordsPush, attachment);
      } catch (error) {
        this.hooks.onFatal(asKafkaCloneError(error));
      }
      return true;
    }
    const error = fromWireError((body as SubscriptionErrorPush).error);
    this.bySubscription.delete(subscriptionId);
    stream.subscriptionId = -1;
    if (error.retriable) {
      this.client.reportFailure(error);
      this.hooks.onStall(error);
    } else {
      this.hooks.onFatal(error);
    }
    return true;
  }

  /** The connection went away: every subscription with it. */
  disconnected(): void {
    for (const stream of this.streams.values()) stream.subscriptionId = -1;
    this.bySubscription.clear();
  }

  private forget(stream: Stream): void {
    this.streams.delete(stream.key);
    this.bySubscription.delete(stream.subscriptionId);
  }

  private async subscribe(stream: Stream, connection: RpcConnection): Promise<void> {
    this.bySubscription.delete(stream.subscriptionId);
    const start: StartPosition = stream.position >= 0 ? { type: "offset", offset: stream.position } : stream.start;
    const request: SubscribeRequest = {
      subscriptionId: ++this.counter,
      topic: stream.topic,
      partitions: [{ partition: stream.partition, start }],
      credit: this.creditBytes,
      outOfRange: stream.outOfRange,
    };
    stream.subscriptionId = request.subscriptionId;
    stream.pendingCredit = 0;
    this.bySubscription.set(request.subscriptionId, stream);
    let body: unknown;
    try {
      ({ body } = await connection.request(API.subscribe, request));
    } catch (error) {
      if (stream.subscriptionId === request.subscriptionId) {
        stream.subscriptionId = -1;
        this.bySubscription.delete(request.subscriptionId);
      }
      this.client.reportFailure(error, connection);
      throw error;
    }
    if (stream.subscriptionId !== request.subscriptionId || this.streams.get(stream.key) !== stream) return;
    const offset = (body as SubscribeResponse).partitions[0]!.offset;
    // Pushes may have arrived before this response; they moved the position already.
    if (stream.position < 0) {
      stream.position = offset;
      this.hooks.onStarted(stream.key, stream.streamId, offset);
    }
  }

  private accept(stream: Stream, push: RecordsPush, data: Uint8Array): void {
    if (stream.position < 0) {
      stream.position = push.fromOffset;
      this.hooks.onStarted(stream.key, stream.streamId, push.fromOffset);
    }
    const expected = stream.position;
    if (push.fromOffset !== expected) return;
    const records: ConsumerRecord[] = [];
    for (let pos = 0; pos < data.length; ) {
      const check = checkFrame(data, pos);
      if (!check.ok) throw new KafkaCloneError("CORRUPT_MESSAGE", `${stream.key}: ${check.reason}`);
      decodeFrameInto(records, data, pos, check.header, stream.topic, stream.partition, expected);
      pos += check.header.frameSize;
    }
    stream.position = push.nextOffset;
    this.queue.push({ key: stream.key, streamId: stream.streamId, records, bytes: data.length, nextOffset: push.nextOffset });
    this.hooks.onData();
  }
}
