import { describe, expect, test } from "bun:test";
import { check, type CheckInput } from "../../chaos/checker";
import type { Attempt, FinalLog, PartitionReads } from "../../chaos/history";

function ok(producer: number, seq: number, partition: number, offset: number, settledAt = 10 + seq): Attempt {
  return { producer, seq, value: `p${producer}-${seq}`, key: "k", sentAt: seq, settledAt, outcome: "ok", partition, offset };
}

function log(...partitions: string[][]): FinalLog {
  return new Map(partitions.map((values, p) => [p, { offsets: values.map((_, i) => i), values }]));
}

function reads(entries: [number, string][]): { name: string; reads: Map<number, PartitionReads> }[] {
  return [{ name: "test", reads: new Map([[0, { offsets: entries.map(([o]) => o), values: entries.map(([, v]) => v) }]]) }];
}

function run(overrides: Partial<CheckInput>): ReturnType<typeof check> {
  return check({ attempts: [], final: new Map(), live: [], loadStartedAt: 0, loadStoppedAt: 100, ...overrides });
}

describe("chaos checker", () => {
  test("a clean history has no anomalies", () => {
    const attempts = [ok(0, 0, 0, 0), ok(0, 1, 0, 1), ok(1, 0, 1, 0)];
    const report = run({ attempts, final: log(["p0-0", "p0-1"], ["p1-0"]), live: reads([[0, "p0-0"], [1, "p0-1"]]) });
    expect(report.anomalyCount).toBe(0);
    expect(report.stats).toMatchObject({ attempts: 3, ok: 3, recordsInLog: 3, liveReads: 2 });
  });

  test("an acknowledged record missing from the log is lost", () => {
    const report = run({ attempts: [ok(0, 0, 0, 0), ok(0, 1, 0, 1)], final: log(["p0-0"]) });
    expect(report.anomalies.lost.count).toBe(1);
    expect(report.anomalies.lost.examples[0]).toContain("p0-1 acknowledged at 0/1");
  });

  test("an acknowledged offset holding another record is inconsistent", () => {
    const attempts = [ok(0, 0, 0, 0), ok(1, 0, 0, 0)];
    const report = run({ attempts, final: log(["p0-0", "p1-0"]) });
    expect(report.anomalies.inconsistentOffsets.count).toBe(1);
    expect(report.anomalies.inconsistentOffsets.examples[0]).toContain("0/0 acknowledged as p1-0, but the log holds p0-0");
    expect(report.anomalies.lost.count).toBe(0);
  });

  test("one id at two offsets is a duplicate", () => {
    const report = run({ attempts: [ok(0, 0, 0, 0)], final: log(["p0-0", "p0-0"]) });
    expect(report.anomalies.duplicated.count).toBe(1);
  });

  test("a definite failure in the log is reported; an unknown outcome in the log is only counted", () => {
    const attempts: Attempt[] = [
      { producer: 0, seq: 0, value: "p0-0", key: "k", sentAt: 0, settledAt: 5, outcome: "failed", error: "INVALID_RECORD" },
      { producer: 0, seq: 1, value: "p0-1", key: "k", sentAt: 1, settledAt: 5, outcome: "unknown", error: "REQUEST_TIMED_OUT" },
    ];
    const report = run({ attempts, final: log(["p0-0", "p0-1"]) });
    expect(report.anomalies.failedButRead.count).toBe(1);
    expect(report.stats).toMatchObject({ failed: 1, unknown: 1, unknownInLog: 1 });
  });

  test("a failed write only the live reader saw is reported too", () => {
    const attempts: Attempt[] = [{ producer: 0, seq: 0, value: "p0-0", key: "k", sentAt: 0, outcome: "failed", error: "INVALID_RECORD" }];
    const report = run({ attempts, final: log([]), live: reads([[0, "p0-0"]]) });
    expect(report.anomalies.failedButRead.count).toBe(1);
    expect(report.anomalies.inconsistentOffsets.count).toBe(1);
  });

  test("a live reader's offsets going backwards or skipping, and reads the final log contradicts", () => {
    const attempts = [ok(0, 0, 0, 0), ok(0, 1, 0, 1), ok(0, 2, 0, 2)];
    const final = log(["p0-0", "p0-1", "p0-2"]);
    expect(run({ attempts, final, live: reads([[0, "p0-0"], [1, "p0-1"], [1, "p0-1"]]) }).anomalies.nonMonotonic.count).toBe(1);
    expect(run({ attempts, final, live: reads([[0, "p0-0"], [2, "p0-2"]]) }).anomalies.skipped.count).toBe(1);
    expect(run({ attempts, final, live: reads([[1, "p0-1"]]) }).anomalies.skipped.count).toBe(1);
    const contradicted = run({ attempts, final, live: reads([[0, "p0-0"], [1, "p0-2"]]) });
    expect(contradicted.anomalies.inconsistentOffsets.count).toBe(1);
  });

  test("a final log whose offsets are not 0, 1, 2, … is reported", () => {
    const final: FinalLog = new Map([[0, { offsets: [0, 2], values: ["p0-0", "p0-1"] }]]);
    const report = run({ attempts: [ok(0, 0, 0, 0), ok(0, 1, 0, 2)], final });
    expect(report.anomalies.skipped.count).toBe(1);
  });

  test("one producer's acknowledged records out of send order in a partition are reordered", () => {
    const report = run({ attempts: [ok(0, 0, 0, 1), ok(0, 1, 0, 0)], final: log(["p0-1", "p0-0"]) });
    expect(report.anomalies.reordered.count).toBe(1);
    // Different producers may interleave freely.
    expect(run({ attempts: [ok(0, 0, 0, 1), ok(1, 0, 0, 0)], final: log(["p1-0", "p0-0"]) }).anomalyCount).toBe(0);
  });

  test("records nobody sent are unexpected", () => {
    expect(run({ attempts: [], final: log(["garbage"]) }).anomalies.unexpected.count).toBe(1);
  });

  test("epoch regressions found on disk and a log that changed across a crash-restart are anomalies", () => {
    const attempts = [ok(0, 0, 0, 0), ok(0, 1, 0, 1)];
    const final = log(["p0-0", "p0-1"]);
    expect(run({ attempts, final, epochRegressions: ["partition 0: offset 1 written at epoch 2, after offset 0 at epoch 3"] }).anomalies.epochRegression.count).toBe(1);
    expect(run({ attempts, final, reread: log(["p0-0", "p0-1"]) }).anomalyCount).toBe(0);
    expect(run({ attempts, final, reread: log(["p0-0"]) }).anomalies.restartDivergence.count).toBe(1);
    expect(run({ attempts, final, reread: log(["p0-1", "p0-0"]) }).anomalies.restartDivergence.count).toBe(2);
  });

  test("max unavailability is the longest gap between acknowledgements, edges included", () => {
    const attempts = [ok(0, 0, 0, 0, 10), ok(0, 1, 0, 1, 20), ok(0, 2, 0, 2, 70), ok(0, 3, 0, 3, 80)];
    const report = run({ attempts, final: log(["p0-0", "p0-1", "p0-2", "p0-3"]), loadStartedAt: 0, loadStoppedAt: 90 });
    expect(report.stats.maxUnavailabilityMs).toBe(50);
    expect(report.stats.maxUnavailabilityFromMs).toBe(20);
    expect(run({ attempts: [], final: log([]), loadStartedAt: 0, loadStoppedAt: 90 }).stats.maxUnavailabilityMs).toBe(90);
  });
});
