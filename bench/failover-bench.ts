/**
 * `make bench-failover`: how long the cluster cannot take writes when the
 * active broker dies. A zookeeper and three brokers (the compiled binary,
 * default settings, one shared data directory) and, in this process, a
 * producer (acks=all) at a steady rate:
 *
 *   1. a saturating burst first, nobody killed: counts spurious elections,
 *      false deaths and lease lapses under load (should all be 0);
 *   2. `kill -9` the active broker N times, restarting it as a standby after
 *      each takeover. Per kill: the unavailability window (last ack before the
 *      kill → first ack after), kill → new active broker, and the records lost
 *      and duplicated (read back at the end, attributed to the kill they were
 *      sent around);
 *   3. median and max, and the targets with PASS/MISS. Speed never
 *      fails the run.
 *
 * Knobs (environment): BENCH_FAILOVER_KILLS (10), BENCH_FAILOVER_RATE
 * records/s (2000), BENCH_FAILOVER_RECORD_BYTES (100), BENCH_FAILOVER_LOAD_MS
 * (3000, 0 skips the burst), BENCH_DIR (the data directory's parent; default
 * the system temp dir). `--json` prints one JSON object.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Admin } from "../src/client/admin";
import { zookeeperLocator } from "../src/client/zookeeper-locator";
import { Producer } from "../src/client/producer";
import { activeId, FailoverCluster, killEverything } from "./lib/failover-cluster";
import { countCopies, saturate, SteadyLoad } from "./lib/failover-load";
import { evaluateTargets, type FailoverResults, type KillResult, renderReport, type SpuriousCounts, unavailability } from "./lib/failover-report";

const TOPIC = "failover-bench";
const LOAD_TOPIC = "failover-bench-load";
const ATTRIBUTION_MS = 2000;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  const value = text === undefined || text === "" ? fallback : Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return value;
}

function progress(message: string): void {
  process.stderr.write(`[bench-failover] ${message}\n`);
}

const countLogLines = (cluster: FailoverCluster, pattern: RegExp) =>
  [...cluster.brokers.values()].reduce((n, b) => n + (b.stderr().match(new RegExp(pattern, "g"))?.length ?? 0), 0);

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const kills = envInt("BENCH_FAILOVER_KILLS", 10);
  const rate = envInt("BENCH_FAILOVER_RATE", 2000);
  const recordBytes = Math.max(8, envInt("BENCH_FAILOVER_RECORD_BYTES", 100));
  const loadMs = envInt("BENCH_FAILOVER_LOAD_MS", 3000);
  const parent = process.env.BENCH_DIR || os.tmpdir();
  fs.mkdirSync(parent, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(parent, "kc-failover-"));
  const cleanUp = () => {
    killEverything();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  process.on("exit", cleanUp);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

  progress(`starting a zookeeper and brokers 1, 2, 3 on ${dataDir}`);
  const cluster = await FailoverCluster.start(dataDir, [1, 2, 3]);
  await cluster.waitForView((v) => activeId(v) !== null, 15_000, "a first active broker");
  const options = { bootstrap: [], locator: zookeeperLocator(cluster.zkAddress) };
  const admin = new Admin(options);
  await admin.createTopic(TOPIC, 3);
  await admin.createTopic(LOAD_TOPIC, 3);
  admin.close();
  const producer = new Producer({ ...options });

  // 1. Saturating load, nobody killed.
  const before = (await cluster.view()).counters;
  const lapsesBefore = countLogLines(cluster, /lease lapsed/);
  const stepDownsBefore = countLogLines(cluster, /stepping down/);
  let loadRecords = 0;
  if (loadMs > 0) {
    progress(`saturating load for ${loadMs} ms`);
    loadRecords = await saturate(producer, LOAD_TOPIC, loadMs, recordBytes);
  }
  const afterLoad = (await cluster.view()).counters;
  const loadSpurious: SpuriousCounts = {
    electionsSignalled: afterLoad.electionsSignalled! - before.electionsSignalled!,
    brokersDeclaredDead: afterLoad.brokersDeclaredDead! - before.brokersDeclaredDead!,
    leaseLapses: countLogLines(cluster, /lease lapsed/) - lapsesBefore,
    stepDowns: countLogLines(cluster, /stepping down/) - stepDownsBefore,
  };

  // 2. Kills under a steady producer.
  const load = new SteadyLoad(producer, TOPIC, rate, recordBytes);
  load.start();
  const waitForSteadyAcks = async (sinceAt: number, ms: number) => {
    const deadline = performance.now() + 60_000;
    while (!(load.lastAckAt > sinceAt + ms && performance.now() - load.lastAckAt < 100)) {
      if (performance.now() > deadline) throw new Error("the producer did not get acknowledgements for a minute");
      await Bun.sleep(10);
    }
  };
  await waitForSteadyAcks(performance.now(), 1000);
  const killCounters = (await cluster.view()).counters;
  const lapsesAtKills = countLogLines(cluster, /lease lapsed/);
  const stepDownsAtKills = countLogLines(cluster, /stepping down/);
  const raw: Omit<KillResult, "windowMs" | "killToFirstAckMs" | "laterPauseMs" | "lost" | "duplicated" | "failed">[] = [];
  for (let index = 1; index <= kills; index++) {
    const view = await cluster.view();
    const victim = activeId(view);
    if (victim === null) throw new Error("no active broker to kill");
    const killAt = performance.now();
    await cluster.kill(victim);
    const next = await cluster.waitForView((v) => activeId(v) !== null && activeId(v) !== victim, 30_000, `a new active broker after kill ${index}`);
    const newActiveAfterMs = performance.now() - killAt;
    await waitForSteadyAcks(killAt, 0);
    raw.push({ index, killedId: victim, newActiveId: activeId(next)!, epochBefore: view.view.epoch, epochAfter: next.view.epoch, killAt, newActiveAfterMs });
    progress(`kill ${index}/${kills}: broker ${victim} killed, broker ${activeId(next)} active after ${Math.round(newActiveAfterMs)} ms`);
    await cluster.startBroker(victim);
    await cluster.waitForView((v) => v.view.brokers.some((b) => b.id === victim && b.alive && b.role === "standby"), 15_000, `broker ${victim} back as a standby`);
    await waitForSteadyAcks(performance.now(), 1000);
  }
  await load.stop();
  const end = (await cluster.view()).counters;
  const spuriousDuringKills: SpuriousCounts = {
    electionsSignalled: end.electionsSignalled! - killCounters.electionsSignalled! - kills,
    brokersDeclaredDead: end.brokersDeclaredDead! - killCounters.brokersDeclaredDead! - kills,
    leaseLapses: countLogLines(cluster, /lease lapsed/) - lapsesAtKills,
    stepDowns: countLogLines(cluster, /stepping down/) - stepDownsAtKills,
  };

  // 3. Read everything back and attribute losses and duplicates to the kill they were sent around.
  progress(`reading back ${load.sent} records`);
  const copies = await countCopies(options, TOPIC);
  producer.close().catch(() => {});
  const killOf = (seq: number): number => {
    const sentAt = load.sendTimes[seq]!;
    for (let k = raw.length - 1; k >= 0; k--) if (sentAt >= raw[k]!.killAt - ATTRIBUTION_MS) return k;
    return -1;
  };
  const perKill = raw.map(() => ({ lost: 0, duplicated: 0, failed: 0 }));
  const outside = { lost: 0, duplicated: 0, failed: 0 };
  let lost = 0;
  let duplicated = 0;
  for (let seq = 0; seq < load.sent; seq++) {
    const n = copies.get(seq) ?? 0;
    const bucket = perKill[killOf(seq)] ?? outside;
    if (load.ackTimes[seq] !== undefined && n === 0) {
      lost++;
      bucket.lost++;
    }
    if (n > 1) {
      duplicated += n - 1;
      bucket.duplicated += n - 1;
    }
    if (load.failed.has(seq)) bucket.failed++;
  }
  const killResults: KillResult[] = raw.map((k, i) => {
    const until = raw[i + 1]?.killAt ?? Infinity;
    const { windowMs, resumedAt, laterPauseMs } = unavailability(load.ackLog, k.killAt, until);
    return { ...k, windowMs, killToFirstAckMs: resumedAt - k.killAt, laterPauseMs, ...perKill[i]! };
  });
  const partial: Omit<FailoverResults, "targets"> = {
    settings: {
      kills,
      "rate records/s": rate,
      "record bytes": recordBytes,
      "session timeout ms": (await cluster.view()).sessionTimeoutMs,
      "heartbeat ms": 100,
      cores: os.cpus().length,
    },
    load: { records: loadRecords, seconds: loadMs / 1000, spurious: loadSpurious },
    kills: killResults,
    spuriousDuringKills,
    totals: { sent: load.sent, acked: load.acked, lost, duplicated, failed: load.failed.size, outsideKills: outside },
  };
  const results: FailoverResults = { ...partial, targets: evaluateTargets(partial) };
  process.stdout.write(json ? `${JSON.stringify(results, null, 2)}\n` : `${renderReport(results)}\n`);
  if (process.env.BENCH_FAILOVER_LOGS) {
    process.stderr.write(`----- zookeeper -----\n${cluster.zookeeper.stderr()}`);
    for (const { id, broker } of cluster.history) process.stderr.write(`----- broker ${id} -----\n${broker.stderr()}`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench-failover failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
