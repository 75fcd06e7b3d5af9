/** The figures as a readable table, and the targets from issue 2 with PASS/MISS markers. */
import type { AppendPhaseResult, EncodeRate } from "./log-append";
import type { RateResult } from "../../src/bench/raw-io";
import type { DecodeResult, ReadPhaseResult } from "./log-read-back";
import type { ReopenResult } from "./log-reopen";

export interface ReadRow {
  partition: string;
  cache: "warm" | "cold";
  log: ReadPhaseResult;
  raw: RateResult;
  /** The raw read with a new 1 MiB Buffer per read, as the log's readAt does (warm only). */
  rawFresh: RateResult | null;
}

export interface RawRun {
  label: string;
  append: RateResult;
  readWarm: RateResult | null;
  readFresh: RateResult | null;
  readCold: RateResult | null;
}

export interface AppendRow extends AppendPhaseResult {
  /** The raw baseline run interleaved with this record size's durable appends. */
  baselineMbPerSec: number;
}

export interface BenchResults {
  environment: Record<string, string | number>;
  notes: string[];
  baseline: RawRun[];
  appends: AppendRow[];
  reads: ReadRow[];
  decode: (DecodeResult & { recordBytes: number })[];
  encode: EncodeRate[];
  reopen: ReopenResult[];
  targets: Target[];
}

