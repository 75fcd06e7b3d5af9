/**
 * Exact produce outcomes for the disk-fault tests: raw produce requests (no
 * client retries), each one batch of numbered records, every answer kept —
 * acknowledged with its base offset, or refused with its error code — and
 * the partition read back in full to compare against them.
 */
import { expect } from "bun:test";
import { Consumer } from "../../../src/client/consumer";
import { encodeBatch } from "../../../src/log/record-codec";
import { withTimeout } from "../harness";
import type { RawSocket } from "../raw-socket";

const utf8 = new TextEncoder();
const text = new TextDecoder();

export interface Outcome {
  first: number;
  count: number;
  /** The base offset when acknowledged. */
  offset?: number;
  error?: string;
}

export class ProduceLog {
  readonly outcomes: Outcome[] = [];
  private next = 0;

  constructor(
    private readonly topic: string,
    private readonly valueBytes = 1024,
  ) {}

  get acknowledged(): Outcome[] {
    return this.outcomes.filter((o) => o.offset !== undefined);
  }

  get refused(): Outcome[] {
    return this.outcomes.filter((o) => o.error !== undefined);
  }

  /** One produce request carrying `count` records numbered from where the last one ended. */
  async produce(socket: RawSocket, count = 10, partition = 0): Promise<Outcome> {
    const first = this.next;
    this.next += count;
    const records = Array.from({ length: count }, (_, i) => ({ value: this.value(first + i) }));
    const batch = encodeBatch(records);
    const answer = await socket.request("produce", { topic: this.topic, acks: "all", partitions: [{ partition, bytes: batch.length }] }, [batch]);
    if (answer.envelope.kind !== "response") throw new Error("expected a response");
    const outcome: Outcome = { first, count };
    if (answer.envelope.error) outcome.error = answer.envelope.error.code;
    else {
      const [result] = (answer.envelope.body as { partitions: { baseOffsets?: number[]; error?: { code: string; message: string } }[] }).partitions;
      if (result!.error) outcome.error = result!.error.code;
      else outcome.offset = result!.baseOffsets![0];
    }
    this.outcomes.push(outcome);
    return outcome;
  }

  private value(id: number): Uint8Array {
    const head = utf8.encode(`record-${id}:`);
    const value = new Uint8Array(Math.max(head.length, this.valueBytes)).fill(0x2e);
    value.set(head);
    return value;
  }

  /**
   * Every acknowledged record is in the log at its acknowledged offset, and
   * nothing else is: the refused batches left no trace (`refusedMayExist`
   * false), or may have (an fsync failure's outcome is unknown).
   */
  expectLogMatches(records: Map<number, number>, refusedMayExist = false): void {
    for (const outcome of this.acknowledged) {
      for (let i = 0; i < outcome.count; i++) expect(records.get(outcome.offset! + i)).toBe(outcome.first + i);
    }
    if (refusedMayExist) return;
    const acknowledgedIds = new Set(this.acknowledged.flatMap((o) => Array.from({ length: o.count }, (_, i) => o.first + i)));
    const unexpected = [...records.values()].filter((id) => !acknowledgedIds.has(id));
    expect(unexpected).toEqual([]);
  }
}

/** offset → record number of every record in partition `partition` up to `end`, read with a Consumer. */
export async function readRecords(port: number, topic: string, end: number, partition = 0): Promise<Map<number, number>> {
  const records = new Map<number, number>();
  if (end === 0) return records;
  const consumer = new Consumer({
    bootstrap: [{ host: "127.0.0.1", port }],
    topic,
    partitions: [partition],
    startOffsets: new Map([[partition, 0]]),
    requestTimeoutMs: 5000,
    discoveryTimeoutMs: 5000,
  });
  try {
    await consumer.start();
    await withTimeout((async () => {
      for await (const batch of consumer.batches()) {
        for (const record of batch) {
          const match = /^record-(\d+):/.exec(text.decode(record.value!.subarray(0, 32)));
          records.set(record.offset, match ? Number(match[1]) : -1);
        }
        if (records.size >= end) return;
      }
    })(), 15_000, `reading ${topic}-${partition} up to offset ${end}`);
  } finally {
    consumer.close();
  }
  return records;
}
