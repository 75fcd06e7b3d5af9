/** `make bench` figures as a readable table, and the targets with PASS/MISS markers. */
import type { ProducerSettings } from "./broker-config";
import type { BrokerLatencyView } from "./broker-histograms";
import type { ReadBackResult } from "./consume-load";
import type { FsyncProbeResult } from "./fsync-probe";
import type { LatencySummary } from "./latency";
import type { Usage } from "./meter";
import type { PacedResult, ThroughputResult } from "./produce-load";
import type { RateResult } from "./raw-io";

export interface ThroughputRow extends ThroughputResult {
  /** Bytes the topic takes on disk (frames with their headers), per second of the phase. */
  logMbPerSec: number;
  /** The raw baseline measured between this phase's steps. */
  baseline: RateResult;
}

export interface LatencyRow extends PacedResult {
  kind: "produce-ack" | "end-to-end";
  /** For end-to-end rows: produce call → consumer receives. `ack` is then the producer's own view. */
  endToEnd: LatencySummary | null;
  /** The broker's histograms over the same stretch (null without its metrics port). */
  broker: BrokerLatencyView | null;
}

export interface Target {
  name: string;
  pass: boolean;
  measured: string;
}

export interface BrokerBenchResults {
  environment: Record<string, string | number>;
  settings: { partitions: number; outstanding: number; throughput: ProducerSettings; latency: ProducerSettings; rate: number };
  notes: string[];
  throughput: ThroughputRow[];
  readBack: ReadBackResult[];
  latency: LatencyRow[];
  fsyncProbe: FsyncProbeResult | null;
  targets: Target[];
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (n: number) => `${fmt(n * 100, 0)}%`;
const ms = (n: number) => fmt(n, n < 10 ? 2 : 1);
const cores = (u: Usage) => `${fmt(u.clientCores, 2)} / ${fmt(u.brokerCores, 2)}`;
const waits = (u: Usage) => (Number.isNaN(u.clientCpuWait) ? "-" : `${pct(u.clientCpuWait)} / ${pct(u.brokerCpuWait)}`);
const perRecord = (u: Usage, recordsPerSec: number) =>
  `${fmt((u.clientCores * 1e6) / recordsPerSec, 2)} / ${fmt((u.brokerCores * 1e6) / recordsPerSec, 2)}`;
function brokerColumn(view: BrokerLatencyView | null): string {
  if (!view || view.produce.count === 0) return "-";
  const bound = (n: number) => (Number.isNaN(n) ? "-" : `≤${ms(n)}`);
  const share = (n: number) => (Number.isNaN(n) ? "-" : `${fmt(n * 100, 1)}%`);
  return `${bound(view.produce.p99AtMostMs)} (${share(view.produce.over5ms)}) / ${bound(view.fsync.p99AtMostMs)} (${share(view.fsync.over5ms)})`;
}
const recordLabel = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`);

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

function describe(s: ProducerSettings): string {
  return `batchBytes ${fmt(s.batchBytes / 1024)} KiB, lingerMs ${s.lingerMs}, maxInFlight ${s.maxInFlight}, maxRequestBytes ${fmt(s.maxRequestBytes / 1024)} KiB`;
}

export function evaluateTargets(r: Omit<BrokerBenchResults, "targets">): Target[] {
  const targets: Target[] = [];
  const small = r.throughput.find((t) => t.recordBytes === 100);
  if (small) {
    targets.push({
      name: "producer >= 1,000,000 records/s of 100 B, acks=all",
      pass: small.recordsPerSec >= 1_000_000,
      measured: `${fmt(small.recordsPerSec)} records/s`,
    });
  }
  const kib = r.throughput.find((t) => t.recordBytes === 1024);
  if (kib) {
    const ratio = kib.mbPerSec / kib.baseline.mbPerSec;
    targets.push({
      name: "producer 1 KiB records >= 50% of the raw disk baseline's MB/s",
      pass: ratio >= 0.5,
      measured: `${pct(ratio)} (${fmt(kib.mbPerSec)} of ${fmt(kib.baseline.mbPerSec)} MB/s)`,
    });
  }
  const read = r.readBack.find((t) => t.recordBytes === 100) ?? r.readBack[0];
  if (read) {
    targets.push({
      name: `consumer >= 2,000,000 records/s (${recordLabel(read.recordBytes)} records)`,
      pass: read.recordsPerSec >= 2_000_000,
      measured: `${fmt(read.recordsPerSec)} records/s`,
    });
  }
  for (const row of r.latency) {
    if (row.kind === "produce-ack") {
      targets.push({
        name: `produce-ack p99 <= 5 ms at ${fmt(row.rate)} records/s (${recordLabel(row.recordBytes)})`,
        pass: row.ack.p99 <= 5,
        measured: `${ms(row.ack.p99)} ms`,
      });
    } else if (row.endToEnd) {
      targets.push({
        name: `end-to-end p99 <= 10 ms at ${fmt(row.rate)} records/s (${recordLabel(row.recordBytes)})`,
        pass: row.endToEnd.p99 <= 10,
        measured: `${ms(row.endToEnd.p99)} ms`,
      });
    }
  }
  return targets;
}

function throughputSection(r: BrokerBenchResults): string[] {
  const s = r.settings;
  return [
    "",
    `Producer throughput: acks=all, ${s.partitions} partition(s), ${fmt(s.outstanding)} sends outstanding`,
    `  producer: ${describe(s.throughput)}`,
    ...table(
      ["record", "records/s", "MB/s", "log MB/s", "disk baseline MB/s", "vs baseline", "records", "seconds", "CPU client/broker", "CPU wait", "µs CPU/rec client/broker"],
      r.throughput.map((t) => [
        recordLabel(t.recordBytes),
        fmt(t.recordsPerSec),
        fmt(t.mbPerSec, 1),
        fmt(t.logMbPerSec, 1),
        fmt(t.baseline.mbPerSec),
        pct(t.mbPerSec / t.baseline.mbPerSec),
        fmt(t.records),
        fmt(t.seconds, 1),
        cores(t),
        waits(t),
        perRecord(t, t.recordsPerSec),
      ]),
    ),
    "  (disk baseline: 1 MiB write + fdatasync on the same disk, in steps alternating with the produce steps; log MB/s: frames as stored)",
  ];
}

function readBackSection(r: BrokerBenchResults): string[] {
  return [
    "",
    "Consumer read-back: whole topic from the earliest offset, Consumer.batches() (page cache warm)",
    ...table(
      ["record", "records/s", "MB/s", "records", "seconds", "pushes", "CPU client/broker", "CPU wait", "µs CPU/rec client/broker"],
      r.readBack.map((c) => [
        recordLabel(c.recordBytes),
        fmt(c.recordsPerSec),
        fmt(c.mbPerSec, 1),
        fmt(c.records),
        fmt(c.seconds, 2),
        fmt(c.chunks),
        cores(c),
        waits(c),
        perRecord(c, c.recordsPerSec),
      ]),
    ),
  ];
}

function latencySection(r: BrokerBenchResults): string[] {
  const s = r.settings;
  const rows = r.latency.map((l) => {
    const summary = l.kind === "end-to-end" && l.endToEnd ? l.endToEnd : l.ack;
    return [
      recordLabel(l.recordBytes),
      l.kind === "produce-ack" ? "send() -> ack" : "send() -> consumer",
      ms(summary.p50),
      ms(summary.p99),
      ms(summary.p999),
      ms(summary.max),
      fmt(summary.count),
      fmt(l.achievedRate),
      `${ms(l.tickLag.p99)} / ${ms(l.tickLag.max)}`,
      brokerColumn(l.broker),
      cores(l),
      waits(l),
    ];
  });
  const probe = r.fsyncProbe;
  if (probe) {
    const p = probe.latency;
    rows.push([`${fmt(probe.writeBytes / 1024)} KiB`, "disk: write+fdatasync", ms(p.p50), ms(p.p99), ms(p.p999), ms(p.max), fmt(p.count), fmt(probe.perSecond), "-", "-", "-", "-"]);
  }
  return [
    "",
    `Latency at ${fmt(s.rate)} records/s (paced on the monotonic clock; ms)`,
    `  producer: ${describe(s.latency)}`,
    ...table(["record", "measured", "p50", "p99", "p99.9", "max", "records", "rate/s", "wake lag p99/max", "broker produce/fsync p99 (>5 ms)", "CPU client/broker", "CPU wait"], rows),
    "  (end-to-end: the send time travels in the record value; the consumer subscribed at latest, in the same process;",
    "   wake lag: how late the load process woke from its 1 ms sleeps, i.e. event-loop stalls plus time the OS kept it off a CPU;",
    "   broker: the broker's own histograms (its metrics port) over the same stretch: produce requests from arrival to answer and its",
    "   group-commit fdatasyncs, as the upper bound of the bucket holding the p99, and the share above 5 ms;",
    "   disk: the same disk's own latency just before, small appends + fdatasync from this process, the floor under acks=all)",
  ];
}

export function renderTable(r: BrokerBenchResults): string {
  const env = r.environment;
  const out: string[] = [
    `Kafka Clone broker benchmark  (bun ${env.bun}, ${env.cpus} CPUs, ${env.dir}; one broker process + this load process on loopback; MB = 10^6 bytes of record values)`,
    `1-minute load average at start: ${env.loadAverageAtStart} (anything above ~0 means other processes share the CPUs and the disk)`,
    "CPU client/broker: cores used by this load process / the broker process; CPU wait: share of the phase each one's main",
    "thread was runnable but had no CPU (time other processes took; from /proc/<pid>/schedstat)",
  ];
  for (const note of r.notes) out.push(`note: ${note}`);
  if (r.throughput.length > 0) out.push(...throughputSection(r));
  if (r.readBack.length > 0) out.push(...readBackSection(r));
  if (r.latency.length > 0 || r.fsyncProbe) out.push(...latencySection(r));
  out.push("", "Targets (issue 3; informational, never fails the run)");
  for (const t of r.targets) out.push(`  ${t.pass ? "PASS" : "MISS"}  ${t.name}: ${t.measured}`);
  return out.join("\n");
}
