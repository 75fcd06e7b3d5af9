/**
 * `make bench` (`kafka-clone bench suite`): the broker end to end, in one run. One broker process (the
 * compiled binary, standalone, port 0) and this load process on loopback:
 *
 *   1. produce-ack latency at a fixed moderate rate (20,000 records/s), after
 *      the disk's own small-write + fdatasync latency
 *   2. end-to-end latency (send() → consumer receives) at the same rate
 *   3. producer throughput, acks=all with group commit, 100 B and 1 KiB
 *      records, in steps alternating with the raw disk baseline (1 MiB write +
 *      fdatasync) so both meet the same disk conditions
 *   4. consumer throughput reading each of those topics back from the start
 *      (right after it was written; then the topic is deleted)
 *
 * Prints figures and the targets (PASS/MISS); asserts nothing about
 * speed. `--json` (or BENCH_JSON=1) prints one JSON object instead. Sizes and
 * producer settings come from the environment (broker-config.ts):
 *   BENCH_RECORD_SIZES (100,1024), BENCH_PHASES (throughput,consume,ack,e2e),
 *   BENCH_PRODUCE_SECONDS / BENCH_PRODUCE_MB, BENCH_OUTSTANDING, BENCH_BATCH_KB,
 *   BENCH_LINGER_MS, BENCH_MAX_IN_FLIGHT, BENCH_MAX_REQUEST_KB, BENCH_PARTITIONS,
 *   BENCH_RATE, BENCH_LATENCY_SECONDS, BENCH_LATENCY_BATCH_KB, BENCH_LATENCY_LINGER_MS,
 *   BENCH_LATENCY_MAX_IN_FLIGHT, BENCH_WARMUP_SECONDS, BENCH_FSYNC_PROBE_SECONDS,
 *   BENCH_PREFAULT_MB, BENCH_RAW_STEP_MB, BENCH_PRODUCE_STEP_SECONDS, BENCH_DIR,
 *   BENCH_BINARY.
 * The broker and the run's directory are removed on every exit path.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Admin } from "../client/admin";
import type { HostPort } from "../client/addresses";
import { Producer } from "../client/producer";
import { type BrokerBenchConfig, loadBrokerBenchConfig, MIB, type ProducerSettings } from "./broker-config";
import { type BrokerLatencyView, brokerView, type HistogramSnapshot, scrapeHistograms } from "./broker-histograms";
import { type BrokerProcess, startBroker } from "./broker-process";
import { type BrokerBenchResults, evaluateTargets, type LatencyRow, renderTable, type ThroughputRow } from "./broker-report";
import { EndToEndReceiver, runReadBack, STAMP_BYTES, stampValue } from "./consume-load";
import { probeFsyncLatency } from "./fsync-probe";
import { runPaced, ThroughputDriver } from "./produce-load";
import { prefaultMemory, RawAppender } from "./raw-io";

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const label = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`);

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : fs.statSync(full).size;
  }
  return total;
}

class Run {
  readonly bootstrap: HostPort[];
  readonly admin: Admin;

  constructor(
    readonly config: BrokerBenchConfig,
    readonly broker: BrokerProcess,
    readonly dataDir: string,
  ) {
    this.bootstrap = [{ host: broker.host, port: broker.port }];
    this.admin = new Admin({ bootstrap: this.bootstrap });
  }

  /** The broker's produce and fsync histograms over the measured part of a phase. */
  brokerView(): { start: () => void; finish: () => Promise<BrokerLatencyView | null> } {
    let before: Promise<HistogramSnapshot | null> = Promise.resolve(null);
    return {
      start: () => {
        before = scrapeHistograms(this.broker.host, this.broker.metricsPort);
      },
      finish: async () => brokerView(await before, await scrapeHistograms(this.broker.host, this.broker.metricsPort)),
    };
  }

  producer(settings: ProducerSettings): Producer {
    return new Producer({ bootstrap: this.bootstrap, acks: "all", ...settings });
  }

  async topic(name: string): Promise<string> {
    await this.admin.createTopic(name, this.config.partitions);
    return name;
  }

  /** Warms the JIT on both sides (and the connection paths) on a throwaway topic. */
  async warmup(): Promise<void> {
    if (this.config.warmupSeconds <= 0) return;
    progress(`warm-up: ${this.config.warmupSeconds} s of 100 B sends`);
    const producer = this.producer(this.config.throughput);
    const topic = await this.topic("warmup");
    await new ThroughputDriver(producer, topic, 100, this.config.outstanding, this.broker).step(this.config.warmupSeconds);
    await producer.close();
    await this.admin.deleteTopic(topic);
  }

  /** Throughput of one record size, its steps alternating with raw baseline steps. */
  async throughput(recordBytes: number): Promise<ThroughputRow> {
    const c = this.config;
    progress(`${label(recordBytes)}: producer throughput for ${c.produceSeconds} s (or ${c.produceMiB} MiB), alternating with the raw disk baseline`);
    const topic = await this.topic(`throughput-${recordBytes}`);
    const producer = this.producer(c.throughput);
    const driver = new ThroughputDriver(producer, topic, recordBytes, c.outstanding, this.broker);
    const rawFile = path.join(c.workDir, "raw-baseline.bin");
    const raw = new RawAppender(rawFile);
    const maxRecords = Math.floor((c.produceMiB * MIB) / recordBytes);
    try {
      for (let i = 0; driver.seconds < c.produceSeconds && driver.payloadBytes < maxRecords * recordBytes; i++) {
        const stepSeconds = Math.min(c.produceStepSeconds, c.produceSeconds - driver.seconds);
        // Who goes first alternates, as in bench-log.
        if (i % 2 === 1) raw.step(c.rawStepMiB);
        await driver.step(stepSeconds, maxRecords);
        if (i % 2 === 0) raw.step(c.rawStepMiB);
      }
    } finally {
      await producer.close();
    }
    const baseline = raw.finish();
    fs.rmSync(rawFile, { force: true });
    const result = driver.result();
    const logBytes = directoryBytes(path.join(this.dataDir, "topics", topic));
    return { ...result, logMbPerSec: logBytes / 1e6 / result.seconds, baseline };
  }

  async readBack(recordBytes: number, records: number) {
    progress(`${label(recordBytes)}: consumer reading ${records.toLocaleString("en-US")} records back from the earliest offset`);
    return runReadBack({ bootstrap: this.bootstrap }, `throughput-${recordBytes}`, recordBytes, records, this.broker);
  }

  async produceAckLatency(recordBytes: number): Promise<LatencyRow> {
    const c = this.config;
    progress(`${label(recordBytes)}: produce-ack latency at ${c.rate.toLocaleString("en-US")} records/s for ${c.latencySeconds} s`);
    const topic = await this.topic(`latency-${recordBytes}`);
    const producer = this.producer(c.latency);
    try {
      const view = this.brokerView();
      const paced = await runPaced(
        producer,
        topic,
        { recordBytes, rate: c.rate, seconds: c.latencySeconds, warmupSeconds: c.warmupSeconds, onMeasuring: view.start },
        this.broker,
      );
      return { ...paced, kind: "produce-ack", endToEnd: null, broker: await view.finish() };
    } finally {
      await producer.close();
    }
  }

  async endToEndLatency(recordBytes: number): Promise<LatencyRow> {
    const c = this.config;
    progress(`${label(recordBytes)}: end-to-end latency at ${c.rate.toLocaleString("en-US")} records/s for ${c.latencySeconds} s`);
    const topic = await this.topic(`e2e-${recordBytes}`);
    const receiver = new EndToEndReceiver({ bootstrap: this.bootstrap }, topic);
    const producer = this.producer(c.latency);
    try {
      await receiver.start();
      const view = this.brokerView();
      const paced = await runPaced(
        producer,
        topic,
        {
          recordBytes: Math.max(recordBytes, STAMP_BYTES),
          rate: c.rate,
          seconds: c.latencySeconds,
          warmupSeconds: c.warmupSeconds,
          stamp: stampValue,
          onMeasuring: view.start,
        },
        this.broker,
      );
      const total = Math.round(c.rate * (c.warmupSeconds + c.latencySeconds));
      const endToEnd = await receiver.finish(total);
      return { ...paced, kind: "end-to-end", endToEnd, broker: await view.finish() };
    } finally {
      receiver.close();
      await producer.close();
    }
  }
}

