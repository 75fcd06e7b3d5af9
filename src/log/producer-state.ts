/**
 * Idempotent-producer state of one partition: for each producer id, its epoch
 * and its most recent batches (sequence range → offset). A retried batch that
 * is already in the log is recognised and answered with its original offset;
 * a batch that skips ahead of the next expected sequence is refused until the
 * earlier one arrives.
 *
 * Rebuilt on takeover from a snapshot written at each recovery checkpoint
 * plus the batches recovery scans after it (see partition-recovery.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { Packr } from "msgpackr";
import { KafkaCloneError } from "../errors";
import { writeFileAtomically, writeFileAtomicallyAsync } from "./atomic-file";

export const PRODUCER_SNAPSHOT_FILE = "producer-state.snapshot";
/** Enough for every batch of five full in-flight requests to be recognised when retried. */
const BATCHES_PER_PRODUCER = 128;
const MAX_PRODUCERS = 10_000;
const SEQUENCE_MODULO = 2 ** 31;
const SNAPSHOT_VERSION = 1;
const packr = new Packr({ useRecords: false });

interface ProducerBatch {
  baseSequence: number;
  count: number;
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: ProducerBatch[];
}

export interface IdempotentBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export class ProducerStateTable {
  private entries = new Map<number, ProducerEntry>();
  private changed = false;

  get size(): number {
    return this.entries.size;
  }

  /**
   * Returns the base offset the batch already has when it is a retry of one
   * in the log, or null when it is new and may be appended.
   */
  check(batch: IdempotentBatch): number | null {
    const entry = this.entries.get(batch.producerId);
    if (entry === undefined) return null;
    if (batch.producerEpoch < entry.epoch) {
      throw new KafkaCloneError("INVALID_PRODUCER_EPOCH", `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than ${entry.epoch}`);
    }
    if (batch.producerEpoch > entry.epoch) {
      if (batch.baseSequence === 0) return null;
      throw outOfOrder(batch, 0);
    }
    const duplicate = entry.batches.find((b) => b.baseSequence === batch.baseSequence && b.count === batch.recordCount);
    if (duplicate) return duplicate.baseOffset;
    const last = entry.batches[entry.batches.length - 1];
    const expected = last ? (last.baseSequence + last.count) % SEQUENCE_MODULO : 0;
    if (last === undefined || batch.baseSequence === expected) return null;
    throw outOfOrder(batch, expected);
  }

  record(batch: IdempotentBatch, baseOffset: number): void {
    let entry = this.entries.get(batch.producerId);
    if (entry === undefined || batch.producerEpoch > entry.epoch) {
      entry = { epoch: batch.producerEpoch, batches: [] };
      this.entries.delete(batch.producerId);
      this.entries.set(batch.producerId, entry);
      if (this.entries.size > MAX_PRODUCERS) this.entries.delete(this.entries.keys().next().value!);
    }
    entry.batches.push({ baseSequence: batch.baseSequence, count: batch.recordCount, baseOffset });
    if (entry.batches.length > BATCHES_PER_PRODUCER) entry.batches.shift();
    this.changed = true;
  }

  /** Forgets batches at or after `offset` (their appends failed, or a snapshot is taken there). */
  truncateTo(offset: number): void {
    for (const [producerId, entry] of this.entries) {
      const kept = entry.batches.filter((b) => b.baseOffset < offset);
      if (kept.length === entry.batches.length) continue;
      this.changed = true;
      if (kept.length === 0) this.entries.delete(producerId);
      else entry.batches = kept;
    }
  }

  /** Writes the state as of `offset` next to the partition's segments, if it changed. */
  writeSnapshot(dir: string, offset: number): void {
    const snapshot = this.takeSnapshot(dir, offset);
    if (snapshot) writeFileAtomically(snapshot.file, snapshot.bytes);
  }

  /** The same, with the file written and fsynced off the event loop (checkpoints). */
  async writeSnapshotAsync(dir: string, offset: number): Promise<void> {
    const snapshot = this.takeSnapshot(dir, offset);
    if (!snapshot) return;
    try {
      await writeFileAtomicallyAsync(snapshot.file, snapshot.bytes);
    } catch (error) {
      this.changed = true;
      throw error;
    }
  }

  private takeSnapshot(dir: string, offset: number): { file: string; bytes: Uint8Array } | null {
    const file = path.join(dir, PRODUCER_SNAPSHOT_FILE);
    if (!this.changed && fs.existsSync(file)) return null;
    const copy = this.clone();
    copy.truncateTo(offset);
    const entries = [...copy.entries].map(([id, e]) => [id, e.epoch, e.batches.map((b) => [b.baseSequence, b.count, b.baseOffset])]);
    this.changed = false;
    return { file, bytes: packr.pack({ version: SNAPSHOT_VERSION, offset, entries }) };
  }

  /** The snapshot in `dir` and the offset it describes, or null when there is none or it is unreadable. */
  static readSnapshot(dir: string): { table: ProducerStateTable; offset: number } | null {
    let raw: unknown;
    try {
      raw = packr.unpack(fs.readFileSync(path.join(dir, PRODUCER_SNAPSHOT_FILE)));
    } catch {
      return null;
    }
    const snapshot = raw as { version?: unknown; offset?: unknown; entries?: unknown };
    if (snapshot?.version !== SNAPSHOT_VERSION || !Number.isSafeInteger(snapshot.offset) || !Array.isArray(snapshot.entries)) return null;
    const table = new ProducerStateTable();
    for (const item of snapshot.entries as unknown[]) {
      const [id, epoch, batches] = item as [number, number, [number, number, number][]];
      if (!Number.isSafeInteger(id) || !Number.isSafeInteger(epoch) || !Array.isArray(batches)) return null;
      table.entries.set(id, { epoch, batches: batches.map(([baseSequence, count, baseOffset]) => ({ baseSequence, count, baseOffset })) });
    }
    return { table, offset: snapshot.offset as number };
  }

  private clone(): ProducerStateTable {
    const copy = new ProducerStateTable();
    for (const [id, entry] of this.entries) copy.entries.set(id, { epoch: entry.epoch, batches: [...entry.batches] });
    return copy;
  }
}

function outOfOrder(batch: IdempotentBatch, expected: number): KafkaCloneError {
  return new KafkaCloneError(
    "OUT_OF_ORDER_SEQUENCE",
    `producer ${batch.producerId}: batch starts at sequence ${batch.baseSequence}, expected ${expected}`,
  );
}
