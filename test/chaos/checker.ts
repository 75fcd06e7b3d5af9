/**
 * The chaos checker, pure: given what the producers were told, what a live
 * consumer read and the log read back at the end, it reports what Jepsen's
 * Kafka checker reports.
 *
 * - lost: acknowledged, yet nowhere in the log;
 * - duplicated: one record id at two offsets;
 * - inconsistentOffsets: an offset holding two different records (the
 *   producer was told X went there but the log holds Y there; a live reader
 *   read X there but the final read finds Y, or nothing);
 * - failedButRead: a write the producer was told definitely failed, found in
 *   the log or by the live reader;
 * - nonMonotonic: a live consumer's offsets within a partition went backwards;
 * - skipped: a consumer jumped over offsets (or the log's offsets are not
 *   0, 1, 2, …);
 * - reordered: one producer's acknowledged records landed in a partition out
 *   of their send order;
 * - unexpected: records nobody sent;
 * - epochRegression: a batch in the log (read from disk) written at a lower
 *   leader epoch than the batch before it — a deposed leader's write;
 * - restartDivergence: the log read again after every process was killed
 *   with -9 and the cluster restarted differs from the log read before.
 *
 * Plus figures: outcomes, records checked, and the longest gap between
 * acknowledgements while the producers were running.
 */
import type { Attempt, FinalLog, PartitionReads } from "./history";

export const ANOMALY_KINDS = [
  "lost", "duplicated", "inconsistentOffsets", "failedButRead", "nonMonotonic", "skipped", "reordered", "unexpected", "epochRegression", "restartDivergence",
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface AnomalyList {
  count: number;
  examples: string[];
}

export interface CheckInput {
  attempts: readonly Attempt[];
  final: FinalLog;
  /** Live consumers' reads, each under a name for the report. */
  live: readonly { name: string; reads: ReadonlyMap<number, PartitionReads> }[];
  /** epoch-regression findings from the data directory (disk-epochs.ts), and how many batches were looked at. */
  epochRegressions?: readonly string[];
  batchesOnDisk?: number;
  /** The log read again after a full-cluster crash and restart. */
  reread?: FinalLog;
  /** When the producers started and were told to stop (same clock as the attempts' times). */
  loadStartedAt: number;
  loadStoppedAt: number;
}

export interface CheckReport {
  anomalies: Record<AnomalyKind, AnomalyList>;
  anomalyCount: number;
  stats: {
    attempts: number;
    ok: number;
    failed: number;
    unknown: number;
    unknownInLog: number;
    recordsInLog: number;
    liveReads: number;
    /** Records read again after the full-cluster crash-restart. */
    rereadRecords: number;
    batchesOnDisk: number;
    maxUnavailabilityMs: number;
    /** Where that gap began, ms after the producers started. */
    maxUnavailabilityFromMs: number;
  };
}

const MAX_EXAMPLES = 10;

export function check(input: CheckInput): CheckReport {
  const anomalies = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, { count: 0, examples: [] }])) as unknown as Record<AnomalyKind, AnomalyList>;
  const report = (kind: AnomalyKind, example: () => string) => {
    const list = anomalies[kind];
    list.count++;
    if (list.examples.length < MAX_EXAMPLES) list.examples.push(example());
  };
  const byId = new Map(input.attempts.map((a) => [a.value, a]));

  // Where each record id sits in the final log; the log's own offsets must run 0, 1, 2, …
  const positions = new Map<string, string[]>();
  let recordsInLog = 0;
  for (const [partition, { offsets, values }] of input.final) {
    recordsInLog += offsets.length;
    offsets.forEach((offset, i) => {
      if (offset !== i) report("skipped", () => `final read of partition ${partition}: position ${i} holds offset ${offset}`);
      const id = values[i]!;
      const at = `${partition}/${offset}`;
      const list = positions.get(id);
      if (list) list.push(at);
      else positions.set(id, [at]);
    });
  }
  const finalAt = (partition: number, offset: number): string | undefined => {
    const entry = input.final.get(partition);
    if (!entry) return undefined;
    if (entry.offsets[offset] === offset) return entry.values[offset];
    const i = entry.offsets.indexOf(offset);
    return i < 0 ? undefined : entry.values[i];
  };
  for (const [id, at] of positions) {
    if (at.length > 1) report("duplicated", () => `${id} at ${at.join(", ")}`);
    if (!byId.has(id)) report("unexpected", () => `${JSON.stringify(id.slice(0, 40))} at ${at.join(", ")}, sent by no producer`);
  }

  // What the producers were told.
  let ok = 0;
  let failed = 0;
  let unknown = 0;
  let unknownInLog = 0;
  for (const attempt of input.attempts) {
    const inLog = positions.get(attempt.value);
    if (attempt.outcome === "ok") {
      ok++;
      const at = `${attempt.partition}/${attempt.offset}`;
      const there = finalAt(attempt.partition!, attempt.offset!);
      if (!inLog) report("lost", () => `${attempt.value} acknowledged at ${at} (after ${Math.round(attempt.settledAt! - attempt.sentAt)} ms), not in the log`);
      else if (there !== attempt.value) {
        report("inconsistentOffsets", () => `${at} acknowledged as ${attempt.value}, but the log holds ${there ?? "nothing"} there (${attempt.value} is at ${inLog.join(", ")})`);
      }
    } else if (attempt.outcome === "failed") {
      failed++;
      if (inLog) report("failedButRead", () => `${attempt.value} failed (${attempt.error}) but is in the log at ${inLog.join(", ")}`);
    } else {
      unknown++;
      if (inLog) unknownInLog++;
    }
  }

  // What the live consumers read, in order.
  let liveReads = 0;
  for (const { name, reads } of input.live) {
    for (const [partition, { offsets, values }] of reads) {
      liveReads += offsets.length;
      let previous = -1;
      offsets.forEach((offset, i) => {
        const id = values[i]!;
        if (offset <= previous) report("nonMonotonic", () => `${name} reader, partition ${partition}: offset ${offset} after ${previous}`);
        else if (offset > previous + 1) report("skipped", () => `${name} reader, partition ${partition}: offset ${offset} after ${previous} (skipped ${offset - previous - 1})`);
        previous = Math.max(previous, offset);
        const there = finalAt(partition, offset);
        if (there !== id) report("inconsistentOffsets", () => `${name} reader read ${id} at ${partition}/${offset}, the final read has ${there ?? "nothing"} there`);
        const attempt = byId.get(id);
        if (attempt?.outcome === "failed" && !positions.has(id)) {
          report("failedButRead", () => `${id} failed (${attempt.error}) but the ${name} reader read it at ${partition}/${offset}`);
        }
      });
    }
  }

  checkSendOrder(input.attempts, (example) => report("reordered", () => example));
  for (const finding of input.epochRegressions ?? []) report("epochRegression", () => finding);
  if (input.reread) compareLogs(input.final, input.reread, (example) => report("restartDivergence", () => example));
  const gap = longestGap(input.attempts, input.loadStartedAt, input.loadStoppedAt);
  const anomalyCount = ANOMALY_KINDS.reduce((n, kind) => n + anomalies[kind].count, 0);
  return {
    anomalies,
    anomalyCount,
    stats: {
      attempts: input.attempts.length,
      ok,
      failed,
      unknown,
      unknownInLog,
      recordsInLog,
      liveReads,
      rereadRecords: [...(input.reread?.values() ?? [])].reduce((n, p) => n + p.offsets.length, 0),
      batchesOnDisk: input.batchesOnDisk ?? 0,
      maxUnavailabilityMs: gap.ms,
      maxUnavailabilityFromMs: gap.from - input.loadStartedAt,
    },
  };
}

