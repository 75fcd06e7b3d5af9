/** Figures of the group benchmark: summaries and the printed table. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface ThroughputRow {
  label: string;
  members: number;
  records: number;
  /** Records delivered more than once (rebalances after uncommitted reads). */
  reread: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

export interface GroupBenchResults {
  environment: Record<string, string | number>;
  settings: { partitions: number; rounds: number; records: number; recordBytes: number; repeats: number };
  settleAfterJoinMs: Summary;
  settleAfterLeaveMs: Summary;
  throughput: ThroughputRow[];
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round1(median), min: round1(sorted[0]!), max: round1(sorted.at(-1)!), samples: samples.map(round1) };
}

export function renderGroupBench(r: GroupBenchResults): string {
  const s = r.settings;
  const lines = [
    `Consumer groups — ${s.partitions} partitions, Bun ${r.environment.bun}, ${r.environment.cpus} CPUs, load ${r.environment.loadAverageAtStart} at start`,
    "",
    `Settle time of a 3-member group (every member reading its share; median of ${s.rounds}):`,
    `  after a member joins (2 → 3)   median ${r.settleAfterJoinMs.median} ms   min ${r.settleAfterJoinMs.min}   max ${r.settleAfterJoinMs.max}`,
    `  after a member leaves (3 → 2)  median ${r.settleAfterLeaveMs.median} ms   min ${r.settleAfterLeaveMs.min}   max ${r.settleAfterLeaveMs.max}`,
    "",
    `Reading ${s.records.toLocaleString("en-US")} records of ${s.recordBytes} B from the earliest offset (each reader its own process; median of ${s.repeats} interleaved runs):`,
  ];
  const baseline = r.throughput[0]!.recordsPerSec;
  for (const row of r.throughput) {
    const rate = Math.round(row.recordsPerSec).toLocaleString("en-US").padStart(11);
    const ratio = `${(row.recordsPerSec / baseline).toFixed(2)}x the single consumer`;
    lines.push(`  ${row.label.padEnd(16)} ${rate} records/s  ${row.mbPerSec.toFixed(1).padStart(7)} MB/s  ${ratio}${row.reread > 0 ? `  (${row.reread} re-read)` : ""}`);
  }
  lines.push("", `Figures only (no targets asserted); ${r.environment.totalSeconds} s in all.`);
  return lines.join("\n");
}
