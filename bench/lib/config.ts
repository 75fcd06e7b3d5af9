/**
 * Benchmark settings: sizes from the environment, the working directory, and
 * a free-space check that scales the run down on a small disk.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface BenchConfig {
  /** The directory this run owns and deletes at the end. */
  workDir: string;
  json: boolean;
  /** Bytes appended per log append phase, and by the raw baseline beside it (MiB); each also stops at `appendSeconds`. */
  appendMiB: number;
  appendSeconds: number;
  /** Target frame (batch) size in KiB. */
  batchKiB: number;
  /** Appends in flight at once (concurrent producers sharing fsyncs). */
  inflight: number;
  /** Partition size for the reopen test (MiB) and the two segment counts compared. */
  reopenMiB: number;
  reopenSegments: [number, number];
  /** Bytes written after the last checkpoint, i.e. what recovery must scan (MiB). */
  reopenTailMiB: number;
  reopenRepeat: number;
  /** Bytes decoded for the decode rate (MiB). */
  decodeMiB: number;
  /** Anonymous memory touched and freed before measuring (MiB); 0 turns it off. */
  prefaultMiB: number;
  notes: string[];
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const MIN_FREE_BYTES = 5 * GIB;

function envNumber(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/** BENCH_REOPEN_SEGMENTS="few,many" (default 8,128). */
function segmentCounts(): [number, number] {
  const raw = process.env.BENCH_REOPEN_SEGMENTS || "8,128";
  const counts = raw.split(",").map(Number);
  if (counts.length !== 2 || !counts.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`BENCH_REOPEN_SEGMENTS must be two positive integers like "8,128", got ${JSON.stringify(raw)}`);
  }
  return [counts[0]!, counts[1]!];
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

export function loadConfig(argv: string[]): BenchConfig {
  const json = argv.includes("--json") || process.env.BENCH_JSON === "1";
  const parent = path.resolve(process.env.BENCH_DIR || "data");
  fs.mkdirSync(parent, { recursive: true });
  const config: BenchConfig = {
    workDir: "",
    json,
    appendMiB: envNumber("BENCH_APPEND_MB", 1024),
    appendSeconds: envNumber("BENCH_APPEND_SECONDS", 8),
    batchKiB: envNumber("BENCH_BATCH_KB", 64),
    inflight: Math.floor(envNumber("BENCH_INFLIGHT", 16)),
    reopenMiB: envNumber("BENCH_LOG_REOPEN_MB", 1024, 16),
    reopenSegments: segmentCounts(),
    reopenTailMiB: envNumber("BENCH_REOPEN_TAIL_MB", 4),
    reopenRepeat: Math.floor(envNumber("BENCH_REOPEN_REPEAT", 3)),
    decodeMiB: envNumber("BENCH_DECODE_MB", 64),
    prefaultMiB: Math.floor(envNumber("BENCH_PREFAULT_MB", 3072, 0)),
    notes: [],
  };
  const halfFreeMiB = Math.floor(os.freemem() / 2 / MIB);
  if (config.prefaultMiB > halfFreeMiB) config.prefaultMiB = halfFreeMiB;
  const free = freeBytes(parent);
  if (free < MIN_FREE_BYTES) {
    const scale = Math.max(free / MIN_FREE_BYTES, 0.05);
    config.appendMiB = Math.max(16, Math.floor(config.appendMiB * scale));
    config.reopenMiB = Math.max(16, Math.floor(config.reopenMiB * scale));
    config.notes.push(
      `only ${(free / GIB).toFixed(1)} GiB free on ${parent} (< 5 GiB): sizes scaled by ${scale.toFixed(2)} ` +
        `(appends and baseline ${config.appendMiB} MiB, reopen ${config.reopenMiB} MiB)`,
    );
  }
  const largest = Math.max(...config.reopenSegments);
  const maxTail = config.reopenMiB / largest / 4;
  if (config.reopenTailMiB > maxTail) config.reopenTailMiB = maxTail;
  config.workDir = fs.mkdtempSync(path.join(parent, "bench-log-"));
  return config;
}

export { MIB };
