/**
 * /metrics on the compiled binary: a standalone broker scraped while a
 * producer runs (its counters rise to exactly what was produced), and a
 * zookeeper's per-broker heartbeat age and elections.
 */
import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Consumer } from "../../src/client/consumer";
import { Producer } from "../../src/client/producer";
import { RpcConnection } from "../../src/net/rpc-connection";
import { API } from "../../src/protocol/api";
import { startClusterBroker } from "./cluster-harness";
import { cleanUpAfterThisFile, startServer, startStandaloneBroker, tempDir, waitUntil } from "./harness";
import { sampleValue, scrape } from "./prometheus-text";

cleanUpAfterThisFile();

const encoder = new TextEncoder();
const ROUNDS = 5;
const PER_ROUND = 2_000;

describe("Prometheus metrics", () => {
  test("a broker's counters rise while producing and end at what was produced and consumed", async () => {
    const broker = await startStandaloneBroker(["--metrics-port", "0"]);
    const metricsPort = Number(broker.ready.metricsPort);
    expect(metricsPort).toBeGreaterThan(0);
    const bootstrap = [{ host: "127.0.0.1", port: broker.port }];
    const admin = new Admin({ bootstrap });
    await admin.createTopic("metered", 2);
    admin.close();

    const first = await scrape(metricsPort);
    expect(first.contentType).toContain("text/plain");
    expect(sampleValue(first.samples, "kafka_clone_broker_active")).toBe(1);
    expect(sampleValue(first.samples, "kafka_clone_takeovers_total")).toBe(1);
    expect(sampleValue(first.samples, "process_cpu_seconds_total")).toBeGreaterThan(0);

    const producer = new Producer({ bootstrap, acks: "all" });
    const seen: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sends = Array.from({ length: PER_ROUND }, (_, i) => producer.send("metered", { key: encoder.encode(String(i)), value: encoder.encode(`round ${round} record ${i}`) }));
      // Scrapes while the round's records are in flight must parse and never go backwards.
      const during = await scrape(metricsPort);
      seen.push(sampleValue(during.samples, "kafka_clone_produced_records_total", { topic: "metered" }));
      await Promise.all(sends);
      const after = await scrape(metricsPort);
      expect(sampleValue(after.samples, "kafka_clone_produced_records_total", { topic: "metered" })).toBe((round + 1) * PER_ROUND);
    }
    await producer.close();
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);

    const total = ROUNDS * PER_ROUND;
    const consumer = new Consumer({ bootstrap, topic: "metered", start: { type: "earliest" } });
    await consumer.start();
    let consumed = 0;
    for await (const batch of consumer.batches()) {
      consumed += batch.length;
      if (consumed >= total) break;
    }
    consumer.close();

    const { samples } = await scrape(metricsPort);
    expect(sampleValue(samples, "kafka_clone_produced_records_total", { topic: "metered" })).toBe(total);
    expect(sampleValue(samples, "kafka_clone_log_end_offset", { topic: "metered" })).toBe(total);
    expect(sampleValue(samples, "kafka_clone_log_high_watermark", { topic: "metered" })).toBe(total);
    const bytes = sampleValue(samples, "kafka_clone_produced_bytes_total", { topic: "metered" });
    expect(bytes).toBeGreaterThan(total * 10);
    expect(sampleValue(samples, "kafka_clone_log_size_bytes", { topic: "metered" })).toBe(bytes);
    await waitUntil(async () => sampleValue((await scrape(metricsPort)).samples, "kafka_clone_fetched_records_total", { topic: "metered" }) === total, 5_000, "fetched records to reach the total");
    expect(sampleValue(samples, "kafka_clone_requests_total", { api: "produce" })).toBeGreaterThanOrEqual(ROUNDS);
    expect(sampleValue(samples, "kafka_clone_request_duration_seconds_count", { api: "produce" })).toBe(sampleValue(samples, "kafka_clone_requests_total", { api: "produce" }));
    expect(sampleValue(samples, "kafka_clone_fsync_duration_seconds_count")).toBeGreaterThan(0);
    expect(sampleValue(samples, "kafka_clone_request_duration_seconds_bucket", { api: "produce", le: "+Inf" })).toBe(sampleValue(samples, "kafka_clone_requests_total", { api: "produce" }));

    // An outside commit (allowed while the group has no members) makes the group's lag visible.
    const connection = await RpcConnection.connect({ host: "127.0.0.1", port: broker.port });
    await connection.request(API.commitOffsets, { groupId: "readers", memberId: null, generationId: -1, offsets: [{ topic: "metered", partition: 0, offset: 0 }] });
    connection.close();
    const lagged = await scrape(metricsPort);
    const partition0 = sampleValue(lagged.samples, "kafka_clone_log_high_watermark", { topic: "metered", partition: "0" });
    expect(partition0).toBeGreaterThan(0);
    expect(sampleValue(lagged.samples, "kafka_clone_consumer_group_lag", { group: "readers", topic: "metered", partition: "0" })).toBe(partition0);

    const notFound = await fetch(`http://127.0.0.1:${metricsPort}/`);
    expect(notFound.status).toBe(404);
    await broker.stop();
  });

  test("the zookeeper reports each broker's heartbeat age and the elections held", async () => {
    const zookeeper = await startServer(["zookeeper", "--port", "0", "--metrics-port", "0"]);
    const metricsPort = Number(zookeeper.ready.metricsPort);
    const broker = await startClusterBroker(1, zookeeper.address, tempDir());
    await waitUntil(async () => sampleValue((await scrape(metricsPort)).samples, "kafka_clone_zookeeper_active_broker") === 1, 10_000, "broker 1 to become active");
    const { samples } = await scrape(metricsPort);
    const age = sampleValue(samples, "kafka_clone_zookeeper_broker_heartbeat_age_seconds", { broker: "1" });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(0.5);
    expect(sampleValue(samples, "kafka_clone_zookeeper_broker_up", { broker: "1" })).toBe(1);
    expect(sampleValue(samples, "kafka_clone_zookeeper_elections_total")).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, "kafka_clone_zookeeper_leader_changes_total")).toBe(1);
    expect(sampleValue(samples, "kafka_clone_zookeeper_leader_epoch")).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, "kafka_clone_zookeeper_heartbeats_accepted_total")).toBeGreaterThan(0);
    await broker.stop();
    await zookeeper.stop();
  });
});
