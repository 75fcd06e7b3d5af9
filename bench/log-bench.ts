/**
 * `make bench-log`: storage engine throughput on this machine's disk, in one run.
 *
 *   1. baseline: raw 1 MiB write + fdatasync appends, raw sequential reads
 *   2. log appends of 100 B and 1 KiB records in batches, acks=all (interleaved
 *      step by step with the baseline: this disk's speed drifts) and acks=1
 *   3. reading whole partitions back vs the raw read; decode/check/encode rates
 *   4. reopen of a ~1 GiB partition after an unclean stop, few vs many segments
 *
 * Prints figures and the targets (PASS/MISS); asserts nothing about
 * speed. `--json` (or BENCH_JSON=1) prints one JSON object instead of the table.
 * Sizes: BENCH_APPEND_MB, BENCH_APPEND_SECONDS, BENCH_BATCH_KB,
 * BENCH_INFLIGHT, BENCH_LOG_REOPEN_MB, BENCH_REOPEN_SEGMENTS, BENCH_REOPEN_TAIL_MB, BENCH_REOPEN_REPEAT,
 * BENCH_DECODE_MB, BENCH_PREFAULT_MB; BENCH_DIR picks the parent directory (default ./data).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LogManager } from "../src/log/log-manager";
import type { Acks } from "../src/log/partition-log";
import { type AppendPhaseOptions, LogAppender, measureEncode, runAppendPhase } from "./lib/log-append";
import { type BenchConfig, loadConfig, MIB } from "./lib/config";
import { CountingIO } from "./lib/counting-io";
import { dropFromPageCache, prefaultMemory, RawAppender, RawReader } from "../src/bench/raw-io";
import { collectChunks, measureDecode, PartitionReader } from "./lib/log-read-back";
import { runReopen } from "./lib/log-reopen";
import { type BenchResults, evaluateTargets, type RawRun, renderTable } from "./lib/log-bench-report";
import { silentLogger } from "./lib/silent-logger";

const READ_MAX_BYTES = MIB;
/**
 * Raw and log work alternate in steps of this many MiB: small enough that both
 * sample the same disk weather (this VM's disk flips between ~300 and
 * ~1,300 MB/s for periods of a few hundred ms).
 */
const APPEND_STEP_MIB = 8;
const READ_STEP_MIB = 32;

function progress(message: string): void {
  process.stderr.write(`[bench-log] ${message}\n`);
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".log"))
    .sort()
    .map((name) => path.join(dir, name));
}

interface Pair {
  recordBytes: number;
  label: string;
}

/** Runs the steps round-robin (rotating who goes first) while any has more, so all meet the same disk conditions. */
async function interleave(steps: { more: () => boolean; step: () => void | Promise<void> }[]): Promise<void> {
  for (let round = 0; steps.some((s) => s.more()); round++) {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[(round + i) % steps.length]!;
      if (s.more()) await s.step();
    }
  }
}

/**
 * One record size: durable log appends interleaved with the raw baseline,
 * both read back (warm, then cold) interleaved too, then acks=1 appends.
 * Everything is deleted at the end, so the next record size starts from the same state.
 */
async function runPair(config: BenchConfig, pair: Pair, results: Omit<BenchResults, "targets">): Promise<void> {
  const counting = new CountingIO();
  const logDir = path.join(config.workDir, "log");
  const rawFile = path.join(config.workDir, "raw.bin");
  const manager = LogManager.open(logDir, { io: counting.io, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger });
  const options = (acks: Acks): AppendPhaseOptions => ({
    topic: `append-${pair.recordBytes}-acks-${acks}`,
    recordBytes: pair.recordBytes,
    acks,
    batchBytes: config.batchKiB * 1024,
    inflight: config.inflight,
    maxBytes: config.appendMiB * MIB,
    maxSeconds: config.appendSeconds,
  });
  try {
    const durable = options("all");
    progress(`${pair.label}: acks=all appends interleaved with raw 1 MiB write + fdatasync, ${config.appendMiB} MiB each`);
    manager.createTopic(durable.topic, 1);
    const log = manager.partition(durable.topic, 0);
    const raw = new RawAppender(rawFile);
    const appender = new LogAppender(log, counting, durable);
    await interleave([
      { more: () => raw.bytes < config.appendMiB * MIB && raw.seconds < config.appendSeconds, step: () => raw.step(APPEND_STEP_MIB) },
      { more: () => appender.more, step: () => appender.step(APPEND_STEP_MIB * MIB) },
    ]);
    const baseline: RawRun = { label: pair.label, append: raw.finish(), readWarm: null, readFresh: null, readCold: null };
    const appended = await appender.finish();

    progress(`${pair.label}: reading the partition and the raw file back, interleaved`);
    const { chunks, keep } = collectChunks(config.decodeMiB * MIB);
    for (const cache of ["warm", "cold"] as const) {
      const segments = segmentFiles(path.join(logDir, "topics", durable.topic, "0"));
      if (cache === "cold" && !(await dropFromPageCache([rawFile, ...segments]))) break;
      const rawReader = new RawReader(rawFile);
      const freshReader = cache === "warm" ? new RawReader(rawFile, true) : null;
      const logReader = new PartitionReader(log, counting, READ_MAX_BYTES, cache === "warm" ? keep : undefined);
      const step = READ_STEP_MIB * MIB;
      await interleave([
        { more: () => !rawReader.done, step: () => void rawReader.step(step) },
        ...(freshReader ? [{ more: () => !freshReader.done, step: () => void freshReader.step(step) }] : []),
        { more: () => !logReader.done, step: () => logReader.step(step) },
      ]);
      const rawRead = rawReader.finish();
      const freshRead = freshReader?.finish() ?? null;
      if (cache === "warm") {
        baseline.readWarm = rawRead;
        baseline.readFresh = freshRead;
      } else {
        baseline.readCold = rawRead;
      }
      results.reads.push({ partition: pair.label, cache, log: logReader.finish(), raw: rawRead, rawFresh: freshRead });
    }
    results.decode.push({ recordBytes: pair.recordBytes, ...measureDecode(chunks) });
    fs.rmSync(rawFile);
    await manager.deleteTopic(durable.topic);
    results.baseline.push(baseline);
    results.appends.push({ ...appended, baselineMbPerSec: baseline.append.mbPerSec });

    const fast = options("1");
    progress(`${pair.label}: acks=1 appends, ${config.appendMiB} MiB`);
    const unsynced = await runAppendPhase(manager, counting, fast);
    results.appends.push({ ...unsynced, baselineMbPerSec: baseline.append.mbPerSec });
    await manager.deleteTopic(fast.topic);
  } finally {
    await manager.close();
    fs.rmSync(logDir, { recursive: true, force: true });
    fs.rmSync(rawFile, { force: true });
  }
}

