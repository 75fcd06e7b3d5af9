/**
 * `make chaos`: the chaos checker (see run-chaos.ts and checker.ts). Settings
 * from the environment: CHAOS_SECONDS (60), CHAOS_SEED (fresh each run,
 * printed; the same seed replays the same fault schedule), CHAOS_PRODUCERS
 * (4), CHAOS_RATE records/s per producer (200), CHAOS_RECORD_BYTES (100),
 * CHAOS_PARTITIONS (3), CHAOS_SEGMENT_BYTES (262144: segments roll during the
 * run), CHAOS_DIR (where the working directory goes; the
 * system temp dir by default), CHAOS_NETWORK (1 where network namespaces can
 * be made, i.e. as root: every process in its own namespace and network
 * partitions among the faults; 0 = all on loopback, no partitions),
 * CHAOS_SECRET (0; 1 = a cluster secret: heartbeats, election messages and
 * connections authenticated). `--json` prints the result as JSON. Exits 1 on
 * any anomaly or liveness problem.
 */
import { killEverything } from "../../bench/lib/failover-cluster";
import { renderChaosReport } from "./chaos-report";
import { netnsUnavailable } from "../integration/netns-lab";
import { freshSeed } from "./random";
import { defaultParentDir, runChaos } from "./run-chaos";

function envInt(name: string, fallback: number, min = 0): number {
  const text = process.env[name];
  const value = text === undefined || text === "" ? fallback : Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return value;
}

async function main(): Promise<number> {
  const seed = envInt("CHAOS_SEED", freshSeed());
  const seconds = envInt("CHAOS_SECONDS", 60, 5);
  const whyNoNetwork = netnsUnavailable();
  const network = envInt("CHAOS_NETWORK", whyNoNetwork === null ? 1 : 0) === 1;
  if (network && whyNoNetwork) throw new Error(`CHAOS_NETWORK=1, but ${whyNoNetwork}`);
  if (!network) process.stderr.write(`[chaos] no network partitions: ${whyNoNetwork ?? "CHAOS_NETWORK=0"}\n`);
  process.stderr.write(`[chaos] seed ${seed} (replay: CHAOS_SEED=${seed} CHAOS_SECONDS=${seconds} CHAOS_NETWORK=${network ? 1 : 0}${process.env.CHAOS_SECRET === "1" ? " CHAOS_SECRET=1" : ""} make chaos)\n`);
  const result = await runChaos({
    seconds,
    seed,
    producers: envInt("CHAOS_PRODUCERS", 4, 1),
    ratePerProducer: envInt("CHAOS_RATE", 200, 1),
    recordBytes: envInt("CHAOS_RECORD_BYTES", 100, 16),
    partitions: envInt("CHAOS_PARTITIONS", 3, 1),
    segmentBytes: envInt("CHAOS_SEGMENT_BYTES", 256 * 1024, 1024),
    secret: envInt("CHAOS_SECRET", 0) === 1,
    network,
    parentDir: defaultParentDir(),
    log: (message) => process.stderr.write(`[chaos] ${message}\n`),
  });
  process.stdout.write(process.argv.includes("--json") ? `${JSON.stringify(result, null, 2)}\n` : `${renderChaosReport(result)}\n`);
  return result.passed ? 0 : 1;
}

process.on("exit", killEverything);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`chaos failed: ${(error as Error).stack ?? error}\n`);
    process.exit(2);
  },
);
