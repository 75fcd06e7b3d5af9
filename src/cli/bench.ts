import { defineCommand } from "citty";
import { runAuthBench } from "../bench/auth-bench";
import { runBrokerSuite } from "../bench/broker-suite";
import { runGroupMember } from "../bench/group-member";
import { runGroupSuite } from "../bench/group-suite";
import { benchConsume, benchEndToEnd, benchProduce, type PerfOptions, type PerfResult } from "../bench/perf-runs";
import { renderPerfTable } from "../bench/perf-report";
import { KafkaCloneError } from "../errors";
import { validateTopicName } from "../log/topic-name";
import { ACKS } from "../protocol/api";
import { choiceFlag, intFlag } from "./args";
import { CLIENT_ARGS, clusterOptionsFrom } from "./client-args";
import { runOrExit } from "./output";
import { configurable, resolveArgs } from "./resolve-args";

const COMMON = {
  ...CLIENT_ARGS,
  topic: { type: "string", description: "topic to use (created with --partitions if missing)", default: "bench" },
  records: { type: "string", description: "how many records", default: "100000" },
  "record-size": { type: "string", description: "bytes per record value", default: "100" },
  json: { type: "boolean", description: "print the results as one JSON object", default: false },
  progress: { type: "boolean", description: "live progress on stderr: a bar on a terminal, plain lines otherwise (--no-progress: none)", default: true },
  "timeout-ms": { type: "string", description: "give up after this long without a record (consumers)", default: "15000" },
} as const;

function producerArgs(defaults: { rate: string; batchKb: string; lingerMs: string }) {
  return {
    partitions: { type: "string", description: "partitions of a topic the run creates", default: "1" },
    producers: { type: "string", description: "producers (each its own connection) sharing the records", default: "1" },
    acks: { type: "string", description: "all (fsynced), 1 (written) or 0", default: "all" },
    rate: { type: "string", description: "target records/s across all producers (0 = as fast as possible)", default: defaults.rate },
    "batch-kb": { type: "string", description: "producer batch size (KiB)", default: defaults.batchKb },
    "linger-ms": { type: "string", description: "how long a batch waits for more records", default: defaults.lingerMs },
    "max-in-flight": { type: "string", description: "requests in flight per producer", default: "32" },
    outstanding: { type: "string", description: "unacknowledged records a producer allows before it waits", default: "100000" },
  } as const;
}

type Parsed = Record<string, unknown>;

function perfOptions(a: Parsed): PerfOptions {
  const str = (name: string) => String(a[name]);
  const has = (name: string) => a[name] !== undefined;
  return {
    cluster: clusterOptionsFrom(a as { broker?: string; zookeeper?: string }),
    topic: validateTopicName(str("topic")),
    records: intFlag(a.records, "records", { min: 1, max: 1e10 }),
    recordBytes: intFlag(a["record-size"], "record-size", { min: 1, max: 64 * 1024 * 1024 }),
    partitions: has("partitions") ? intFlag(a.partitions, "partitions", { min: 1, max: 10_000 }) : 1,
    idleMs: intFlag(a["timeout-ms"], "timeout-ms", { min: 1 }),
    progress: a.progress !== false,
    producer: {
      producers: has("producers") ? intFlag(a.producers, "producers", { min: 1, max: 1000 }) : 1,
      acks: has("acks") ? choiceFlag(a.acks, "acks", ACKS) : "all",
      rate: has("rate") ? intFlag(a.rate, "rate", { min: 0 }) : 0,
      batchBytes: has("batch-kb") ? intFlag(a["batch-kb"], "batch-kb", { min: 1, max: 65_536 }) * 1024 : 256 * 1024,
      lingerMs: has("linger-ms") ? intFlag(a["linger-ms"], "linger-ms", { max: 60_000 }) : 5,
      maxInFlight: has("max-in-flight") ? intFlag(a["max-in-flight"], "max-in-flight", { min: 1, max: 1024 }) : 32,
      outstanding: has("outstanding") ? intFlag(a.outstanding, "outstanding", { min: 1 }) : 100_000,
    },
  };
}

