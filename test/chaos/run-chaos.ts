/**
 * One chaos run: a zookeeper and three brokers (the compiled binary, default
 * settings, one shared data directory), producers and a live consumer in this
 * process, the seeded fault schedule, then everything healed, the topic read
 * back and the history checked. Every process is killed on any exit path; the
 * working directory (data, process logs, history) is kept when the run fails.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { activeId, FailoverCluster, killEverything } from "../../bench/lib/failover-cluster";
import { Admin } from "../../src/client/admin";
import { ClusterSecret } from "../../src/auth/cluster-secret";
import { clusterCredentials } from "../../src/auth/credentials";
import { createNetnsLab, type NetnsLab } from "../integration/netns-lab";
import { zookeeperLocator } from "../../src/client/zookeeper-locator";
import { check, type CheckReport, longestGap } from "./checker";
import { FaultInjector } from "./fault-injector";
import { epochRegressions, epochsOnDisk } from "./disk-epochs";
import { faultSchedule } from "./fault-schedule";
import { endOffsets, readWholeTopic } from "./final-read";
import type { FaultRecord } from "./history";
import { LiveReader } from "./live-reader";
import { Workload } from "./workload";

export interface ChaosOptions {
  seconds: number;
  seed: number;
  producers: number;
  ratePerProducer: number;
  recordBytes: number;
  partitions: number;
  /** The brokers' segment size: small, so segments roll during the run. */
  segmentBytes: number;
  /** Run with a cluster secret: every heartbeat, election message and connection authenticated. */
  secret: boolean;
  /** Run every process in its own network namespace and add network partitions to the faults (root only). */
  network: boolean;
  /** Where the run's working directory is made. */
  parentDir: string;
  /** Keep the working directory when the run fails (default true). */
  keepOnFailure?: boolean;
  log: (message: string) => void;
}

export interface ChaosResult {
  options: ChaosOptions;
  passed: boolean;
  check: CheckReport;
  faults: FaultRecord[];
  /** Liveness failures (no recovery, producers never acknowledged again, the reader never caught up). */
  problems: string[];
  /** Lines the brokers logged that say what the faults did. */
  events: Record<string, number>;
  elapsedMs: number;
  keptDir: string | null;
}

