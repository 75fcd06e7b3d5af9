/**
 * `make bench-groups` (`kafka-clone bench groups`, also run by `make bench`):
 * consumer groups end to end. A standalone broker of this binary (port 0) and
 * consumer member processes (`kafka-clone bench group-member`) on loopback:
 *
 *   1. settle time of a group on a 12-partition topic (while a light producer
 *      keeps records flowing): a third member joins two (from the coordinator
 *      accepting it until every member reads its 4 partitions), then leaves
 *      again (from its close() until the two read 6 each);
 *      BENCH_GROUP_ROUNDS times (10), median, min and max;
 *   2. throughput reading BENCH_GROUP_RECORDS (2,000,000) records of
 *      BENCH_GROUP_RECORD_BYTES (100) from the earliest offset: one plain
 *      consumer (the baseline), a group of one, a group of three; each
 *      BENCH_GROUP_REPEATS times (3), interleaved, the median run printed.
 *
 * Prints figures only, asserts nothing about speed. `--json` (or
 * BENCH_JSON=1) prints one JSON object. BENCH_DIR picks the disk (./data),
 * BENCH_BINARY the binary for the broker and members (this one). Every
 * process and the run's directory are removed on every exit path.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseHostPort } from "../client/addresses";
import { Admin } from "../client/admin";
import { Producer } from "../client/producer";
import { type BrokerProcess, startBroker } from "./broker-process";
import { MemberProcess, whenAll } from "./group-processes";
import { type GroupBenchResults, renderGroupBench, summarize, type ThroughputRow } from "./group-report";

const env = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
};

function loadConfig(argv: string[]) {
  return {
    json: argv.includes("--json") || process.env.BENCH_JSON === "1",
    binary: path.resolve(process.env.BENCH_BINARY || (import.meta.url.includes("/$bunfs/") ? process.execPath : "dist/kafka-clone")),
    dir: process.env.BENCH_DIR || "data",
    partitions: 12,
    rounds: Math.floor(env("BENCH_GROUP_ROUNDS", 10)),
    records: Math.floor(env("BENCH_GROUP_RECORDS", 2_000_000)),
    repeats: Math.floor(env("BENCH_GROUP_REPEATS", 3)),
    recordBytes: Math.floor(env("BENCH_GROUP_RECORD_BYTES", 100)),
  };
}

type Config = ReturnType<typeof loadConfig>;

const progress = (message: string) => process.stderr.write(`[bench-groups] ${message}\n`);
const members: MemberProcess[] = [];
let binary = "";
const spawnMember = (name: string, address: string, topic: string, group: string | null) => {
  const member = new MemberProcess(name, binary, address, topic, group);
  members.push(member);
  return member;
};

/** Resolves with the time of the event that made every member own `each` partitions (all of them covered). */
function settled(group: MemberProcess[], each: number, partitions: number, timeoutMs = 30_000): Promise<number> {
  const done = () => group.every((m) => m.owned.size === each) && new Set(group.flatMap((m) => [...m.owned])).size === partitions;
  return whenAll(group, done, timeoutMs, `${each} partitions each`).then(() =>
    Math.max(...group.map((m) => m.events.findLast((e) => e.e === "assigned" || e.e === "revoked")?.t ?? 0)),
  );
}

async function createTopic(bootstrap: { host: string; port: number }[], name: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrap });
  try {
    await admin.createTopic(name, partitions);
  } finally {
    admin.close();
  }
}

async function settleTimes(config: Config, address: string): Promise<{ join: number[]; leave: number[] }> {
  const bootstrap = [parseHostPort(address)];
  await createTopic(bootstrap, "settle", config.partitions);
  const producer = new Producer({ bootstrap, lingerMs: 5 });
  let producing = true;
  const load = (async () => {
    const value = new Uint8Array(config.recordBytes);
    for (let i = 0; producing; i++) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => producer.send("settle", { key: new TextEncoder().encode(`k${i * 50 + j}`), value })));
      await Bun.sleep(10);
    }
  })();
  const first = spawnMember("m1", address, "settle", "settle");
  const second = spawnMember("m2", address, "settle", "settle");
  await settled([first, second], config.partitions / 2, config.partitions);
  const join: number[] = [];
  const leave: number[] = [];
  try {
    for (let round = 1; round <= config.rounds; round++) {
      const third = spawnMember(`m3-${round}`, address, "settle", "settle");
      const joined = await settled([first, second, third], config.partitions / 3, config.partitions);
      join.push(joined - third.time("joined"));
      third.leave();
      const left = await settled([first, second], config.partitions / 2, config.partitions);
      await third.waitFor(() => third.events.some((e) => e.e === "leaving"), 10_000, "leaving");
      leave.push(left - third.time("leaving"));
      await third.exited;
      progress(`round ${round}: settled ${join.at(-1)!.toFixed(1)} ms after a join, ${leave.at(-1)!.toFixed(1)} ms after a leave`);
    }
  } finally {
    producing = false;
    await load;
    await producer.close();
    first.leave();
    second.leave();
    await Promise.all([first.exited, second.exited]);
  }
  return { join, leave };
}

