/**
 * `kafka-clone bench auth` (part of `make bench`): what the cluster secret
 * costs. Two standalone brokers of this binary on loopback, one without a
 * secret (the baseline) and one with one (every frame both ways carries an
 * HMAC-SHA256 tag; the connection starts with the handshake), measured in the
 * same run with steps alternating between them, so both meet the same disk
 * and machine conditions:
 *
 *   - producer throughput, acks=all, per record size (BENCH_RECORD_SIZES,
 *     default 100,1024), BENCH_AUTH_SECONDS (default 6) per broker and size;
 *   - reading each topic back from the earliest offset (pushes are MACed too),
 *     three times per broker alternating, the median run counting;
 *   - connection set-up: time to connect, authenticate and get metadata.
 *
 * Prints each figure with the ratio secret / baseline, and the brokers' CPU;
 * asserts nothing about speed. `--json` prints one JSON object.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ClusterSecret } from "../auth/cluster-secret";
import { clusterCredentials, type Credentials } from "../auth/credentials";
import { Admin } from "../client/admin";
import type { ClusterClientOptions } from "../client/cluster-client";
import { Producer } from "../client/producer";
import { type BrokerProcess, startBroker } from "./broker-process";
import { runReadBack, type ReadBackResult } from "./consume-load";
import { ThroughputDriver, type ThroughputResult } from "./produce-load";

const STEP_SECONDS = 0.5;
const CONNECTS = 200;
const READ_REPEATS = 3;

interface Side {
  name: "baseline" | "secret";
  broker: BrokerProcess;
  options: ClusterClientOptions;
}

export interface AuthBenchRow<T> {
  recordBytes: number;
  baseline: T;
  secret: T;
  /** secret / baseline, records per second. */
  ratio: number;
}

