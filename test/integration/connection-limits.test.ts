/**
 * Limits on what connections may hold (see src/net/receive-limits.ts), on
 * the compiled broker: a maximum number of connections, a budget for the
 * bytes of partly received frames across all connections, and a frame
 * deadline (a frame trickled in too slowly, or a connection that never sends
 * one, is closed; one that sent a request may then stay quiet). After each,
 * a normal client still works.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { assertBrokerServes } from "./client-check";
import { vmRssBytes } from "./garbage";
import { cleanUpAfterThisFile, startStandaloneBroker, waitUntil, withTimeout } from "./harness";
import { openRawSocket, requestFrame, type RawSocket } from "./raw-socket";

setDefaultTimeout(60_000);
cleanUpAfterThisFile();

const MiB = 1024 * 1024;

async function openMany(port: number, count: number): Promise<RawSocket[]> {
  return Promise.all(Array.from({ length: count }, () => openRawSocket(port)));
}

describe("connection limits", () => {
  test("--max-connections: connections beyond the limit are closed at once, those within keep working", async () => {
    const broker = await startStandaloneBroker(["--max-connections", "20"]);
    const held = await openMany(broker.port, 20);
    for (const socket of held) expect((await socket.request("metadata", {})).envelope).toMatchObject({ kind: "response", error: null });
    const refused = await openMany(broker.port, 5);
    await Promise.all(refused.map((socket) => withTimeout(socket.closed, 5000, "the broker to close a connection over the limit")));
    for (const socket of refused) expect(socket.receivedBytes).toBe(0);
    // The held ones were not disturbed.
    expect((await held[0]!.request("metadata", {})).envelope).toMatchObject({ kind: "response", error: null });
    expect(held.every((s) => !s.isClosed)).toBe(true);
    // Room again: a normal client (it opens a few connections) works.
    for (const socket of held.splice(0, 10)) socket.end();
    await waitUntil(async () => {
      const probe = await openRawSocket(broker.port);
      try {
        await probe.request("metadata", {});
        return true;
      } catch {
        return false;
      } finally {
        probe.end();
      }
    }, 10_000, "a free connection slot");
    await assertBrokerServes(broker);
    for (const socket of held) socket.end();
  });

  test("partly received frames across all connections are capped: past --max-receive-buffer-bytes a connection is closed, memory stays bounded", async () => {
    const broker = await startStandaloneBroker(["--max-receive-buffer-bytes", String(16 * MiB), "--max-frame-bytes", String(64 * MiB)]);
    const before = vmRssBytes(broker.proc.pid);
    // 40 connections each declare a 64 MiB frame and send 4 MiB of it: 160 MiB would be held without the cap.
    const senders = await openMany(broker.port, 40);
    const head = new Uint8Array(4 * MiB);
    new DataView(head.buffer).setUint32(0, 64 * MiB);
    for (const socket of senders) socket.write(head);
    await Promise.all(senders.map((socket) => socket.flushed()));
    await waitUntil(() => senders.filter((s) => s.isClosed).length >= 35, 10_000, "the connections over the budget to be closed");
    await broker.waitForLog(/partly received frames across all connections exceed 16777216 bytes/);
    const growth = vmRssBytes(broker.proc.pid) - before;
    console.log(`receive budget: ${senders.filter((s) => s.isClosed).length} of 40 half-sent 64 MiB frames closed; broker RSS growth ${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(100 * MiB);
    for (const socket of senders) socket.end();
    await assertBrokerServes(broker);
  });

  test("--frame-timeout-ms: a frame trickled in too slowly and a connection that never sends one are closed; one that sent a request may stay quiet", async () => {
    const broker = await startStandaloneBroker(["--frame-timeout-ms", "1000"]);
    const established = await openRawSocket(broker.port);
    await established.request("metadata", {});
    const silent = await openRawSocket(broker.port);
    const trickler = await openRawSocket(broker.port);
    const frame = requestFrame("metadata", {});
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < frame.length - 1) trickler.write(frame.subarray(sent, ++sent)); // never the last byte
    }, 50);
    try {
      await withTimeout(Promise.all([trickler.closed, silent.closed]), 10_000, "the slow and the silent connections to be closed");
    } finally {
      clearInterval(trickle);
    }
    await broker.waitForLog(/connection closed .*reason=a frame was still incomplete 1000 ms after it began .*sent too slowly/);
    await broker.waitForLog(/connection closed .*reason=no request within 1000 ms of connecting/);
    // The established connection outlived the deadline (it is as old as the others) and still works.
    expect(established.isClosed).toBe(false);
    expect((await established.request("metadata", {})).envelope).toMatchObject({ kind: "response", error: null });
    established.end();
    await assertBrokerServes(broker);
  });
});
