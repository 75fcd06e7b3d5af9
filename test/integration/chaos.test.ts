/**
 * A short chaos run (see test/chaos/): 15 s with a fixed seed whose schedule
 * pauses the active broker briefly, kills it with -9 and then its successor
 * as soon as it is named, restarts the zookeeper, and pauses the active broker
 * past the session timeout. Nothing
 * acknowledged may be lost, duplicated, reordered or overwritten, nothing
 * failed may be read, and the live consumer's offsets never go backwards or
 * skip. `make chaos` runs longer, with fresh seeds.
 */
import { afterAll, expect, test } from "bun:test";
import os from "node:os";
import { killEverything } from "../../bench/lib/failover-cluster";
import { renderChaosReport } from "../chaos/chaos-report";
import { runChaos } from "../chaos/run-chaos";

const SEED = 27;

afterAll(killEverything);

test(`a 15 s chaos run (seed ${SEED}) finds no anomalies`, async () => {
  const result = await runChaos({
    seconds: 15,
    seed: SEED,
    producers: 3,
    ratePerProducer: 150,
    recordBytes: 100,
    partitions: 3,
    segmentBytes: 256 * 1024,
    network: false,
    secret: false,
    parentDir: os.tmpdir(),
    log: () => {},
  });
  console.log(renderChaosReport(result));
  expect(result.faults.length).toBeGreaterThanOrEqual(3);
  expect(result.check.stats.ok).toBeGreaterThan(1000);
  expect(result.check.anomalies).toMatchObject({
    lost: { count: 0 },
    duplicated: { count: 0 },
    inconsistentOffsets: { count: 0 },
    failedButRead: { count: 0 },
    nonMonotonic: { count: 0 },
    skipped: { count: 0 },
    reordered: { count: 0 },
    unexpected: { count: 0 },
  });
  expect(result.problems).toEqual([]);
  expect(result.passed).toBe(true);
}, 180_000);