export interface AuthBenchResults {
  settings: { seconds: number; recordSizes: number[]; batchBytes: number; lingerMs: number; maxInFlight: number; outstanding: number };
  produce: AuthBenchRow<ThroughputResult>[];
  readBack: AuthBenchRow<ReadBackResult>[];
  connect: { baselineMs: number; secretMs: number; ratio: number };
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

const progress = (message: string) => process.stderr.write(`[bench auth] ${message}\n`);
const label = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`);

function selfBinary(): string {
  return import.meta.url.includes("/$bunfs/") ? process.execPath : "dist/kafka-clone";
}

/** Producer throughput on both sides, steps alternating (who goes first alternates too). */
async function produce(sides: Side[], recordBytes: number, seconds: number, settings: AuthBenchResults["settings"], topic = `auth-${recordBytes}`): Promise<AuthBenchRow<ThroughputResult>> {
  progress(`${topic}: producer throughput, ${seconds} s per broker in ${STEP_SECONDS} s steps`);
  const runs = await Promise.all(
    sides.map(async (side) => {
      const admin = new Admin(side.options);
      await admin.createTopic(topic, 1);
      admin.close();
      const producer = new Producer({ ...side.options, acks: "all", batchBytes: settings.batchBytes, lingerMs: settings.lingerMs, maxInFlight: settings.maxInFlight, maxRequestBytes: 1024 * 1024 });
      return { side, producer, driver: new ThroughputDriver(producer, topic, recordBytes, settings.outstanding, side.broker) };
    }),
  );
  try {
    for (let i = 0; runs.some((r) => r.driver.seconds < seconds); i++) {
      for (const run of i % 2 === 0 ? runs : [...runs].reverse()) {
        if (run.driver.seconds < seconds) await run.driver.step(Math.min(STEP_SECONDS, seconds - run.driver.seconds));
      }
    }
  } finally {
    for (const run of runs) await run.producer.close();
  }
  const [baseline, secret] = runs.map((r) => r.driver.result()) as [ThroughputResult, ThroughputResult];
  return { recordBytes, baseline, secret, ratio: secret.recordsPerSec / baseline.recordsPerSec };
}

/** Each side reads the topic back READ_REPEATS times, alternating; the median run of each counts. */
async function readBack(sides: Side[], row: AuthBenchRow<ThroughputResult>): Promise<AuthBenchRow<ReadBackResult>> {
  const runs: ReadBackResult[][] = [[], []];
  for (let repeat = 0; repeat < READ_REPEATS; repeat++) {
    for (const [i, side] of (repeat % 2 === 0 ? [...sides.entries()] : [...sides.entries()].reverse())) {
      const records = i === 0 ? row.baseline.records : row.secret.records;
      progress(`${label(row.recordBytes)}: reading ${records.toLocaleString("en-US")} records back (${side.name}, ${repeat + 1} of ${READ_REPEATS})`);
      runs[i]!.push(await runReadBack(side.options, `auth-${row.recordBytes}`, row.recordBytes, records, side.broker));
    }
  }
  const median = (results: ReadBackResult[]) => [...results].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[Math.floor(results.length / 2)]!;
  const [baseline, secret] = runs.map(median) as [ReadBackResult, ReadBackResult];
  return { recordBytes: row.recordBytes, baseline, secret, ratio: secret.recordsPerSec / baseline.recordsPerSec };
}

/** Mean time to open a connection, authenticate (or not) and get the metadata, alternating sides. */
async function connects(sides: Side[]): Promise<AuthBenchResults["connect"]> {
  progress(`connection set-up: ${CONNECTS} connects per broker`);
  const totals = [0, 0];
  for (let i = 0; i < CONNECTS; i++) {
    for (const [s, side] of sides.entries()) {
      const started = performance.now();
      const admin = new Admin(side.options);
      await admin.metadata();
      totals[s]! += performance.now() - started;
      admin.close();
    }
  }
  const [baselineMs, secretMs] = totals.map((t) => t / CONNECTS) as [number, number];
  return { baselineMs, secretMs, ratio: secretMs / baselineMs };
}

function render(r: AuthBenchResults): string {
  const f = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const lines = [
    "Cluster secret: cost against a baseline broker without one (same run, alternating steps; ratio = secret / baseline)",
    `settings: ${r.settings.seconds} s per broker and size, acks=all, batch ${r.settings.batchBytes / 1024} KiB, linger ${r.settings.lingerMs} ms, ${r.settings.maxInFlight} in flight, 1 partition`,
    "",
    "                      baseline                      with secret                   ratio   CPU cores base/secret: broker, client",
  ];
  const row = (what: string, b: { recordsPerSec: number; mbPerSec: number; brokerCores: number; clientCores: number }, s: typeof b, ratio: number) =>
    lines.push(
      `${what.padEnd(21)} ${`${f(b.recordsPerSec)} rec/s ${f(b.mbPerSec, 1)} MB/s`.padEnd(29)} ${`${f(s.recordsPerSec)} rec/s ${f(s.mbPerSec, 1)} MB/s`.padEnd(29)} ${f(ratio, 2).padEnd(7)} ` +
        `${f(b.brokerCores, 2)}/${f(s.brokerCores, 2)}, ${f(b.clientCores, 2)}/${f(s.clientCores, 2)}`,
    );
  for (const p of r.produce) row(`produce ${label(p.recordBytes)}`, p.baseline, p.secret, p.ratio);
  for (const c of r.readBack) row(`read back ${label(c.recordBytes)}`, c.baseline, c.secret, c.ratio);
  lines.push(`${"connect + metadata".padEnd(21)} ${`${f(r.connect.baselineMs, 2)} ms`.padEnd(29)} ${`${f(r.connect.secretMs, 2)} ms`.padEnd(29)} ${f(r.connect.ratio, 2)}`);
  return lines.join("\n");
}

export async function runAuthBench(argv: string[]): Promise<void> {
  const json = argv.includes("--json") || process.env.BENCH_JSON === "1";
  const settings: AuthBenchResults["settings"] = {
    seconds: envNumber("BENCH_AUTH_SECONDS", 6),
    recordSizes: (process.env.BENCH_RECORD_SIZES || "100,1024").split(",").map((s) => Math.floor(Number(s.trim()))),
    batchBytes: Math.floor(envNumber("BENCH_BATCH_KB", 256) * 1024),
    lingerMs: envNumber("BENCH_LINGER_MS", 5),
    maxInFlight: Math.floor(envNumber("BENCH_MAX_IN_FLIGHT", 32)),
    outstanding: Math.floor(envNumber("BENCH_OUTSTANDING", 200_000)),
  };
  const parent = path.resolve(process.env.BENCH_DIR || "data");
  fs.mkdirSync(parent, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(parent, "bench-auth-"));
  const secretFile = path.join(workDir, "cluster-secret");
  const secretText = randomBytes(32).toString("base64");
  fs.writeFileSync(secretFile, secretText, { mode: 0o600 });
  const credentials: Credentials = clusterCredentials(ClusterSecret.fromText(secretText, secretFile));
  const brokers: BrokerProcess[] = [];
  const cleanUp = () => {
    for (const broker of brokers) broker.kill();
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  process.once("exit", cleanUp);
  try {
    const binary = path.resolve(process.env.BENCH_BINARY || selfBinary());
    const start = async (name: Side["name"], args: string[], auth?: Credentials): Promise<Side> => {
      const dataDir = path.join(workDir, name);
      fs.mkdirSync(dataDir);
      const broker = await startBroker(binary, dataDir, args);
      brokers.push(broker);
      return { name, broker, options: { bootstrap: [{ host: broker.host, port: broker.port }], ...(auth ? { auth } : {}) } };
    };
    progress(`starting two standalone brokers of ${binary} in ${workDir}`);
    const sides = [await start("baseline", []), await start("secret", ["--cluster-secret-file", secretFile], credentials)];
    await produce(sides, 100, 1, settings, "auth-warmup"); // JIT and connections on both sides, not measured
    const produced: AuthBenchRow<ThroughputResult>[] = [];
    for (const size of settings.recordSizes) produced.push(await produce(sides, size, settings.seconds, settings));
    const read: AuthBenchRow<ReadBackResult>[] = [];
    for (const row of produced) read.push(await readBack(sides, row));
    const results: AuthBenchResults = { settings, produce: produced, readBack: read, connect: await connects(sides) };
    process.stdout.write(`${json ? JSON.stringify(results) : render(results)}\n`);
  } finally {
    for (const broker of brokers) await broker.stop();
    cleanUp();
  }
}
