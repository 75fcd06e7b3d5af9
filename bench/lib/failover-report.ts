/** The failover benchmark's figures: per kill, then median / max, spurious elections, and the targets with PASS/MISS. */

export interface KillResult {
  index: number;
  killedId: number;
  newActiveId: number;
  epochBefore: number;
  epochAfter: number;
  killAt: number;
  /** Kill → the zookeeper names another active broker. */
  newActiveAfterMs: number;
  /** Last acknowledgement before the kill → first one after (the longest silence around the kill). */
  windowMs: number;
  /** Kill → first acknowledgement after it. */
  killToFirstAckMs: number;
  /** The longest pause between acks after they resumed, until the next kill (a later hiccup, if large). */
  laterPauseMs: number;
  lost: number;
  duplicated: number;
  failed: number;
}

export interface SpuriousCounts {
  electionsSignalled: number;
  brokersDeclaredDead: number;
  leaseLapses: number;
  stepDowns: number;
}

export interface FailoverResults {
  settings: Record<string, string | number>;
  load: { records: number; seconds: number; spurious: SpuriousCounts };
  kills: KillResult[];
  /** Elections and deaths beyond one per kill, over the kill phase. */
  spuriousDuringKills: SpuriousCounts;
  totals: { sent: number; acked: number; lost: number; duplicated: number; failed: number; outsideKills: { lost: number; duplicated: number } };
  targets: { name: string; pass: boolean; measured: string }[];
}

/** Acknowledgements arriving this soon after the kill were answered before it (loopback). */
const IN_FLIGHT_MS = 20;

/**
 * The silence the kill caused: from the last ack before it to the first ack
 * after it; and the longest pause after that, up to `until` (a later hiccup,
 * reported separately).
 */
export function unavailability(ackLog: readonly number[], killAt: number, until: number): { windowMs: number; resumedAt: number; laterPauseMs: number } {
  let next = 0;
  while (next < ackLog.length && ackLog[next]! <= killAt + IN_FLIGHT_MS) next++;
  if (next === 0 || next >= ackLog.length) return { windowMs: Infinity, resumedAt: Infinity, laterPauseMs: NaN };
  const resumedAt = ackLog[next]!;
  let laterPauseMs = 0;
  for (let j = next + 1; j < ackLog.length && ackLog[j]! <= until; j++) laterPauseMs = Math.max(laterPauseMs, ackLog[j]! - ackLog[j - 1]!);
  return { windowMs: resumedAt - ackLog[next - 1]!, resumedAt, laterPauseMs };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "never";

export function evaluateTargets(r: Omit<FailoverResults, "targets">): FailoverResults["targets"] {
  const windows = r.kills.map((k) => k.windowMs);
  const spurious = r.spuriousDuringKills.electionsSignalled + r.spuriousDuringKills.brokersDeclaredDead + r.load.spurious.electionsSignalled + r.load.spurious.brokersDeclaredDead;
  return [
    { name: "median unavailability <= 1 s", pass: median(windows) <= 1000, measured: `${fmt(median(windows))} ms` },
    { name: "max unavailability <= 2 s", pass: Math.max(...windows) <= 2000, measured: `${fmt(Math.max(...windows))} ms` },
    { name: "acknowledged records lost = 0", pass: r.totals.lost === 0, measured: String(r.totals.lost) },
    { name: "records duplicated = 0", pass: r.totals.duplicated === 0, measured: String(r.totals.duplicated) },
    { name: "spurious elections / false deaths = 0", pass: spurious === 0, measured: String(spurious) },
  ];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(header), ...rows.map(line)];
}

export function renderReport(r: FailoverResults): string {
  const out: string[] = [];
  out.push("Failover benchmark: kill -9 of the active broker under a steady producer (acks=all)");
  out.push(`  ${Object.entries(r.settings).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  out.push("");
  out.push(`Saturating load first (${fmt(r.load.records)} records in ${fmt(r.load.seconds, 1)} s, nobody killed):`);
  const s = r.load.spurious;
  out.push(`  spurious elections ${s.electionsSignalled}, brokers declared dead ${s.brokersDeclaredDead}, leader lease lapses ${s.leaseLapses}, step-downs ${s.stepDowns}`);
  out.push("");
  out.push("Per kill (window = last ack before the kill -> first ack after; lost/duplicated/failed by records sent around that kill):");
  out.push(
    ...table(
      ["kill", "killed", "new active", "epoch", "new active after", "window", "kill -> first ack", "later pause", "lost", "duplicated", "failed"],
      r.kills.map((k) => [
        String(k.index),
        String(k.killedId),
        String(k.newActiveId),
        `${k.epochBefore} -> ${k.epochAfter}`,
        `${fmt(k.newActiveAfterMs)} ms`,
        `${fmt(k.windowMs)} ms`,
        `${fmt(k.killToFirstAckMs)} ms`,
        `${fmt(k.laterPauseMs)} ms`,
        String(k.lost),
        String(k.duplicated),
        String(k.failed),
      ]),
    ),
  );
  const windows = r.kills.map((k) => k.windowMs);
  const detect = r.kills.map((k) => k.newActiveAfterMs);
  out.push("");
  out.push(`  unavailability window: median ${fmt(median(windows))} ms, max ${fmt(Math.max(...windows))} ms`);
  out.push(`  kill -> new active broker named: median ${fmt(median(detect))} ms, max ${fmt(Math.max(...detect))} ms`);
  const t = r.totals;
  out.push(`  records: sent ${fmt(t.sent)}, acknowledged ${fmt(t.acked)}, lost ${t.lost}, duplicated ${t.duplicated}, failed (never acknowledged) ${t.failed}` +
    (t.outsideKills.lost + t.outsideKills.duplicated > 0 ? ` (outside any kill: lost ${t.outsideKills.lost}, duplicated ${t.outsideKills.duplicated})` : ""));
  const k = r.spuriousDuringKills;
  out.push(`  beyond one per kill: elections ${k.electionsSignalled}, brokers declared dead ${k.brokersDeclaredDead}; leader lease lapses ${k.leaseLapses}, step-downs ${k.stepDowns}`);
  const later = r.kills.map((x) => x.laterPauseMs).filter((x) => Number.isFinite(x));
  out.push(`  later pause (after acks resumed, until the next kill; includes restarting the killed broker): max ${fmt(Math.max(...later))} ms`);
  out.push("");
  out.push("Targets (reported, never enforced):");
  for (const target of r.targets) out.push(`  ${target.pass ? "PASS" : "MISS"}  ${target.name}: ${target.measured}`);
  return out.join("\n");
}
