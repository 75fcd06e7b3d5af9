/**
 * A data directory on a small tmpfs that fills up (a real ENOSPC): produce
 * is refused with STORAGE_ERROR and nothing refused is in the log (the
 * failed write is cut back off), every acknowledged record stays readable
 * while the disk is full, writes resume once space is freed, and the log
 * reopens cleanly after a restart. A full disk is not an unusable one: the
 * broker keeps serving throughout.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cleanUpAfterThisFile, runCli, startStandaloneBroker, type ServerProcess } from "./harness";
import { openRawSocket, type RawSocket } from "./raw-socket";
import { fillUp, freeBytes, mountSupport, mountTmpfs, skipMessage, unmountAfterThisFile } from "./disk/mounts";
import { ProduceLog, readRecords } from "./disk/produce-log";

setDefaultTimeout(120_000);
cleanUpAfterThisFile();
unmountAfterThisFile();

const MiB = 1024 * 1024;
const unsupported = mountSupport();
if (unsupported !== null) console.warn(skipMessage("disk-full tests"));

async function logEnd(socket: RawSocket, topic: string): Promise<number> {
  const answer = await socket.request("describeTopic", { name: topic });
  return (answer.envelope as { body: { partitions: { highWatermark: number }[] } }).body.partitions[0]!.highWatermark;
}

describe.skipIf(unsupported !== null)("a disk that fills up (tmpfs, ENOSPC)", () => {
  let mount: string;
  let dataDir: string;
  let broker: ServerProcess;
  // Small segments, so the disk also fills up while a segment rolls.
  const brokerArgs = ["--segment-bytes", String(256 * 1024)];

  beforeAll(async () => {
    mount = mountTmpfs(8 * MiB);
    dataDir = path.join(mount, "data");
    broker = await startStandaloneBroker(brokerArgs, dataDir);
    expect((await runCli(["topics", "create", "--topic", "full", "--partitions", "1", "--broker", broker.address])).exitCode).toBe(0);
  });

  test("produce fails with STORAGE_ERROR, nothing refused is in the log, reads go on, writes resume when space is freed, the log reopens cleanly", async () => {
    const log = new ProduceLog("full", 1024);
    const socket = await openRawSocket(broker.port);
    for (let i = 0; i < 20; i++) expect((await log.produce(socket)).offset).toBeDefined();

    const filler = fillUp(mount, 512 * 1024);
    // ~10 KiB per request: the half MiB left runs out within 60 requests; keep going to hit it several times.
    for (let i = 0; i < 400 && log.refused.length < 10; i++) await log.produce(socket);
    console.log(`disk full: ${log.acknowledged.length} requests acknowledged, ${log.refused.length} refused, ${freeBytes(mount)} bytes free`);
    expect(log.refused.length).toBeGreaterThanOrEqual(10);
    expect(new Set(log.refused.map((o) => o.error))).toEqual(new Set(["STORAGE_ERROR"]));
    await broker.waitForLog(/storage error.*ENOSPC/);

    // Creating a topic on the (now completely) full disk is refused the same way, leaving nothing behind.
    const lastBytes = fillUp(mount, 0, "last-bytes");
    const create = await socket.request("createTopic", { name: "no-room", partitions: 8 });
    expect((create.envelope as { error: { code: string } | null }).error?.code).toBe("STORAGE_ERROR");
    expect(fs.existsSync(path.join(dataDir, "topics", "no-room"))).toBe(false);
    fs.rmSync(lastBytes);

    // Reads keep working on the full disk, and show exactly the acknowledged records.
    const whileFull = await readRecords(broker.port, "full", await logEnd(socket, "full"));
    log.expectLogMatches(whileFull);
    expect(socket.isClosed).toBe(false);

    // Space comes back: writes resume on the same connection.
    fs.rmSync(filler);
    const resumed = await log.produce(socket);
    expect(resumed.error).toBeUndefined();
    expect(resumed.offset).toBe(whileFull.size);
    for (let i = 0; i < 5; i++) expect((await log.produce(socket)).offset).toBeDefined();
    socket.end();

    // A clean stop and a restart on the same disk: every acknowledged record, nothing torn, nothing refused.
    expect(await broker.stop()).toBe(0);
    broker = await startStandaloneBroker(brokerArgs, dataDir);
    const check = await openRawSocket(broker.port);
    const end = await logEnd(check, "full");
    const reopened = await readRecords(broker.port, "full", end);
    expect(reopened.size).toBe(log.acknowledged.reduce((sum, o) => sum + o.count, 0));
    log.expectLogMatches(reopened);
    expect(broker.stderr()).not.toMatch(/torn tail|CORRUPT|invalid batch/);
    expect((await log.produce(check)).offset).toBe(end);
    check.end();
  });
});
