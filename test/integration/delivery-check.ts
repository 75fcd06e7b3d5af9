/**
 * What the cluster tests assert about a topic after failovers: every
 * acknowledged record is in the log at the offset it was acknowledged with
 * (so no offset holds two different records), each partition's offsets run
 * 0, 1, 2, … with nothing repeated, records keep their send order within a
 * partition, and — once the producer is idempotent — nothing is duplicated.
 */
import { expect } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { checkFrame, NO_PRODUCER_ID } from "../../src/log/batch-frame";
import { Admin } from "../../src/client/admin";
import { ClusterClient, type ClusterClientOptions } from "../../src/client/cluster-client";
import { encodeBatch } from "../../src/log/record-codec";
import { API, type ProduceRequest, type ProduceResponse } from "../../src/protocol/api";
import type { ReadRecord } from "./cluster-harness";

const PROBE_TOPIC = "idempotence-probe";

export interface Ack {
  /** The record's position in the send order. */
  seq: number;
  key: string | null;
  value: string;
  partition: number;
  offset: number;
}

export interface DeliveryReport {
  acked: number;
  /** Records in the log (every copy). */
  stored: number;
  /** Acknowledged records missing from the log or found at another offset than acknowledged. */
  lost: string[];
  /** Acknowledged offsets that hold a different record. */
  conflicts: string[];
  /** Extra copies of a record (retries the broker could not recognise). */
  duplicates: number;
  /** Partitions whose offsets are not 0..n-1 each exactly once. */
  offsetProblems: string[];
  /** Records stored after a record sent later, within one partition (first copies only). */
  reordered: number;
}

/** `valueSeq` maps a stored value back to its send order (or null for values the test did not send). */
export function checkDelivery(acks: readonly Ack[], log: Map<number, ReadRecord[]>, valueSeq: (value: string) => number | null): DeliveryReport {
  const report: DeliveryReport = { acked: acks.length, stored: 0, lost: [], conflicts: [], duplicates: 0, offsetProblems: [], reordered: 0 };
  const copies = new Map<string, number>();
  for (const [partition, records] of log) {
    report.stored += records.length;
    records.forEach((record, i) => {
      if (record.offset !== i && report.offsetProblems.length < 10) {
        report.offsetProblems.push(`partition ${partition}: position ${i} holds offset ${record.offset}`);
      }
    });
    let lastSeq = -1;
    for (const record of records) {
      const n = (copies.get(record.value) ?? 0) + 1;
      copies.set(record.value, n);
      if (n > 1) {
        report.duplicates++;
        continue;
      }
      const seq = valueSeq(record.value);
      if (seq === null) continue;
      if (seq < lastSeq) report.reordered++;
      lastSeq = Math.max(lastSeq, seq);
    }
  }
  for (const ack of acks) {
    const records = log.get(ack.partition) ?? [];
    const at = records[ack.offset];
    if (at === undefined || at.offset !== ack.offset) {
      if (report.lost.length < 10) report.lost.push(`${ack.value} acked at ${ack.partition}/${ack.offset}, which is not in the log`);
      continue;
    }
    if (at.value !== ack.value || at.key !== ack.key) {
      if (report.conflicts.length < 10) report.conflicts.push(`${ack.partition}/${ack.offset} acked as ${ack.value} but holds ${at.value}`);
    }
  }
  return report;
}

/** Whether any of the topic's batches carries a producer id (the producer sent them idempotently). */
export function writtenWithProducerIds(dataDir: string, topic: string): boolean {
  const topicDir = path.join(dataDir, "topics", topic);
  for (const partition of fs.readdirSync(topicDir)) {
    const dir = path.join(topicDir, partition);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const file of fs.readdirSync(dir).filter((name) => name.endsWith(".log"))) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, file)));
      for (let pos = 0; pos < bytes.length; ) {
        const check = checkFrame(bytes, pos);
        if (!check.ok) break;
        if (check.header.producerId !== NO_PRODUCER_ID) return true;
        pos += check.header.frameSize;
      }
    }
  }
  return false;
}

/**
 * Whether the active broker drops a batch it already holds: the same
 * idempotent batch (producer id, epoch, sequence) sent twice must come back
 * with the same offset.
 */
export async function brokerDeduplicates(options: ClusterClientOptions): Promise<boolean> {
  const admin = new Admin(options);
  const client = new ClusterClient(options);
  try {
    await admin.ensureTopic(PROBE_TOPIC, 1);
    const producerId = 1 + Math.floor(Math.random() * 2 ** 40);
    const frame = () => encodeBatch([{ value: new TextEncoder().encode("idempotence probe") }], { producerId, producerEpoch: 0, baseSequence: 0 });
    const send = async () => {
      const bytes = frame();
      const request: ProduceRequest = { topic: PROBE_TOPIC, acks: "all", partitions: [{ partition: 0, bytes: bytes.length }] };
      const { body } = await client.request(API.produce, request, [bytes]);
      const result = (body as ProduceResponse).partitions[0]!;
      return "baseOffsets" in result ? result.baseOffsets[0]! : -1;
    };
    const first = await send();
    const second = await send();
    return first >= 0 && second === first;
  } finally {
    client.close();
    admin.close();
  }
}

/** Exactly-once is asserted when the producer sent producer ids and the broker deduplicates by them. */
export async function exactlyOnceExpected(options: ClusterClientOptions, dataDir: string, topic: string): Promise<boolean> {
  return writtenWithProducerIds(dataDir, topic) && (await brokerDeduplicates(options));
}

/** One line for the test output. */
export function describeReport(name: string, report: DeliveryReport, idempotent: boolean): string {
  return `[${name}] acked=${report.acked} stored=${report.stored} duplicates=${report.duplicates} reordered=${report.reordered} ` +
    `lost=${report.lost.length} conflicts=${report.conflicts.length} exactlyOnceAsserted=${idempotent}` +
    (idempotent ? "" : " (the producer sent no ids or the broker does not deduplicate yet: duplicates and reordering by retries are reported, not asserted)");
}

/** Nothing acknowledged is lost or overwritten; with an idempotent producer, nothing is duplicated or reordered either. */
export function expectDelivery(report: DeliveryReport, idempotent: boolean): void {
  expect(report.offsetProblems).toEqual([]);
  expect(report.lost).toEqual([]);
  expect(report.conflicts).toEqual([]);
  if (idempotent) {
    expect(report.duplicates).toBe(0);
    expect(report.reordered).toBe(0);
  }
}
