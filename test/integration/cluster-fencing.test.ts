/**
 * Fencing a paused leader: SIGSTOP the active broker past the zookeeper's
 * session timeout, let the next broker take over, then SIGCONT it. The old
 * broker acknowledges nothing more — not even requests that were waiting in
 * its socket while it was stopped — steps down and becomes a standby, and no
 * acknowledged record is lost or overwritten.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { Admin } from "../../src/client/admin";
import type { KafkaCloneError } from "../../src/errors";
import { Producer } from "../../src/client/producer";
import { encodeBatch } from "../../src/log/record-codec";
import { RpcConnection } from "../../src/net/rpc-connection";
import { API, type ProduceRequest, type ProduceResponse } from "../../src/protocol/api";
import { activeIn, readTopic, TestCluster, useClusterHarness, waitForView } from "./cluster-harness";
import { type Ack, checkDelivery, describeReport, expectDelivery, exactlyOnceExpected } from "./delivery-check";
import { waitUntil, withTimeout } from "./harness";

const encoder = new TextEncoder();

function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (fs.readFileSync(file).includes(needle)) found.push(file);
  }
  return found;
}
const TOPIC = "fenced";

/** A produce request of one record straight to one broker's client port, as a paused leader's old client would send it. */
function produceDirect(connection: RpcConnection, partition: number, value: string): Promise<ProduceResponse> {
  const frame = encodeBatch([{ key: null, value: encoder.encode(value) }]);
  const request: ProduceRequest = { topic: TOPIC, acks: "all", partitions: [{ partition, bytes: frame.length }] };
  return connection.request(API.produce, request, [frame], 15_000).then(({ body }) => body as ProduceResponse);
}

useClusterHarness();

describe("fencing a paused active broker", () => {
  test("SIGSTOP past the session timeout, another takes over, SIGCONT: the old one acks nothing more and becomes a standby", async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2, 3] });
    const first = await cluster.waitForActive(3);
    const old = cluster.broker(3);
    await old.waitForLog(/takeover complete/);
    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic(TOPIC, 2);
    admin.close();

    // A steady producer through the zookeeper, for the whole test.
    const producer = new Producer(cluster.clientOptions({ requestTimeoutMs: 10_000 }));
    const acks: Ack[] = [];
    const failures: string[] = [];
    let seq = 0;
    let producing = true;
    const sending = (async () => {
      const pending: Promise<void>[] = [];
      while (producing) {
        for (let i = 0; i < 20; i++, seq++) {
          const value = `p-${seq}`;
          const key = `k${seq % 7}`;
          const s = seq;
          pending.push(producer.send(TOPIC, { key: encoder.encode(key), value: encoder.encode(value) }).then(
            (meta) => void acks.push({ seq: s, key, value, partition: meta.partition, offset: meta.offset }),
            (error: Error) => void failures.push(`${value}: ${error.message}`),
          ));
        }
        while (pending.length > 2000) await pending.shift();
        await Bun.sleep(2);
      }
      await producer.flush();
      await Promise.all(pending);
    })();
    await waitUntil(() => acks.length >= 2000, 20_000, "2000 acks before the pause");

    // A client with a connection straight to broker 3, which will go on writing to it.
    const direct = await RpcConnection.connect({ host: "127.0.0.1", port: old.port, requestTimeoutMs: 15_000 });
    expect((await produceDirect(direct, 0, "before-pause")).partitions[0]).toHaveProperty("baseOffsets");

    old.proc.kill("SIGSTOP");
    const pausedAcks = acks.length;
    // Requests that reach the paused broker wait in its socket buffer.
    const queued = [produceDirect(direct, 0, "queued-while-paused-0"), produceDirect(direct, 1, "queued-while-paused-1")];
    const outcomes = queued.map((p) => p.then(
      (r) => ({ ok: r.partitions.every((x) => "baseOffsets" in x), outcome: JSON.stringify(r) }),
      (e: KafkaCloneError) => ({ ok: false, outcome: e.code }),
    ));

    const next = await waitForView(cluster.zkAddress, (v) => (activeIn(v)?.id ?? 3) !== 3, 10_000, "another broker to take over").then((v) => activeIn(v)!);
    expect(next.epoch).toBeGreaterThan(first.epoch);
    const heir = cluster.broker(next.id);
    await heir.waitForLog(/takeover complete/);
    await waitUntil(() => acks.length >= pausedAcks + 2000, 20_000, "2000 acks through the new leader while broker 3 is stopped");

    old.proc.kill("SIGCONT");
    await old.waitForLog(/stepping down/, 10_000);
    // Its step-down leaves the new leader's lock alone (releasing "its" lock would delete the new one's).
    expect(await old.waitForLog(/stepped down/, 10_000)).toMatch(new RegExp(`lock="?left to broker ${next.id}`));
    expect(fs.existsSync(path.join(cluster.dataDir, "LOCK.lock"))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(cluster.dataDir, "LOCK"), "utf8"))).toMatchObject({ brokerId: next.id, epoch: next.epoch });
    const settled = await withTimeout(Promise.all(outcomes), 20_000, "the queued requests' outcomes");
    console.log(`[SIGSTOP/SIGCONT] requests queued at the paused broker ended with: ${settled.map((s) => s.outcome).join(", ")}`);
    for (const outcome of settled) expect(outcome.ok).toBe(false);
    // New requests to the old broker: NOT_LEADER.
    const late = await produceDirect(direct, 0, "after-resume").then((r) => JSON.stringify(r), (e: KafkaCloneError) => e.code);
    expect(late).toBe("NOT_LEADER");
    direct.close();

    const view = await waitForView(cluster.zkAddress, (v) => v.view.brokers.find((b) => b.id === 3)?.alive === true, 5000, "broker 3 alive again");
    expect(activeIn(view)).toEqual(next);
    expect(view.view.brokers.find((b) => b.id === 3)?.role).toBe("standby");
    await old.waitForLog(new RegExp(`following leader=${next.id}`), 5000);

    await waitUntil(() => acks.length >= pausedAcks + 4000, 20_000, "more acks after the resume");
    expect(heir.stderr()).not.toMatch(/stepping down|lock compromised/);
    producing = false;
    await sending;
    await producer.close();
    expect(failures).toEqual([]);

    const log = await readTopic(cluster.clientOptions(), TOPIC);
    const report = checkDelivery(acks, log, (value) => (value.startsWith("p-") ? Number(value.slice(2)) : null));
    const exactlyOnce = await exactlyOnceExpected(cluster.clientOptions(), cluster.dataDir, TOPIC);
    console.log(describeReport("SIGSTOP/SIGCONT", report, exactlyOnce));
    expectDelivery(report, exactlyOnce);
    const values = [...log.values()].flat().map((r) => r.value);
    expect(values).toContain("before-pause");
    expect(values.filter((v) => v.startsWith("queued-while-paused") || v === "after-resume")).toEqual([]);
    // Not even in the files: the old broker wrote nothing after it resumed.
    expect(filesContaining(cluster.dataDir, "queued-while-paused")).toEqual([]);

    // The next takeover recovers the same log from the shared directory.
    await cluster.kill(next.id, "SIGKILL");
    await cluster.waitForActive(3, 10_000);
    const recovered = await readTopic(cluster.clientOptions(), TOPIC);
    expect(checkDelivery(acks, recovered, () => null).lost).toEqual([]);
    expect([...recovered].map(([p, records]) => [p, records.length])).toEqual([...log].map(([p, records]) => [p, records.length]));
  }, 60_000);
});
