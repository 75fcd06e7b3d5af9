/**
 * Slow and idle clients must leave everyone else's latency intact. A normal
 * client's workload — sequential acks=all produce requests, then a consumer
 * reading them back — is measured alone, then again while the broker holds
 * 10,000 idle connections (half of them after one request, half silent),
 * slowloris connections trickling a frame a byte at a time, and connections
 * parked in the middle of a declared 1 MiB frame. The assertions are
 * generous bounds (every request done, p99 and total within a wide factor
 * of the same run's baseline), not timings that flake under load; the
 * figures are printed.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import { Consumer } from "../../src/client/consumer";
import { RpcConnection } from "../../src/net/rpc-connection";
import { API } from "../../src/protocol/api";
import { encodeBatch } from "../../src/log/record-codec";
import { assertBrokerServes } from "./client-check";
import { vmRssBytes } from "./garbage";
import { cleanUpAfterThisFile, runCli, startStandaloneBroker, withTimeout, type ServerProcess } from "./harness";
import { openRawSocket, requestFrame, type RawSocket } from "./raw-socket";

setDefaultTimeout(180_000);
cleanUpAfterThisFile();

const IDLE = 10_000;
const SLOWLORIS = 50;
const PARKED = 20;
const REQUESTS = 300;
const MiB = 1024 * 1024;

function openFileLimit(): number {
  const match = /Max open files\s+(\d+|unlimited)/.exec(fs.readFileSync("/proc/self/limits", "utf8"));
  return !match || match[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(match[1]);
}

const needed = IDLE + SLOWLORIS + PARKED + 500;
const unsupported = openFileLimit() < needed ? `ulimit -n is ${openFileLimit()}, below the ${needed} this test needs (raise it: ulimit -n ${needed})` : null;
if (unsupported !== null) console.warn(`SKIPPED slow-client latency test: ${unsupported}`);

interface Figures {
  p50: number;
  p99: number;
  produceMs: number;
  consumeMs: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** REQUESTS sequential produce round trips (acks=all), then a consumer reading them back. */
async function workload(broker: ServerProcess, topic: string): Promise<Figures> {
  const connection = await RpcConnection.connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 30_000 });
  const latencies: number[] = [];
  const started = performance.now();
  let firstOffset = -1;
  try {
    for (let i = 0; i < REQUESTS; i++) {
      const batch = encodeBatch([{ value: new TextEncoder().encode(`${topic}-${i}`) }]);
      const sent = performance.now();
      const { body } = await connection.request(API.produce, { topic, acks: "all", partitions: [{ partition: 0, bytes: batch.length }] }, [batch]);
      latencies.push(performance.now() - sent);
      const result = (body as { partitions: { baseOffsets?: number[]; error?: unknown }[] }).partitions[0]!;
      expect(result.error).toBeUndefined();
      if (firstOffset < 0) firstOffset = result.baseOffsets![0]!;
    }
  } finally {
    connection.close();
  }
  const produceMs = performance.now() - started;
  const consumeStarted = performance.now();
  const consumer = new Consumer({ bootstrap: [{ host: "127.0.0.1", port: broker.port }], topic, partitions: [0], startOffsets: new Map([[0, firstOffset]]) });
  let read = 0;
  try {
    await consumer.start();
    await withTimeout((async () => {
      for await (const batch of consumer.batches()) {
        read += batch.length;
        if (read >= REQUESTS) return;
      }
    })(), 60_000, "reading the workload back");
  } finally {
    consumer.close();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), produceMs, consumeMs: performance.now() - consumeStarted };
}

const describeFigures = (f: Figures) =>
  `produce p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ${REQUESTS} requests in ${f.produceMs.toFixed(0)} ms; read back in ${f.consumeMs.toFixed(0)} ms`;

describe.skipIf(unsupported !== null)("slow and idle clients", () => {
  test(`${IDLE.toLocaleString("en")} idle connections, slowloris and parked half frames leave a normal client's latency intact`, async () => {
    const broker = await startStandaloneBroker(["--max-connections", String(IDLE + SLOWLORIS + PARKED + 100)]);
    for (const topic of ["baseline", "attacked"]) {
      expect((await runCli(["topics", "create", "--topic", topic, "--partitions", "1", "--broker", broker.address])).exitCode).toBe(0);
    }
    await workload(broker, "baseline"); // warm-up: the first run pays for JIT compilation on both sides
    const baseline = await workload(broker, "baseline");
    const rssBefore = vmRssBytes(broker.proc.pid);

    const attackers: RawSocket[] = [];
    const metadata = requestFrame(API.metadata, {});
    for (let opened = 0; opened < IDLE; opened += 500) {
      const wave = await Promise.all(Array.from({ length: Math.min(500, IDLE - opened) }, () => openRawSocket(broker.port, { decode: false })));
      wave.forEach((socket, i) => {
        if (i % 2 === 0) socket.write(metadata); // half have said something once and then gone quiet
      });
      attackers.push(...wave);
    }
    const slow = await Promise.all(Array.from({ length: SLOWLORIS }, () => openRawSocket(broker.port, { decode: false })));
    const frame = requestFrame(API.metadata, { topics: ["x".repeat(200)] });
    let at = 0;
    const trickle = setInterval(() => {
      if (at < frame.length - 1) at++; // never the last byte
      for (const socket of slow) socket.write(frame.subarray(at - 1, at));
    }, 20);
    const parked = await Promise.all(Array.from({ length: PARKED }, () => openRawSocket(broker.port, { decode: false })));
    const half = new Uint8Array(512 * 1024);
    new DataView(half.buffer).setUint32(0, MiB);
    for (const socket of parked) socket.write(half);
    attackers.push(...slow, ...parked);

    let attacked: Figures;
    try {
      attacked = await workload(broker, "attacked");
    } finally {
      clearInterval(trickle);
    }
    const open = attackers.filter((s) => !s.isClosed).length;
    const rssGrowth = vmRssBytes(broker.proc.pid) - rssBefore;
    console.log(`baseline: ${describeFigures(baseline)}`);
    console.log(`under attack (${open} attacking connections open): ${describeFigures(attacked)}`);
    console.log(`ratios under attack / baseline: p50 ${(attacked.p50 / baseline.p50).toFixed(2)}, p99 ${(attacked.p99 / baseline.p99).toFixed(2)}, produce total ${(attacked.produceMs / baseline.produceMs).toFixed(2)}; broker RSS +${(rssGrowth / MiB).toFixed(1)} MiB for the attack`);
    // Every attacking connection was held (none refused), and the normal client stayed within generous bounds.
    expect(open).toBe(IDLE + SLOWLORIS + PARKED);
    expect(attacked.p99).toBeLessThan(Math.max(20 * baseline.p99, baseline.p99 + 100));
    expect(attacked.produceMs).toBeLessThan(Math.max(10 * baseline.produceMs, baseline.produceMs + 5000));
    expect(attacked.consumeMs).toBeLessThan(Math.max(10 * baseline.consumeMs, baseline.consumeMs + 5000));

    for (const socket of attackers) socket.end();
    await assertBrokerServes(broker);
  });
});