/** The log after a crash-restart must hold exactly what it held before, offset for offset. */
function compareLogs(before: FinalLog, after: FinalLog, report: (example: string) => void): void {
  for (const [partition, { offsets, values }] of before) {
    const again = after.get(partition) ?? { offsets: [], values: [] };
    if (again.offsets.length !== offsets.length) report(`partition ${partition}: ${offsets.length} records before, ${again.offsets.length} after`);
    const n = Math.min(offsets.length, again.offsets.length);
    for (let i = 0; i < n; i++) {
      if (again.offsets[i] !== offsets[i] || again.values[i] !== values[i]) {
        report(`partition ${partition}: position ${i} held ${values[i]} at offset ${offsets[i]}, after the restart ${again.values[i]} at offset ${again.offsets[i]}`);
      }
    }
  }
}

/** One producer's acknowledged records in one partition must have offsets in their send order. */
function checkSendOrder(attempts: readonly Attempt[], report: (example: string) => void): void {
  const last = new Map<string, Attempt>();
  for (const attempt of attempts) {
    if (attempt.outcome !== "ok") continue;
    const key = `${attempt.producer}/${attempt.partition}`;
    const before = last.get(key);
    if (before && before.seq < attempt.seq && before.offset! >= attempt.offset!) {
      report(`producer ${attempt.producer}: ${before.value} acknowledged at ${before.partition}/${before.offset}, the later ${attempt.value} at ${attempt.partition}/${attempt.offset}`);
    }
    if (!before || attempt.seq > before.seq) last.set(key, attempt);
  }
}

/** The longest time without any acknowledgement between `from` and `to` (edges included). */
export function longestGap(attempts: readonly Attempt[], from: number, to: number): { ms: number; from: number } {
  const times = attempts
    .filter((a) => a.outcome === "ok" && a.settledAt! >= from && a.settledAt! <= to)
    .map((a) => a.settledAt!)
    .sort((a, b) => a - b);
  let best = { ms: 0, from };
  let previous = from;
  for (const at of [...times, to]) {
    if (at - previous > best.ms) best = { ms: at - previous, from: previous };
    previous = at;
  }
  return best;
}
