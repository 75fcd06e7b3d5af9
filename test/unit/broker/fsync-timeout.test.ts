/**
 * A disk that hangs instead of failing (an fdatasync that never returns,
 * through the FileIO seam): after the fsync timeout the disk counts as
 * unusable, so the waiting produce and every later one get STORAGE_ERROR
 * rather than waiting as long as the disk does, reads go on, and once the
 * disk answers again the standalone broker reopens its logs at the next
 * epoch and acknowledges again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Broker } from "../../../src/broker/broker";
import { RpcConnection } from "../../../src/net/rpc-connection";
import { produce, stallingIO } from "./hanging-disk";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe("fsync timeout", () => {
  test("an fsync that does not return makes the disk unusable: STORAGE_ERROR instead of a wait, reads go on, the logs reopen once the disk answers", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-fsync-timeout-"));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const io = stallingIO();
    const broker = new Broker({ id: 1, host: "127.0.0.1", port: 0, dataDir, maxFrameBytes: 1 << 20, io, fsyncTimeoutMs: 300, requestTimeoutMs: 0, checkpointIntervalMs: 0 });
    broker.listen();
    cleanups.push(() => broker.stop());
    cleanups.push(() => io.release());
    await broker.becomeActive(1);
    broker.logs!.createTopic("t", 1);
    const connection = await RpcConnection.connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 10_000 });
    cleanups.push(() => connection.close());
    expect((await produce(connection, "durable")).baseOffsets).toEqual([0]);

    io.stalled = true;
    const started = performance.now();
    const stuck = await produce(connection, "stuck");
    const waited = performance.now() - started;
    expect(stuck.error?.code).toBe("STORAGE_ERROR");
    expect(stuck.error?.message).toContain("an fsync has not returned for");
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(5000);
    // Refused at once from now on; reads of what is durable go on.
    expect((await produce(connection, "refused")).error?.code).toBe("STORAGE_ERROR");
    expect(broker.logs!.partition("t", 0).read(0, 1 << 20).data.length).toBeGreaterThan(0);

    // The disk answers again: the broker reopens its logs at epoch 2 and acknowledges.
    io.release();
    await waitFor(() => broker.epoch === 2, "the logs to be reopened at epoch 2");
    const after = await produce(connection, "after");
    expect(after.error).toBeUndefined();
    expect(after.baseOffsets![0]).toBeGreaterThanOrEqual(1);
  });
});
