/**
 * Real fsync failures (strace makes every fdatasync of one broker fail with
 * EIO): the disk is unusable, so the broker acknowledges nothing more — on
 * any partition — and
 *   - standalone: it goes on serving reads and probes the disk; once fsync
 *     works again it reopens its logs at a new epoch and accepts writes;
 *   - in a cluster: it steps down, the other broker takes over and serves,
 *     and the failed one stays out of elections until its disk works again,
 *     then rejoins as a standby (the healthy leader is not pre-empted).
 * Nothing acknowledged is ever lost.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { RpcConnection } from "../../src/net/rpc-connection";
import { API } from "../../src/protocol/api";
import { TestCluster, waitForView } from "./cluster-harness";
import { cleanUpAfterThisFile, runCli, startStandaloneBroker } from "./harness";
import { openRawSocket, type RawSocket } from "./raw-socket";
import { detachAfterThisFile, failFsyncs, fsyncFaultSupport } from "./disk/fsync-faults";
import { type Outcome, ProduceLog, readRecords } from "./disk/produce-log";

setDefaultTimeout(120_000);
cleanUpAfterThisFile();
detachAfterThisFile();

// A failed test still detaches strace before its broker is killed (a tracer left on a dead tracee hangs).
const stopFaults: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stopFaults.splice(0)) await stop();
});

const unsupported = fsyncFaultSupport();
if (unsupported !== null) console.warn(`SKIPPED fsync failure tests: ${unsupported}`);

async function highWatermark(port: number, topic: string, partition = 0): Promise<number> {
  const connection = await RpcConnection.connect({ host: "127.0.0.1", port, requestTimeoutMs: 5000 });
  try {
    const { body } = await connection.request(API.describeTopic, { name: topic });
    return (body as { partitions: { highWatermark: number }[] }).partitions[partition]!.highWatermark;
  } finally {
    connection.close();
  }
}

/** strace holds every thread only a moment after it says it attached: produce until the fault bites (acknowledged ones are kept). */
async function produceUntilRefused(log: ProduceLog, socket: RawSocket, partition = 0): Promise<Outcome> {
  const giveUpAt = performance.now() + 15_000;
  for (;;) {
    const outcome = await log.produce(socket, 10, partition);
    if (outcome.error !== undefined || performance.now() > giveUpAt) return outcome;
  }
}

async function acknowledgedAll(log: ProduceLog, socket: RawSocket, requests: number, partition = 0): Promise<void> {
  for (let i = 0; i < requests; i++) expect((await log.produce(socket, 10, partition)).error).toBeUndefined();
}

describe.skipIf(unsupported !== null)("fsync fails (EIO)", () => {
  test("standalone: nothing more is acknowledged on any partition, reads go on, and once fsync works the logs reopen at a new epoch", async () => {
    const broker = await startStandaloneBroker();
    expect((await runCli(["topics", "create", "--topic", "sync", "--partitions", "2", "--broker", broker.address])).exitCode).toBe(0);
    const logs = [new ProduceLog("sync"), new ProduceLog("sync")];
    const socket = await openRawSocket(broker.port);
    for (const p of [0, 1]) await acknowledgedAll(logs[p]!, socket, 10, p);

    const fault = await failFsyncs(broker.proc.pid);
    stopFaults.push(() => fault.stop());
    expect((await produceUntilRefused(logs[0]!, socket)).error).toBe("STORAGE_ERROR");
    await broker.waitForLog(/the disk is unusable: acknowledging nothing more .*fsync failed \(EIO\)/);
    // Partition 1 never saw a failed fsync of its own, and still acknowledges nothing.
    expect((await logs[1]!.produce(socket, 10, 1)).error).toBe("STORAGE_ERROR");
    // Reads go on meanwhile.
    for (const p of [0, 1]) logs[p]!.expectLogMatches(await readRecords(broker.port, "sync", await highWatermark(broker.port, "sync", p), p), true);

    await fault.stop();
    await broker.waitForLog(/logs reopened after the disk was unusable .*epoch=2/);
    const again = await openRawSocket(broker.port);
    for (const p of [0, 1]) {
      await acknowledgedAll(logs[p]!, again, 5, p);
      logs[p]!.expectLogMatches(await readRecords(broker.port, "sync", await highWatermark(broker.port, "sync", p), p), true);
    }
    again.end();
    socket.end();
    expect(await broker.stop()).toBe(0);
  });

  test("cluster: the active broker steps down, the other takes over and serves; the failed one rejoins as a standby once fsync works", async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2], sessionTimeoutMs: 1000 });
    const first = await cluster.waitForActive(2);
    const broker2 = cluster.broker(2);
    expect((await runCli(["topics", "create", "--topic", "sync", "--partitions", "1", "--zookeeper", cluster.zkAddress])).exitCode).toBe(0);
    const log = new ProduceLog("sync");
    const socket2 = await openRawSocket(broker2.port);
    await acknowledgedAll(log, socket2, 10);

    const fault = await failFsyncs(broker2.pid);
    stopFaults.push(() => fault.stop());
    // Refused: STORAGE_ERROR, or NOT_LEADER when the step-down came first (an acknowledgement needs leadership too).
    const failed = await produceUntilRefused(log, socket2);
    expect(["STORAGE_ERROR", "NOT_LEADER"]).toContain(failed.error!);
    await broker2.waitForLog(/the disk is unusable: stepping down and staying out of elections/);
    const second = await cluster.waitForActive(1, 15_000);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    await cluster.broker(1).waitForLog(/takeover complete/);
    // Broker 2 answers NOT_LEADER now; broker 1 acknowledges.
    expect((await log.produce(socket2)).error).toBe("NOT_LEADER");
    const socket1 = await openRawSocket(cluster.broker(1).port);
    await acknowledgedAll(log, socket1, 10);
    log.expectLogMatches(await readRecords(cluster.broker(1).port, "sync", await highWatermark(cluster.broker(1).port, "sync")), true);

    // fsync works again: broker 2 takes part in elections again, as a standby; broker 1 stays active.
    await fault.stop();
    await broker2.waitForLog(/the disk works again: taking part in elections/);
    await broker2.waitForLog(/following leader=1/);
    const view = await waitForView(cluster.zkAddress, (v) => v.view.brokers.every((b) => b.alive), 5000, "both brokers alive");
    expect(view.view.activeBrokerId).toBe(1);
    await acknowledgedAll(log, socket1, 5);
    socket1.end();
    socket2.end();
  });
});
