/**
 * What the chaos run records: every produce attempt with its outcome as the
 * producer saw it, every record a live consumer read (in the order it read
 * them), the log read back at the end, and the faults injected.
 */

/**
 * ok: acknowledged at partition/offset. failed: the producer gave up with a
 * definite, non-retriable error (the record should not be in the log).
 * unknown: it gave up on a retriable error (a timeout, a lost connection): the
 * record may or may not be in the log.
 */
export type Outcome = "ok" | "failed" | "unknown";

export interface Attempt {
  producer: number;
  /** Position in this producer's send order. */
  seq: number;
  /** The record's value, unique across the run: its id. */
  value: string;
  key: string;
  sentAt: number;
  settledAt?: number;
  outcome?: Outcome;
  partition?: number;
  offset?: number;
  error?: string;
}

/** Records a live consumer received from one partition, in arrival order. */
export interface PartitionReads {
  offsets: number[];
  values: string[];
}

/** The log read back at the end: per partition, the values at offsets 0, 1, 2, … (as read, offsets included). */
export type FinalLog = Map<number, { offsets: number[]; values: string[] }>;

export interface FaultRecord {
  index: number;
  kind: string;
  description: string;
  victim: number | null;
  startedAt: number;
  healedAt: number;
  /** When every broker was alive again with one active, or null if the cluster did not recover in time (or, with `overlap`, was not waited for). */
  recoveredAt: number | null;
  overlap: boolean;
  /** The longest time without an acknowledgement from the fault's start to a second after it was over. */
  unavailableMs?: number;
  note?: string;
}

/** The record id in a value: the values carry padding after a "|". */
export function recordId(value: string): string {
  const bar = value.indexOf("|");
  return bar < 0 ? value : value.slice(0, bar);
}