async function fill(config: Config, address: string): Promise<void> {
  const bootstrap = [parseHostPort(address)];
  await createTopic(bootstrap, "throughput", config.partitions);
  progress(`writing ${config.records.toLocaleString("en-US")} records of ${config.recordBytes} B`);
  const producer = new Producer({ bootstrap, batchBytes: 256 * 1024, lingerMs: 5, maxInFlight: 8 });
  const value = new Uint8Array(config.recordBytes).fill(7);
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < config.records; i++) {
    window.push(producer.send("throughput", { value, partition: i % config.partitions }));
    if (window.length >= 50_000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await producer.close();
}

async function throughput(config: Config, address: string, label: string, group: string | null, size: number): Promise<ThroughputRow> {
  progress(`${label}: reading everything back`);
  const readers = Array.from({ length: size }, (_, i) => spawnMember(`${label}-${i + 1}`, address, "throughput", group));
  const total = () => readers.reduce((sum, m) => sum + m.count, 0);
  await whenAll(readers, () => total() >= config.records, 300_000, "every record");
  const start = Math.min(...readers.map((m) => m.time("joining")));
  const end = Math.max(...readers.map((m) => m.last));
  const seconds = (end - start) / 1000;
  for (const m of readers) m.leave();
  await Promise.all(readers.map((m) => m.exited));
  return {
    label,
    members: size,
    records: total(),
    reread: total() - config.records,
    seconds,
    recordsPerSec: config.records / seconds,
    mbPerSec: (config.records * config.recordBytes) / 1e6 / seconds,
  };
}

export async function runGroupSuite(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  binary = config.binary;
  fs.mkdirSync(config.dir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(config.dir, "bench-groups-"));
  let broker: BrokerProcess | null = null;
  const cleanup = () => {
    for (const m of members) m.kill();
    broker?.kill();
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => process.exit(130));
  const started = performance.now();
  const loadAtStart = os.loadavg()[0]!.toFixed(2);
  broker = await startBroker(config.binary, workDir);
  const address = `${broker.host}:${broker.port}`;
  progress(`broker at ${address} (data in ${workDir}); ${config.rounds} settle rounds`);
  const settle = await settleTimes(config, address);
  await fill(config, address);
  // Each reader set runs `repeats` times, interleaved, so they meet the same machine; the median run counts.
  const runs: ThroughputRow[][] = [[], [], []];
  for (let r = 1; r <= config.repeats; r++) {
    runs[0]!.push(await throughput(config, address, "single consumer", null, 1));
    runs[1]!.push(await throughput(config, address, "group of 1", `throughput-1-${r}`, 1));
    runs[2]!.push(await throughput(config, address, "group of 3", `throughput-3-${r}`, 3));
  }
  const rows = runs.map((list) => [...list].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[list.length >> 1]!);
  await broker.stop();
  broker = null;
  const results: GroupBenchResults = {
    environment: { bun: Bun.version, cpus: os.cpus().length, loadAverageAtStart: loadAtStart, totalSeconds: Math.round((performance.now() - started) / 100) / 10 },
    settings: { partitions: config.partitions, rounds: config.rounds, records: config.records, recordBytes: config.recordBytes, repeats: config.repeats },
    settleAfterJoinMs: summarize(settle.join),
    settleAfterLeaveMs: summarize(settle.leave),
    throughput: rows,
  };
  await Bun.write(Bun.stdout, config.json ? `${JSON.stringify(results)}\n` : `${renderGroupBench(results)}\n`);
}
