/** The chaos run's report: settings, the faults injected, the records checked, each anomaly kind, and the verdict. */
import { ANOMALY_KINDS } from "./checker";
import type { ChaosResult } from "./run-chaos";

const round = (ms: number) => Math.round(ms);

/** The fault whose window (start → recovered) holds `at` (ms from the start), if any. */
function faultAround(result: ChaosResult, at: number): string {
  const fault = result.faults.findLast((f) => at >= f.startedAt - 1000 && at <= (f.recoveredAt ?? f.healedAt + 5000));
  return fault ? `during fault #${fault.index} (${fault.kind}, broker ${fault.victim})` : "outside every fault";
}

function gapsByKind(result: ChaosResult): string {
  const gaps = new Map<string, number[]>();
  for (const f of result.faults) gaps.set(f.kind, [...(gaps.get(f.kind) ?? []), f.unavailableMs ?? 0]);
  return [...gaps].map(([kind, list]) => {
    const sorted = list.sort((a, b) => a - b);
    return `${kind} ${round(sorted[Math.floor((sorted.length - 1) / 2)]!)} / ${round(sorted.at(-1)!)}`;
  }).join(", ");
}

export function renderChaosReport(result: ChaosResult): string {
  const { options, check, faults } = result;
  const s = check.stats;
  const byKind = new Map<string, number>();
  for (const fault of faults) byKind.set(fault.kind, (byKind.get(fault.kind) ?? 0) + 1);
  const lines = [
    `chaos: seed ${options.seed}, ${options.seconds} s, ${options.network ? "network namespaces (partitions on)" : "loopback (no partitions)"},${options.secret ? " with a cluster secret," : ""} ${options.producers} producers x ${options.ratePerProducer} records/s (delivery timeout 30 s${options.producers > 1 ? ", producer 0: 1.5 s" : ""}), ${options.partitions} partitions, ${Math.round(options.segmentBytes / 1024)} KiB segments, took ${(result.elapsedMs / 1000).toFixed(1)} s`,
    `faults injected: ${faults.length}${faults.length ? ` (${[...byKind].map(([kind, n]) => `${kind} ${n}`).join(", ")})` : ""}`,
    ...faults.map((f) => `  ${f.description} -> broker ${f.victim ?? "-"}: at ${(f.startedAt / 1000).toFixed(1)} s, healed +${round(f.healedAt - f.startedAt)} ms, ` +
      (f.overlap ? "recovery not awaited" : f.recoveredAt === null ? "NOT recovered" : `recovered +${round(f.recoveredAt - f.healedAt)} ms`) +
      `, longest ack gap ${round(f.unavailableMs ?? 0)} ms` + (f.note ? ` (${f.note})` : "")),
    `longest ack gap by fault kind (median / max ms): ${gapsByKind(result)}`,
    `broker events: ${Object.entries(result.events).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `records: ${s.attempts} sent, ${s.ok} acknowledged, ${s.failed} failed, ${s.unknown} unknown (${s.unknownInLog} of them in the log); ` +
      `${s.recordsInLog} in the log, ${s.liveReads} read live by two consumers, ${s.rereadRecords} read again after killing every process and restarting; ` +
      `leader epochs of ${s.batchesOnDisk} batches checked on disk`,
    `max unavailability: ${round(s.maxUnavailabilityMs)} ms without an acknowledgement, from ${(s.maxUnavailabilityFromMs / 1000).toFixed(1)} s ` +
      `(${faultAround(result, s.maxUnavailabilityFromMs)})`,
    "anomalies:",
    ...ANOMALY_KINDS.map((kind) => {
      const list = check.anomalies[kind];
      return [`  ${kind.padEnd(20)} ${list.count}`, ...list.examples.map((e) => `      ${e}`)].join("\n");
    }),
  ];
  for (const problem of result.problems) lines.push(`problem: ${problem}`);
  if (result.keptDir) lines.push(`data, process logs and history kept in ${result.keptDir}`);
  lines.push(result.passed ? "PASS: no anomalies" : `FAIL: ${check.anomalyCount} anomalies, ${result.problems.length} problems; replay with CHAOS_SEED=${options.seed} CHAOS_SECONDS=${options.seconds} CHAOS_NETWORK=${options.network ? 1 : 0}${options.secret ? " CHAOS_SECRET=1" : ""} make chaos`);
  return lines.join("\n");
}
