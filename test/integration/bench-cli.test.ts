/**
 * `kafka-clone bench` on the compiled binary: produce, consume and e2e
 * against a standalone broker print JSON whose counts match what the broker
 * holds; without a terminal the progress is plain lines; the suite (what
 * `make bench` runs) starts its own broker from this binary.
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import type { PerfResult } from "../../src/bench/perf-runs";
import { cleanUpAfterThisFile, BINARY, runCli, startStandaloneBroker, tempDir, withTimeout } from "./harness";

cleanUpAfterThisFile();

async function bench(args: string[]): Promise<{ result: PerfResult; stderr: string }> {
  const run = await runCli(["bench", ...args, "--json"], { timeoutMs: 60_000 });
  if (run.exitCode !== 0) throw new Error(`bench ${args.join(" ")} exited ${run.exitCode}: ${run.stderr}`);
  return { result: JSON.parse(run.stdout) as PerfResult, stderr: run.stderr };
}

describe("kafka-clone bench", () => {
  test("produce, consume and e2e: JSON results whose counts match the log", async () => {
    const broker = await startStandaloneBroker();
    const at = ["--broker", broker.address];

    const produced = await bench(["produce", ...at, "--topic", "perf", "--records", "20000", "--record-size", "64", "--partitions", "3", "--producers", "2"]);
    expect(produced.result).toMatchObject({ mode: "produce", topic: "perf", partitions: 3, requested: 20_000, records: 20_000, sent: 20_000, failed: 0 });
    expect(produced.result.ackLatencyMs!.count).toBe(20_000);
    expect(produced.result.ackLatencyMs!.p50).toBeGreaterThan(0);
    expect(produced.result.ackLatencyMs!.p99).toBeGreaterThanOrEqual(produced.result.ackLatencyMs!.p50);
    expect(produced.result.recordsPerSec).toBeGreaterThan(0);
    expect(produced.stderr).toMatch(/^produce: 100% {2}20,000\/20,000 records/m);

    const admin = new Admin({ bootstrap: [{ host: "127.0.0.1", port: broker.port }] });
    const description = await admin.describeTopic("perf");
    admin.close();
    expect(description.partitions.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(20_000);

    const consumed = await bench(["consume", ...at, "--topic", "perf", "--records", "20000"]);
    expect(consumed.result).toMatchObject({ mode: "consume", records: 20_000, recordBytes: 64 });

    const e2e = await bench(["e2e", ...at, "--topic", "perf-e2e", "--records", "3000", "--rate", "3000"]);
    expect(e2e.result).toMatchObject({ mode: "e2e", records: 3000, sent: 3000, failed: 0 });
    expect(e2e.result.endToEndLatencyMs!.count).toBe(3000);
    expect(e2e.result.endToEndLatencyMs!.p50).toBeGreaterThan(0);

    const short = await runCli(["bench", "consume", ...at, "--topic", "perf", "--records", "20001", "--timeout-ms", "300", "--json", "--no-progress"]);
    expect(short.exitCode).toBe(1);
    expect((JSON.parse(short.stdout) as PerfResult).records).toBe(20_000);
    expect(short.stderr).toContain("20000 of 20001 records received");
    await broker.stop();
  });

  test("suite: starts a broker from this binary and prints its figures as JSON", async () => {
    const proc = Bun.spawn([BINARY, "bench", "suite", "--json"], {
      stdout: "pipe",
      stderr: "pipe",
      env: {
        ...process.env,
        BENCH_DIR: tempDir(),
        BENCH_PHASES: "throughput,consume",
        BENCH_RECORD_SIZES: "100",
        BENCH_PRODUCE_SECONDS: "0.5",
        BENCH_WARMUP_SECONDS: "0",
        BENCH_PREFAULT_MB: "0",
        BENCH_RAW_STEP_MB: "4",
      },
    });
    try {
      const [stdout, stderr, code] = await withTimeout(Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]), 60_000, "bench suite");
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
      const results = JSON.parse(stdout) as { throughput: { records: number }[]; readBack: { records: number }[]; targets: unknown[] };
      expect(results.throughput).toHaveLength(1);
      expect(results.throughput[0]!.records).toBeGreaterThan(0);
      expect(results.readBack[0]!.records).toBe(results.throughput[0]!.records);
      expect(results.targets.length).toBeGreaterThan(0);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