export interface Target {
  name: string;
  pass: boolean;
  measured: string;
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (n: number) => `${fmt(n * 100, 0)}%`;
const mib = (bytes: number) => `${fmt(bytes / 1048576, bytes < 10 * 1048576 ? 1 : 0)} MiB`;
const size = (bytes: number) => (bytes >= 1048576 ? mib(bytes) : `${fmt(bytes / 1024, 0)} KiB`);
const recordLabel = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`);

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

export function evaluateTargets(r: Omit<BenchResults, "targets">): Target[] {
  const targets: Target[] = [];
  const durable = (bytes: number) => r.appends.find((a) => a.recordBytes === bytes && a.acks === "all");
  const kib = durable(1024);
  if (kib) {
    const ratio = kib.mbPerSec / kib.baselineMbPerSec;
    targets.push({
      name: "durable 1 KiB appends >= 60% of baseline MB/s",
      pass: ratio >= 0.6,
      measured: `${pct(ratio)} (${fmt(kib.mbPerSec)} of ${fmt(kib.baselineMbPerSec)} MB/s)`,
    });
  }
  const small = durable(100);
  if (small) {
    targets.push({
      name: "durable 100 B appends >= 2,000,000 records/s",
      pass: small.recordsPerSec >= 2_000_000,
      measured: `${fmt(small.recordsPerSec)} records/s`,
    });
  }
  for (const cache of ["cold", "warm"] as const) {
    const rows = r.reads.filter((row) => row.cache === cache);
    if (rows.length === 0) continue;
    const worst = rows.reduce((a, b) => (a.log.mbPerSec / a.raw.mbPerSec <= b.log.mbPerSec / b.raw.mbPerSec ? a : b));
    const ratio = worst.log.mbPerSec / worst.raw.mbPerSec;
    targets.push({
      name: `whole-partition read >= 70% of raw sequential read (${cache === "cold" ? "from the device" : "page cache"})`,
      pass: ratio >= 0.7,
      measured: `${pct(ratio)} (${fmt(worst.log.mbPerSec)} of ${fmt(worst.raw.mbPerSec)} MB/s, ${worst.partition})`,
    });
  }
  if (r.reopen.length === 2) {
    const [few, many] = r.reopen as [ReopenResult, ReopenResult];
    const limit = Math.max(few.medianMs * 1.5, few.medianMs + 10);
    targets.push({
      name: `reopen time does not grow with sealed segments (${many.segments} segs <= max(1.5x, +10 ms) of ${few.segments} segs)`,
      pass: many.medianMs <= limit,
      measured: `${fmt(few.medianMs, 1)} ms -> ${fmt(many.medianMs, 1)} ms`,
    });
  }
  return targets;
}

export function renderTable(r: BenchResults): string {
  const out: string[] = [];
  const env = r.environment;
  out.push(`Kafka Clone log benchmark  (bun ${env.bun}, ${env.cpus} CPUs, load ${env.loadAverage}, ${env.totalSeconds} s; ${env.dir}; MB = 10^6 bytes)`);
  for (const note of r.notes) out.push(`note: ${note}`);
  out.push("");
  out.push(`Baseline: a raw file on the same disk, written in ${env.appendStep} and read in ${env.readStep} steps alternating with the log's`);
  out.push(
    ...table(
      ["beside the log with", "size", "1 MiB write+fdatasync MB/s", "read warm MB/s", "warm, new buffers", "read cold MB/s"],
      r.baseline.map((b) => [
        b.label,
        mib(b.append.bytes),
        fmt(b.append.mbPerSec),
        b.readWarm ? fmt(b.readWarm.mbPerSec) : "-",
        b.readFresh ? fmt(b.readFresh.mbPerSec) : "-",
        b.readCold ? fmt(b.readCold.mbPerSec) : "-",
      ]),
    ),
  );
  out.push("  (reads: 1 MiB preads into one reused buffer, or into a new Buffer.allocUnsafe per read as log.read does;");
  out.push("   warm = page cache, cold = after posix_fadvise(DONTNEED))");
  out.push("");
  out.push(`Log appends: 1 partition, ${env.batch} batches, ${env.inflight} appends in flight (group commit); ms are summed over the phase`);
  out.push(
    ...table(
      ["record", "acks", "records/s", "MB/s", "vs baseline", "size", "wall ms", "fsyncs", "KiB/fsync", "writev ms", "fsync ms", "append() ms", "CPU"],
      r.appends.map((a) => [
        recordLabel(a.recordBytes),
        a.acks,
        fmt(a.recordsPerSec),
        fmt(a.mbPerSec),
        pct(a.mbPerSec / a.baselineMbPerSec),
        mib(a.bytes),
        fmt(a.seconds * 1000),
        fmt(a.io.datasyncCalls),
        fmt(a.io.datasyncCalls > 0 ? a.io.writevBytes / 1024 / a.io.datasyncCalls : 0),
        fmt(a.io.writevMs),
        fmt(a.io.datasyncMs),
        fmt(a.appendCallMs),
        fmt(a.cpuCores, 2),
      ]),
    ),
  );
  out.push("  (writev ms: event loop blocked in the log's writes; fsync ms: fdatasync in flight; append() ms: frame check + CRC + stamping)");
  out.push("");
  out.push("Whole-partition read: log.read(offset, 1 MiB, hint) following ReadResult.next, vs the raw read above");
  out.push(
    ...table(
      ["partition", "cache", "size", "MB/s", "raw MB/s", "vs raw", "vs raw, new buffers", "reads", "pread MiB", "wall ms", "pread ms"],
      r.reads.map((row) => [
        row.partition,
        row.cache,
        mib(row.log.bytes),
        fmt(row.log.mbPerSec),
        fmt(row.raw.mbPerSec),
        pct(row.log.mbPerSec / row.raw.mbPerSec),
        row.rawFresh ? pct(row.log.mbPerSec / row.rawFresh.mbPerSec) : "-",
        fmt(row.log.reads),
        fmt(row.log.io.preadBytes / 1048576),
        fmt(row.log.seconds * 1000),
        fmt(row.log.io.preadMs),
      ]),
    ),
  );
  out.push("");
  out.push("CPU side (no I/O)");
  const cpuRows: string[][] = [];
  for (const d of r.decode) {
    cpuRows.push([`decodeRecords, ${recordLabel(d.recordBytes)} records`, `${fmt(d.decodeRecordsPerSec)} records/s`, `${fmt(d.decodeMbPerSec)} MB/s`]);
    cpuRows.push([`checkFrame (CRC-32), ${recordLabel(d.recordBytes)} records`, "", `${fmt(d.checkMbPerSec)} MB/s`]);
  }
  for (const e of r.encode) {
    cpuRows.push([`BatchBuilder encode, ${recordLabel(e.recordBytes)} records`, `${fmt(e.recordsPerSec)} records/s`, ""]);
  }
  out.push(...table(["", "records/s", "MB/s"], cpuRows));
  out.push("");
  if (r.reopen.length > 0) {
    const first = r.reopen[0]!;
    out.push(`Reopen after an unclean stop: ${mib(first.partitionBytes)} partition, ~${mib(first.tailBytes)} appended after the last checkpoint`);
    out.push(
      ...table(
        ["segments", "segment size", "reopen ms (each)", "median ms", "scanned", "pread", "fsyncs", "no checkpoint: ms", "scanned", "fsyncs"],
        r.reopen.map((o) => [
          String(o.segments),
          size(o.segmentBytes),
          o.reopenMs.map((ms) => fmt(ms, 1)).join(" / "),
          fmt(o.medianMs, 1),
          size(o.scannedBytes),
          size(o.readBytes),
          fmt(o.fsyncs),
          fmt(o.fullScanMs),
          mib(o.fullScanBytes),
          fmt(o.fullScanFsyncs),
        ]),
      ),
    );
    out.push("");
  }
  out.push("Targets (issue 2; informational, never fails the run)");
  for (const t of r.targets) out.push(`  ${t.pass ? "PASS" : "MISS"}  ${t.name}: ${t.measured}`);
  return out.join("\n");
}