function report(result: PerfResult, json: boolean): void {
  process.stdout.write(`${json ? JSON.stringify(result) : renderPerfTable(result)}\n`);
  if (result.failed > 0 || result.records < result.requested) {
    const what = result.mode === "produce" ? "acknowledged" : "received";
    throw new KafkaCloneError(result.failed > 0 ? "STORAGE_ERROR" : "REQUEST_TIMED_OUT", `${result.records} of ${result.requested} records ${what}${result.firstError ? `; first error: ${result.firstError}` : ""}`);
  }
}

function perfCommand(name: "produce" | "consume" | "e2e", description: string, args: ReturnType<typeof configurable>, run: (o: PerfOptions) => Promise<PerfResult>) {
  return defineCommand({
    meta: { name, description },
    args,
    run: (context) =>
      runOrExit(async () => {
        const a = resolveArgs(context, args, "bench") as Parsed;
        report(await run(perfOptions(a)), a.json === true);
        process.exit(0);
      }),
  });
}

const produceArgs = configurable({ ...COMMON, ...producerArgs({ rate: "0", batchKb: "256", lingerMs: "5" }) });
const consumeArgs = configurable({ ...COMMON });
const e2eArgs = configurable({ ...COMMON, ...producerArgs({ rate: "10000", batchKb: "64", lingerMs: "0" }) });
const suiteArgs = configurable({ json: { type: "boolean", description: "print one JSON object", default: false } } as const);

const suite = defineCommand({
  meta: {
    name: "suite",
    description:
      "What `make bench` runs: starts a standalone broker of this binary on a fresh data directory and measures producer throughput beside a raw disk baseline, " +
      "read-back, produce-ack and end-to-end latency at a fixed rate, and the disk's fsync latency; prints figures and targets. Sizes: BENCH_* environment variables (see README)",
  },
  args: suiteArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, suiteArgs, "bench");
      await runBrokerSuite(a.json ? ["--json"] : []);
      process.exit(0);
    }),
});

const groups = defineCommand({
  meta: {
    name: "groups",
    description:
      "Consumer groups (part of `make bench`): settle time of a 3-member group on 12 partitions after a member joins and after one leaves (median of BENCH_GROUP_ROUNDS=10), " +
      "and reading BENCH_GROUP_RECORDS records with a group of 3 against a single consumer; starts its own standalone broker; prints figures",
  },
  args: suiteArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, suiteArgs, "bench");
      await runGroupSuite(a.json ? ["--json"] : []);
      process.exit(0);
    }),
});

const auth = defineCommand({
  meta: {
    name: "auth",
    description:
      "What the cluster secret costs (part of `make bench`): two standalone brokers, one with a secret, producer throughput per record size (BENCH_AUTH_SECONDS=6 each, steps alternating), " +
      "read-back and connection set-up; prints each figure with the ratio secret / baseline",
  },
  args: suiteArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, suiteArgs, "bench");
      await runAuthBench(a.json ? ["--json"] : []);
      process.exit(0);
    }),
});

const groupMemberArgs = {
  address: { type: "positional", description: "the broker, host:port", required: true },
  topic: { type: "positional", description: "topic to read", required: true },
  group: { type: "positional", description: "consumer group, or - for a plain consumer", required: true },
} as const;

const groupMember = defineCommand({
  meta: { name: "group-member", description: "Internal to `bench groups`: one consumer process reporting its progress as JSON lines" },
  args: groupMemberArgs,
  run: (context) => runOrExit(() => runGroupMember(context.args.address, context.args.topic, context.args.group)),
});

export const benchCommand = defineCommand({
  meta: { name: "bench", description: "Measure a running cluster (produce, consume, e2e) or run the whole broker benchmark (suite)" },
  subCommands: {
    produce: perfCommand("produce", "Send records as fast as acknowledgements allow (or at --rate) and report throughput and ack latency percentiles", produceArgs, benchProduce),
    consume: perfCommand("consume", "Read --records records from the topic's earliest offset and report throughput", consumeArgs, benchConsume),
    e2e: perfCommand("e2e", "Produce at --rate while a consumer reads; report end-to-end (send → receive) and ack latency percentiles", e2eArgs, benchEndToEnd),
    suite,
    groups,
    auth,
    "group-member": groupMember,
  },
});
