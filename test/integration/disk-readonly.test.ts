/**
 * A data directory on an ext4 file system that turns read-only under the
 * running broker (ext4's errors=remount-ro path, as after a disk error):
 * produce is refused with STORAGE_ERROR from then on (on every partition:
 * the disk is unusable, so the broker acknowledges nothing more until it has
 * reopened its logs), every acknowledged record stays readable, the broker
 * shuts down cleanly, and after fsck and a fresh mount the log reopens with
 * every acknowledged record.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import path from "node:path";
import { cleanUpAfterThisFile, runCli, startStandaloneBroker, type ServerProcess } from "./harness";
import { openRawSocket, type RawSocket } from "./raw-socket";
import { type Ext4Mount, mountExt4, mountSupport, skipMessage, unmountAfterThisFile } from "./disk/mounts";
import { ProduceLog, readRecords } from "./disk/produce-log";

setDefaultTimeout(120_000);
cleanUpAfterThisFile();
unmountAfterThisFile();

const unsupported = mountSupport();
if (unsupported !== null) console.warn(skipMessage("read-only disk tests"));

async function highWatermarks(socket: RawSocket, topic: string): Promise<number[]> {
  const answer = await socket.request("describeTopic", { name: topic });
  return (answer.envelope as { body: { partitions: { highWatermark: number }[] } }).body.partitions.map((p) => p.highWatermark);
}

describe.skipIf(unsupported !== null)("a disk that turns read-only (ext4 errors=remount-ro, EROFS)", () => {
  let disk: Ext4Mount;
  let dataDir: string;
  let broker: ServerProcess;

  beforeAll(async () => {
    disk = mountExt4(64);
    dataDir = path.join(disk.dir, "data");
    broker = await startStandaloneBroker([], dataDir);
    expect((await runCli(["topics", "create", "--topic", "ro", "--partitions", "2", "--broker", broker.address])).exitCode).toBe(0);
  });

  test("produce fails with STORAGE_ERROR on every partition, reads go on, the broker stops cleanly, the repaired log reopens with every acknowledged record", async () => {
    const logs = [new ProduceLog("ro"), new ProduceLog("ro")];
    const socket = await openRawSocket(broker.port);
    for (let i = 0; i < 10; i++) for (const p of [0, 1]) expect((await logs[p]!.produce(socket, 10, p)).offset).toBeDefined();

    disk.failReadOnly();
    expect(disk.isReadOnly()).toBe(true);
    for (let i = 0; i < 5; i++) {
      for (const p of [0, 1]) expect((await logs[p]!.produce(socket, 10, p)).error).toBe("STORAGE_ERROR");
    }
    await broker.waitForLog(/storage error.*EROFS/);
    await broker.waitForLog(/the disk is unusable: acknowledging nothing more/);

    // Reads keep working: exactly the acknowledged records.
    const ends = await highWatermarks(socket, "ro");
    for (const p of [0, 1]) logs[p]!.expectLogMatches(await readRecords(broker.port, "ro", ends[p]!, p), true);
    socket.end();

    // SIGTERM: a clean exit even though nothing can be written, and no stack trace.
    expect(await broker.stop()).toBe(0);
    expect(broker.stderr()).not.toMatch(/^\s+at /m);

    const fsck = disk.repair();
    expect(disk.isReadOnly()).toBe(false);
    broker = await startStandaloneBroker([], dataDir);
    const check = await openRawSocket(broker.port);
    const reopenedEnds = await highWatermarks(check, "ro");
    for (const p of [0, 1]) {
      const records = await readRecords(broker.port, "ro", reopenedEnds[p]!, p);
      logs[p]!.expectLogMatches(records, true);
      expect(records.size).toBeGreaterThanOrEqual(100);
      expect((await logs[p]!.produce(check, 10, p)).offset).toBe(reopenedEnds[p]);
    }
    expect(broker.stderr()).not.toMatch(/CORRUPT|invalid batch/);
    check.end();
    console.log(`read-only disk, fsck: ${fsck.split("\n").filter((line) => /files|blocks/.test(line)).join(" ")}`);
  });
});
