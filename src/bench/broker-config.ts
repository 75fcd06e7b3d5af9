/**
 * Settings for `make bench` (the broker benchmark), from the environment.
 * Every knob is printed with the figures, so a run can be reproduced.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface ProducerSettings {
  batchBytes: number;
  lingerMs: number;
  maxInFlight: number;
  maxRequestBytes: number;
}

export const PHASES = ["throughput", "consume", "ack", "e2e"] as const;
export type Phase = (typeof PHASES)[number];

export interface BrokerBenchConfig {
  json: boolean;
  binary: string;
  /** This run's directory (broker data dir and raw baseline file); deleted at the end. */
  workDir: string;
  recordSizes: number[];
  /** Which phases run (BENCH_PHASES=throughput,consume,ack,e2e; consume needs throughput). */
  phases: Set<Phase>;
  partitions: number;
  /** Throughput phases: each record size runs this long, or until `produceMiB` of payload. */
  produceSeconds: number;
  produceMiB: number;
  /** Records the throughput driver keeps sent but not yet acknowledged. */
  outstanding: number;
  throughput: ProducerSettings;
  /** Moderate-rate phases (produce-ack latency, end-to-end latency). */
  rate: number;
  latencySeconds: number;
  latency: ProducerSettings;
  warmupSeconds: number;
  /** The disk's own write + fdatasync latency, measured before the latency phases. */
  fsyncProbeSeconds: number;
  /** Anonymous memory touched and freed before the run (MiB); 0 turns it off. */
  prefaultMiB: number;
  /** Raw baseline step between produce steps (MiB), and the produce step length. */
  rawStepMiB: number;
  produceStepSeconds: number;
  notes: string[];
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const MIN_FREE_BYTES = 8 * GIB;

function envNumber(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function envPhases(name: string): Set<Phase> {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return new Set(PHASES);
  const phases = raw.split(",").map((part) => part.trim());
  const unknown = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`${name}: unknown phase(s) ${unknown.join(", ")}; choose from ${PHASES.join(", ")}`);
  const set = new Set(phases as Phase[]);
  if (set.has("consume")) set.add("throughput");
  return set;
}

function envSizes(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const sizes = raw.split(",").map((part) => Number(part.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 8 || n > 1024 * 1024)) {
    throw new Error(`${name} must be a comma-separated list of record sizes in bytes (8 to 1048576), got ${JSON.stringify(raw)}`);
  }
  return sizes;
}

export function loadBrokerBenchConfig(argv: string[]): BrokerBenchConfig {
  const json = argv.includes("--json") || process.env.BENCH_JSON === "1";
  const parent = path.resolve(process.env.BENCH_DIR || "data");
  fs.mkdirSync(parent, { recursive: true });
  const config: BrokerBenchConfig = {
    json,
    binary: path.resolve(process.env.BENCH_BINARY || selfBinary()),
    workDir: "",
    recordSizes: envSizes("BENCH_RECORD_SIZES", [100, 1024]),
    phases: envPhases("BENCH_PHASES"),
    partitions: Math.floor(envNumber("BENCH_PARTITIONS", 1, 1)),
    produceSeconds: envNumber("BENCH_PRODUCE_SECONDS", 8, 0.1),
    produceMiB: envNumber("BENCH_PRODUCE_MB", 4096, 1),
    outstanding: Math.floor(envNumber("BENCH_OUTSTANDING", 200_000, 1)),
    throughput: {
      batchBytes: Math.floor(envNumber("BENCH_BATCH_KB", 256, 1) * 1024),
      lingerMs: envNumber("BENCH_LINGER_MS", 5),
      maxInFlight: Math.floor(envNumber("BENCH_MAX_IN_FLIGHT", 32, 1)),
      maxRequestBytes: Math.floor(envNumber("BENCH_MAX_REQUEST_KB", 1024, 1) * 1024),
    },
    rate: envNumber("BENCH_RATE", 20_000, 1),
    latencySeconds: envNumber("BENCH_LATENCY_SECONDS", 8, 0.1),
    latency: {
      batchBytes: Math.floor(envNumber("BENCH_LATENCY_BATCH_KB", 64, 1) * 1024),
      lingerMs: envNumber("BENCH_LATENCY_LINGER_MS", 0),
      maxInFlight: Math.floor(envNumber("BENCH_LATENCY_MAX_IN_FLIGHT", 8, 1)),
      maxRequestBytes: 1024 * 1024,
    },
    warmupSeconds: envNumber("BENCH_WARMUP_SECONDS", 1),
    fsyncProbeSeconds: envNumber("BENCH_FSYNC_PROBE_SECONDS", 3, 0.1),
    prefaultMiB: Math.floor(envNumber("BENCH_PREFAULT_MB", 4096)),
    rawStepMiB: Math.floor(envNumber("BENCH_RAW_STEP_MB", 32, 1)),
    produceStepSeconds: envNumber("BENCH_PRODUCE_STEP_SECONDS", 0.5, 0.05),
    notes: [],
  };
  config.prefaultMiB = Math.min(config.prefaultMiB, Math.floor(os.freemem() / 2 / MIB));
  const free = freeBytes(parent);
  const wanted = config.produceMiB * MIB * config.recordSizes.length * 1.3;
  if (free < Math.max(MIN_FREE_BYTES, wanted)) {
    const cap = Math.max(64, Math.floor(free / MIB / config.recordSizes.length / 3));
    if (cap < config.produceMiB) {
      config.produceMiB = cap;
      config.notes.push(`only ${(free / GIB).toFixed(1)} GiB free on ${parent}: each throughput phase stops at ${cap} MiB of payload`);
    }
  }
  config.workDir = fs.mkdtempSync(path.join(parent, "bench-broker-"));
  return config;
}

export { MIB };

/** The broker under test is this very executable when compiled; run from source, the build's output. */
function selfBinary(): string {
  return import.meta.url.includes("/$bunfs/") ? process.execPath : "dist/kafka-clone";
}

export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}