async function run(config: BenchConfig): Promise<BenchResults> {
  const results: Omit<BenchResults, "targets"> = {
    environment: {
      bun: Bun.version,
      cpus: os.cpus().length,
      dir: config.workDir,
      batch: `${config.batchKiB} KiB`,
      inflight: config.inflight,
      readMaxBytes: READ_MAX_BYTES,
      appendStep: `${APPEND_STEP_MIB} MiB`,
      readStep: `${READ_STEP_MIB} MiB`,
    },
    notes: [...config.notes],
    baseline: [],
    appends: [],
    reads: [],
    decode: [],
    encode: [],
    reopen: [],
  };
  for (const pair of [
    { recordBytes: 1024, label: "1 KiB records" },
    { recordBytes: 100, label: "100 B records" },
  ]) {
    await runPair(config, pair, results);
  }
  if (!results.baseline.some((b) => b.readCold !== null)) {
    results.notes.push("posix_fadvise is not available: cold (from the device) reads were skipped");
  }
  progress("encode rate");
  results.encode.push(...[100, 1024].map((recordBytes) => measureEncode(recordBytes, config.batchKiB * 1024, 64 * MIB)));

  for (const segments of config.reopenSegments) {
    progress(`reopen: ${config.reopenMiB} MiB partition as ${segments} segments`);
    results.reopen.push(
      await runReopen({
        workDir: config.workDir,
        partitionMiB: config.reopenMiB,
        segments,
        tailMiB: config.reopenTailMiB,
        repeat: config.reopenRepeat,
        batchBytes: config.batchKiB * 1024,
        inflight: config.inflight,
      }),
    );
  }
  return { ...results, targets: evaluateTargets(results) };
}

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2));
  const cleanup = () => fs.rmSync(config.workDir, { recursive: true, force: true });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  const started = performance.now();
  try {
    if (config.prefaultMiB > 0) {
      progress(`touching and freeing ${config.prefaultMiB} MiB of memory first (BENCH_PREFAULT_MB=0 skips this)`);
      const ms = prefaultMemory(config.prefaultMiB);
      config.notes.push(
        `touched and freed ${config.prefaultMiB} MiB of memory first (${Math.round(ms)} ms): on VMs that back guest memory lazily, ` +
          "first touches of memory (new page cache, new buffers) are several times slower; BENCH_PREFAULT_MB=0 skips this",
      );
    }
    const loadBefore = os.loadavg()[0]!;
    const results = await run(config);
    const loadAfter = os.loadavg()[0]!;
    results.environment.loadAverage = `${loadBefore.toFixed(1)} at start, ${loadAfter.toFixed(1)} at end`;
    if (Math.max(loadBefore, loadAfter) > os.cpus().length / 2) {
      results.notes.push(
        `the 1-minute load average was ${loadBefore.toFixed(1)} at the start and ${loadAfter.toFixed(1)} at the end on ${os.cpus().length} CPUs: ` +
          "other processes competed for CPU and disk, so absolute figures are perturbed (interleaved ratios less so)",
      );
    }
    results.environment.totalSeconds = Math.round((performance.now() - started) / 100) / 10;
    process.stdout.write(config.json ? `${JSON.stringify(results)}\n` : `${renderTable(results)}\n`);
    progress(`done in ${results.environment.totalSeconds} s`);
  } finally {
    cleanup();
  }
}

await main();