async function run(config: BrokerBenchConfig, setBroker: (broker: BrokerProcess) => void): Promise<BrokerBenchResults> {
  const notes = [...config.notes];
  if (config.prefaultMiB > 0) {
    progress(`touching and freeing ${config.prefaultMiB} MiB of memory first (BENCH_PREFAULT_MB=0 skips this)`);
    const ms = prefaultMemory(config.prefaultMiB);
    notes.push(
      `touched and freed ${config.prefaultMiB} MiB of memory first (${Math.round(ms)} ms): on VMs that back guest memory lazily, ` +
        "the first touch of a page (new page cache for the log, new buffers) is several times slower",
    );
  }
  const dataDir = path.join(config.workDir, "broker");
  fs.mkdirSync(dataDir);
  progress(`starting ${config.binary} broker (data in ${dataDir})`);
  const broker = await startBroker(config.binary, dataDir, ["--metrics-port", "0"]);
  setBroker(broker);
  const r = new Run(config, broker, dataDir);
  const results: Omit<BrokerBenchResults, "targets"> = {
    environment: {
      bun: Bun.version,
      cpus: os.cpus().length,
      dir: config.workDir,
      loadAverageAtStart: os.loadavg()[0]!.toFixed(2),
      phases: [...config.phases].join(","),
    },
    settings: { partitions: config.partitions, outstanding: config.outstanding, throughput: config.throughput, latency: config.latency, rate: config.rate },
    notes,
    throughput: [],
    readBack: [],
    latency: [],
    fsyncProbe: null,
  };
  try {
    const phases = config.phases;
    await r.warmup();
    // Latency first, on a quiet broker and disk: after the throughput phases the broker's heap is
    // large and deleting GiBs of log keeps the disk's journal busy for a while.
    if (phases.has("ack") || phases.has("e2e")) {
      progress(`disk latency baseline: 4 KiB write + fdatasync, 1,000/s for ${config.fsyncProbeSeconds} s`);
      results.fsyncProbe = await probeFsyncLatency(path.join(config.workDir, "fsync-probe.bin"), config.fsyncProbeSeconds);
    }
    if (phases.has("ack")) for (const size of config.recordSizes) results.latency.push(await r.produceAckLatency(size));
    if (phases.has("e2e")) for (const size of config.recordSizes) results.latency.push(await r.endToEndLatency(size));
    if (phases.has("throughput")) {
      for (const size of config.recordSizes) {
        const produced = await r.throughput(size);
        results.throughput.push(produced);
        if (phases.has("consume")) results.readBack.push(await r.readBack(size, produced.records));
        // Frees the topic's page cache for the next phase (fresh memory is slow to touch on this kind of VM).
        await r.admin.deleteTopic(`throughput-${size}`);
      }
    }
  } finally {
    r.admin.close();
  }
  return { ...results, targets: evaluateTargets(results) };
}

/** `kafka-clone bench suite` (what `make bench` runs): every phase against a broker of its own. */
export async function runBrokerSuite(argv: string[]): Promise<void> {
  const config = loadBrokerBenchConfig(argv);
  let broker: BrokerProcess | null = null;
  const cleanupSync = () => {
    broker?.kill();
    fs.rmSync(config.workDir, { recursive: true, force: true });
  };
  process.on("exit", cleanupSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      progress(`${signal}: stopping the broker and removing ${config.workDir}`);
      cleanupSync();
      process.exit(130);
    });
  }
  const started = performance.now();
  try {
    const results = await run(config, (b) => (broker = b));
    results.environment.totalSeconds = Math.round((performance.now() - started) / 100) / 10;
    process.stdout.write(config.json ? `${JSON.stringify(results)}\n` : `${renderTable(results)}\n`);
    progress(`done in ${results.environment.totalSeconds} s`);
  } catch (error) {
    const tail = (broker as BrokerProcess | null)?.stderrTail().trim();
    if (tail) progress(`broker stderr (tail):\n${tail}`);
    throw error;
  } finally {
    await (broker as BrokerProcess | null)?.stop();
    cleanupSync();
  }
}
