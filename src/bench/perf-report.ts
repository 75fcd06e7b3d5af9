/** `kafka-clone bench produce|consume|e2e` results for people: a two-column table. */
import type { LatencySummary } from "./latency";
import type { PerfResult } from "./perf-runs";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })} ms`;

function latencyLine(l: LatencySummary): string {
  return `p50 ${ms(l.p50)}   p99 ${ms(l.p99)}   p99.9 ${ms(l.p999)}   max ${ms(l.max)}   mean ${ms(l.mean)}   (${int(l.count)} samples)`;
}

export function renderPerfTable(r: PerfResult): string {
  const rows: [string, string][] = [];
  const p = r.producer;
  const setup =
    `${int(r.requested)} records of ${int(r.recordBytes)} B, topic ${r.topic} (${r.partitions} partition${r.partitions === 1 ? "" : "s"})` +
    (p ? `, ${p.producers} producer${p.producers === 1 ? "" : "s"}, acks=${p.acks}, rate ${p.rate > 0 ? `${int(p.rate)}/s` : "unlimited"}` : "");
  rows.push(["run", `bench ${r.mode}: ${setup}`]);
  if (r.mode === "produce") rows.push(["acknowledged", `${int(r.records)} of ${int(r.sent)} sent (${int(r.failed)} failed)`]);
  else if (r.mode === "e2e") rows.push(["received", `${int(r.records)} of ${int(r.sent)} sent (${int(r.failed)} failed)`]);
  else rows.push(["received", int(r.records)]);
  if (r.firstError) rows.push(["first error", r.firstError]);
  rows.push(["time", `${r.seconds.toFixed(2)} s`]);
  rows.push(["throughput", `${int(r.recordsPerSec)} records/s   ${r.mbPerSec.toFixed(1)} MB/s of values`]);
  if (r.ackLatencyMs) rows.push(["ack latency", latencyLine(r.ackLatencyMs)]);
  if (r.endToEndLatencyMs) rows.push(["end-to-end", latencyLine(r.endToEndLatencyMs)]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}
