/**
 * A consumer's push subscription. The broker reads and sends new batches as
 * they become durable, but only while the client has credit left and the
 * socket is not backed up, so a slow consumer costs the broker at most its
 * credit plus one batch.
 *
 * And only while the broker still leads the epoch it subscribed at and holds
 * its lease: a leader paused past the session timeout writes and fsyncs, when
 * it resumes, what it had accepted before the pause — past the point where
 * its successor's segment begins, so not part of the log. Pushing it would
 * show consumers records that are not in the log (and make them skip the
 * offsets' real records). Without the lease every partition ends with
 * NOT_LEADER and the consumer looks for the leader again.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import type { PartitionLog } from "../log/partition-log";
import type { ReadPosition } from "../log/log-read";
import { PUSH, type RecordsPush, type SubscriptionErrorPush } from "../protocol/api";
import { toWireError } from "../protocol/envelope";
import type { ClientSession } from "./client-session";

export const MAX_PUSH_BYTES = 1024 * 1024;
const MAX_QUEUED_BYTES = 2 * MAX_PUSH_BYTES;

interface PartitionCursor {
  log: PartitionLog;
  nextOffset: number;
  hint?: ReadPosition;
  stopListening: () => void;
}

export class Subscription {
  private readonly cursors = new Map<number, PartitionCursor>();
  private pumpScheduled = false;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly session: ClientSession,
    private credit: number,
    /** Whether this broker still leads (epoch and lease) right now; checked before every round of pushes. */
    private readonly leads: () => boolean = () => true,
  ) {}

  get partitions(): number[] {
    return [...this.cursors.keys()];
  }

  addPartition(log: PartitionLog, offset: number): void {
    const stopListening = log.onDurable(() => this.schedulePump());
    this.cursors.set(log.partition, { log, nextOffset: offset, stopListening });
  }

  grant(bytes: number): void {
    this.credit = Math.min(this.credit + bytes, 1 << 30);
    this.schedulePump();
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => this.pump());
  }

  /** Ends one partition's stream with an error the client sees. */
  failPartition(partition: number, error: KafkaCloneError): void {
    const cursor = this.cursors.get(partition);
    if (!cursor) return;
    cursor.stopListening();
    this.cursors.delete(partition);
    const body: SubscriptionErrorPush = { subscriptionId: this.id, partition, error: toWireError(error) };
    this.session.push(PUSH.subscriptionError, body);
  }

  failAll(error: KafkaCloneError): void {
    for (const partition of this.partitions) this.failPartition(partition, error);
  }

  close(): void {
    this.closed = true;
    for (const cursor of this.cursors.values()) cursor.stopListening();
    this.cursors.clear();
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.closed || this.session.isClosed) return;
    // The data read below is what is durable now (it cannot change while this runs): in the log if the lease is held now.
    if (!this.leads()) {
      this.failAll(new KafkaCloneError("NOT_LEADER", "this broker does not hold its leader lease right now; it sends nothing more"));
      return;
    }
    let progressed = true;
    while (progressed && !this.closed && !this.session.isClosed) {
      progressed = false;
      for (const [partition, cursor] of this.cursors) {
        if (this.credit <= 0 || this.session.pendingWriteBytes >= MAX_QUEUED_BYTES) return;
        if (cursor.log.highWatermark <= cursor.nextOffset) continue;
        try {
          progressed = this.sendNext(partition, cursor) || progressed;
        } catch (error) {
          this.failPartition(partition, asKafkaCloneError(error, "STORAGE_ERROR"));
        }
      }
    }
  }

  private sendNext(partition: number, cursor: PartitionCursor): boolean {
    const result = cursor.log.read(cursor.nextOffset, Math.min(this.credit, MAX_PUSH_BYTES), cursor.hint);
    if (result.data.length === 0) return false;
    const body: RecordsPush = {
      subscriptionId: this.id,
      partition,
      fromOffset: cursor.nextOffset,
      nextOffset: result.nextOffset,
      highWatermark: cursor.log.highWatermark,
    };
    this.session.push(PUSH.records, body, [result.data]);
    this.session.recordsSent(cursor.log.topic, partition, result.nextOffset - cursor.nextOffset, result.data.length);
    this.credit -= result.data.length;
    cursor.nextOffset = result.nextOffset;
    cursor.hint = result.next;
    return true;
  }
}
