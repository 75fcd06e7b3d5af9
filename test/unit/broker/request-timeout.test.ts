/**
 * The broker's request deadline, in process with a disk whose fdatasync
 * hangs until released (the FileIO seam): an acks=all produce is answered
 * REQUEST_TIMED_OUT at the deadline instead of waiting as long as the disk
 * does, other requests on the same connection are answered meanwhile, the
 * late result is dropped (one answer per request), and once the disk is
 * back produce is acknowledged again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Broker } from "../../../src/broker/broker";
import { KafkaCloneError } from "../../../src/errors";
import { RpcConnection } from "../../../src/net/rpc-connection";
import { API } from "../../../src/protocol/api";
import { produce, stallingIO } from "./hanging-disk";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("request deadline", () => {
  test("a produce waiting on a hung fsync gets REQUEST_TIMED_OUT at the deadline; the connection serves on", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-deadline-"));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const io = stallingIO();
    const broker = new Broker({ id: 1, host: "127.0.0.1", port: 0, dataDir, maxFrameBytes: 1024 * 1024, requestTimeoutMs: 300, io, checkpointIntervalMs: 0 });
    broker.listen();
    cleanups.push(() => broker.stop());
    cleanups.push(() => io.release());
    await broker.becomeActive(1);
    broker.logs!.createTopic("t", 1);
    const connection = await RpcConnection.connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 10_000 });
    cleanups.push(() => connection.close());
    expect((await produce(connection, "before")).baseOffsets).toEqual([0]);

    io.stalled = true;
    const started = performance.now();
    const stuck = produce(connection, "stuck").then(
      () => null,
      (error: KafkaCloneError) => error,
    );
    const metadata = await connection.request(API.metadata, {});
    expect((metadata.body as { role: string }).role).toBe("active");
    const error = await stuck;
    const waited = performance.now() - started;
    expect(error?.code).toBe("REQUEST_TIMED_OUT");
    expect(error?.message).toContain("whether it took effect is unknown");
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3000);

    // The disk comes back: the stuck write completes (its late answer is dropped) and produce is acknowledged again.
    io.release();
    const after = await produce(connection, "after");
    expect(after.error).toBeUndefined();
    expect(after.baseOffsets).toEqual([2]);
  });
});