export const TOPIC = "chaos";
const BROKER_IDS = [1, 2, 3];
const WARM_UP_MS = 1000;
const TAIL_MS = 1500;
const CATCH_UP_MS = 30_000;
const EVENTS: Record<string, RegExp> = {
  takeovers: /takeover complete/g,
  stepDowns: /stepping down/g,
  leaseLapses: /lease lapsed/g,
  leasesRegained: /lease regained/g,
};

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  fs.mkdirSync(options.parentDir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(options.parentDir, "kc-chaos-"));
  const dataDir = path.join(workDir, "data");
  fs.mkdirSync(dataDir);
  const problems: string[] = [];
  let cluster: FailoverCluster | null = null;
  let lab: NetnsLab | null = null;
  try {
    options.log(`starting a zookeeper and brokers ${BROKER_IDS.join(", ")} on ${dataDir}${options.network ? ", each in its own network namespace" : ""}`);
    if (options.network) lab = createNetnsLab(BROKER_IDS);
    const secretFile = path.join(workDir, "cluster-secret");
    const secretArgs = options.secret ? ["--cluster-secret-file", secretFile] : [];
    if (options.secret) fs.writeFileSync(secretFile, crypto.getRandomValues(new Uint8Array(32)).toBase64(), { mode: 0o600 });
    const auth = options.secret ? clusterCredentials(ClusterSecret.fromFile(secretFile)) : undefined;
    const brokerArgs = ["--segment-bytes", String(options.segmentBytes), ...secretArgs];
    cluster = await FailoverCluster.start(dataDir, BROKER_IDS, { network: lab, fixedBrokerPorts: true, brokerArgs, zookeeperArgs: secretArgs, auth });
    const c = cluster;
    const first = await c.waitForView((v) => activeId(v) !== null, 20_000, "a first active broker");
    const clientOptions = () => ({ bootstrap: [], locator: zookeeperLocator(c.zkAddress, auth), auth });
    const admin = new Admin(clientOptions());
    await admin.createTopic(TOPIC, options.partitions);
    admin.close();

    const schedule = faultSchedule(options.seed, 10_000, BROKER_IDS, first.sessionTimeoutMs, options.network);
    const workload = new Workload(clientOptions, {
      topic: TOPIC,
      producers: options.producers,
      ratePerProducer: options.ratePerProducer,
      recordBytes: options.recordBytes,
      deliveryTimeoutMs: 30_000,
      firstProducerDeliveryTimeoutMs: options.producers > 1 ? 1500 : undefined,
      keys: 32,
    });
    // Two live consumers: one finds the leader through the zookeeper (and follows its view), the other
    // only through a static list of the brokers, like a client given bootstrap servers.
    const brokers = c.brokerAddresses();
    const readers = [
      { name: "zookeeper", reader: new LiveReader(clientOptions, TOPIC) },
      { name: "bootstrap", reader: new LiveReader(() => ({ bootstrap: brokers, auth }), TOPIC) },
    ];
    const origin = performance.now();
    workload.start();
    for (const { reader } of readers) reader.start();
    await Bun.sleep(WARM_UP_MS);

    const injector = new FaultInjector(c, BROKER_IDS, origin, options.log, lab);
    const until = origin + options.seconds * 1000 - TAIL_MS;
    const ran = await injector.run(schedule, until);
    options.log(`${ran} faults injected; healing and letting the producers run on`);
    if (!(await injector.healAll())) problems.push("the cluster did not recover (every broker alive, one active) after the last fault was healed");
    const healedAt = performance.now();
    while (performance.now() < Math.max(until + TAIL_MS, healedAt + 1000)) await Bun.sleep(50);
    if (workload.lastAckAt < healedAt) problems.push(`no acknowledgement in the ${Math.round(performance.now() - healedAt)} ms after the cluster was healed`);

    options.log("stopping the producers");
    await workload.stop(60_000);
    workload.close();
    const ends = await endOffsets(clientOptions(), TOPIC);
    const caughtUpBy = performance.now() + CATCH_UP_MS;
    const behind = () => readers.flatMap(({ name, reader }) =>
      [...ends].filter(([partition, end]) => reader.position(partition) < end).map(([p, end]) => `${name} reader at ${reader.position(p)} of ${end} in partition ${p}`));
    while (behind().length > 0 && performance.now() < caughtUpBy) await Bun.sleep(20);
    if (behind().length > 0) problems.push(`the live readers did not reach the log end within ${CATCH_UP_MS} ms: ${behind().join(", ")}`);
    for (const { name, reader } of readers) {
      await reader.stop();
      if (reader.restarts.length > 0) options.log(`the ${name} reader's consumer was replaced ${reader.restarts.length} times: ${reader.restarts.slice(0, 3).join("; ")}`);
    }

    options.log("reading the topic back");
    const { log: final } = await readWholeTopic(clientOptions(), TOPIC, 120_000);
    options.log("killing every process with -9, restarting the cluster and reading the topic again");
    const events = countEvents(c);
    await crashAndRestart(c);
    const { log: reread } = await readWholeTopic(clientOptions(), TOPIC, 120_000);
    await stopAll(c);
    const spans = epochsOnDisk(dataDir, TOPIC);
    events.segments = fs.readdirSync(path.join(dataDir, "topics", TOPIC), { recursive: true }).filter((f) => String(f).endsWith(".log")).length;
    const regressions = epochRegressions(spans);
    const report = check({
      attempts: workload.attempts,
      final,
      live: readers.map(({ name, reader }) => ({ name, reads: reader.reads })),
      epochRegressions: regressions,
      batchesOnDisk: [...spans.values()].reduce((n, list) => n + list.length, 0),
      reread,
      loadStartedAt: workload.startedAt,
      loadStoppedAt: workload.stoppedAt,
    });
    for (const fault of injector.records) {
      if (fault.recoveredAt === null && !fault.overlap) problems.push(`fault ${fault.description}: the cluster did not recover`);
      const end = origin + (fault.recoveredAt ?? fault.healedAt) + 1000;
      fault.unavailableMs = longestGap(workload.attempts, origin + fault.startedAt, Math.min(end, workload.stoppedAt)).ms;
    }
    const passed = report.anomalyCount === 0 && problems.length === 0;
    const keptDir = !passed && options.keepOnFailure !== false ? keep(workDir, c, workload, injector.records) : null;
    return { options, passed, check: report, faults: injector.records, problems, events, elapsedMs: performance.now() - started, keptDir };
  } catch (error) {
    if (cluster && options.keepOnFailure !== false) {
      options.log(`run failed; logs kept in ${keep(workDir, cluster, null, [])}`);
    }
    throw error;
  } finally {
    killEverything();
    if (cluster) await Promise.all(cluster.history.map(({ broker }) => broker.proc.exited).concat(cluster.zookeeperHistory.map((z) => z.proc.exited)));
    lab?.destroy();
    const kept = fs.existsSync(path.join(workDir, "KEPT"));
    if (!kept) fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** kill -9 of the zookeeper and every broker at once, then all started again (same port, same data) until one is active. */
async function crashAndRestart(cluster: FailoverCluster): Promise<void> {
  await stopAll(cluster);
  await cluster.startZookeeper();
  await Promise.all(BROKER_IDS.map((id) => cluster.startBroker(id)));
  await cluster.waitForView((v) => activeId(v) !== null, 30_000, "an active broker after the full restart");
}

async function stopAll(cluster: FailoverCluster): Promise<void> {
  const procs = [cluster.zookeeper, ...cluster.brokers.values()].map((p) => p.proc);
  for (const proc of procs) proc.kill("SIGKILL");
  await Promise.all(procs.map((proc) => proc.exited));
}

function countEvents(cluster: FailoverCluster): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, pattern] of Object.entries(EVENTS)) {
    counts[name] = cluster.history.reduce((n, { broker }) => n + (broker.stderr().match(pattern)?.length ?? 0), 0);
  }
  return counts;
}

/** Writes every process's log and the history next to the data; returns the directory. */
function keep(workDir: string, cluster: FailoverCluster, workload: Workload | null, faults: FaultRecord[]): string {
  fs.writeFileSync(path.join(workDir, "KEPT"), "");
  cluster.zookeeperHistory.forEach((zk, i) => fs.writeFileSync(path.join(workDir, `zookeeper-${i + 1}.log`), zk.stderr()));
  const starts = new Map<number, number>();
  for (const { id, broker } of cluster.history) {
    const n = (starts.get(id) ?? 0) + 1;
    starts.set(id, n);
    fs.writeFileSync(path.join(workDir, `broker-${id}-${n}.log`), broker.stderr());
  }
  if (workload) fs.writeFileSync(path.join(workDir, "history.jsonl"), workload.attempts.map((a) => JSON.stringify(a)).join("\n") + "\n");
  fs.writeFileSync(path.join(workDir, "faults.json"), JSON.stringify(faults, null, 2));
  return workDir;
}

export function defaultParentDir(): string {
  return process.env.CHAOS_DIR || os.tmpdir();
}
