/**
 * How many fuzz cases run and from which seed: FUZZ_CASES (default: a few
 * hundred per port, a few seconds each in `make test`) and FUZZ_SEED (default
 * a fixed one, so `make test` is the same every run). `make fuzz` raises the
 * count and picks a fresh seed range.
 *
 * Case i uses seed FUZZ_SEED + i and nothing else, so a failing batch prints
 * the exact FUZZ_SEED / FUZZ_CASES that replay it.
 */
import { seededRandom } from "../garbage";
import type { Random } from "./mutations";

export interface FuzzPlan {
  seed: number;
  cases: number;
  batch: number;
}

export function fuzzPlan(defaultCases: number, batch = 50): FuzzPlan {
  const cases = envInt("FUZZ_CASES") ?? defaultCases;
  const seed = envInt("FUZZ_SEED") ?? 1;
  return { seed, cases, batch: Math.min(batch, Math.max(1, cases)) };
}

function envInt(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(text)}`);
  return value;
}

export interface FuzzCase {
  seed: number;
  random: Random;
}

export interface BatchReport {
  firstSeed: number;
  cases: number;
}

/**
 * Runs the plan's cases in batches: `runBatch` gets each batch's cases, and
 * `check` runs after every batch (is the process up, does a normal client
 * still work, is memory bounded). A failure names the batch to replay.
 */
export async function runFuzz(
  plan: FuzzPlan,
  port: string,
  runBatch: (cases: FuzzCase[]) => Promise<void>,
  check: (batch: BatchReport) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  for (let first = plan.seed; first < plan.seed + plan.cases; first += plan.batch) {
    const count = Math.min(plan.batch, plan.seed + plan.cases - first);
    const cases = Array.from({ length: count }, (_, i) => ({ seed: first + i, random: seededRandom(hashSeed(port, first + i)) }));
    try {
      await runBatch(cases);
      await check({ firstSeed: first, cases: count });
    } catch (error) {
      const replay = `FUZZ_SEED=${first} FUZZ_CASES=${count}`;
      console.error(`fuzz ${port}: failed in the batch of seeds ${first}..${first + count - 1}; replay with ${replay}`);
      throw new Error(`fuzz ${port} (replay: ${replay}): ${(error as Error).message}`, { cause: error });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`fuzz ${port}: ${plan.cases} cases from seed ${plan.seed} in ${seconds.toFixed(1)} s`);
}

/** Different ports get different streams from the same seed number. */
function hashSeed(port: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < port.length; i++) h = Math.imul(h ^ port.charCodeAt(i), 0x9e3779b1) >>> 0;
  return h;
}

/**
 * Lines a process logged since the last call that show a request failing
 * inside a handler (UNKNOWN) or an uncaught error: bad input must be refused
 * by validation, never by a crash. Checked after every batch, so a failure
 * names the batch that caused it.
 */
export function unexpectedErrorLines(stderr: () => string): () => string[] {
  let seen = 0;
  return () => {
    const text = stderr();
    const fresh = text.slice(seen);
    seen = text.length;
    return fresh.split("\n").filter((line) => /request failed unexpectedly|uncaught|panic|TypeError|RangeError/i.test(line));
  };
}

/** Peak RSS tracking for one process. */
export class RssSampler {
  readonly baseline: number;
  peak: number;

  constructor(private readonly read: () => number) {
    this.baseline = read();
    this.peak = this.baseline;
  }

  sample(): number {
    const now = this.read();
    this.peak = Math.max(this.peak, now);
    return now;
  }

  describe(): string {
    const MiB = 1024 * 1024;
    return `RSS baseline ${(this.baseline / MiB).toFixed(1)} MiB, peak ${(this.peak / MiB).toFixed(1)} MiB (+${((this.peak - this.baseline) / MiB).toFixed(1)} MiB)`;
  }
}
