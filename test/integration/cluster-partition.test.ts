/**
 * A network partition (network namespaces; root only, skipped otherwise):
 * the active broker loses its link to the zookeeper — silently, both ways —
 * but keeps its clients, the other brokers and the disk. It must stop
 * acknowledging within its lease (no request it receives after the lease can
 * have run out is acknowledged), another broker must take over, the cut-off
 * one must step down while its clients still reach it (they get NOT_LEADER,
 * not a dead connection), and no acknowledged record may be lost or
 * overwritten: the log read back holds every record at the offset its
 * producer was told.
 */
import { afterAll, expect, test } from "bun:test";
import { Admin } from "../../src/client/admin";
import { Producer } from "../../src/client/producer";
import { asKafkaCloneError } from "../../src/errors";
import { encodeBatch } from "../../src/log/record-codec";
import { defaultLeaseMs } from "../../src/election/leader-lease";
import { RpcConnection } from "../../src/net/rpc-connection";
import { API, type ProduceRequest, type ProduceResponse } from "../../src/protocol/api";
import { activeIn, readTopic, viaZookeeper, waitForView } from "./cluster-harness";
import { type Ack, checkDelivery, describeReport, expectDelivery } from "./delivery-check";
import { cleanUpAfterThisFile, startServer, tempDir, waitUntil, type ServerProcess } from "./harness";
import { createNetnsLab, netnsUnavailable, type NetnsLab } from "./netns-lab";

const TOPIC = "partitioned";
const SESSION_TIMEOUT_MS = 500;
const LEASE_MS = defaultLeaseMs(SESSION_TIMEOUT_MS);
const BROKERS = [1, 2, 3];
const encoder = new TextEncoder();
const unavailable = netnsUnavailable();
if (unavailable) console.log(`[partition] skipped: ${unavailable}`);

cleanUpAfterThisFile();
let lab: NetnsLab | null = null;
const servers: ServerProcess[] = [];
afterAll(async () => {
  // Processes first: a namespace is only gone once nothing runs in it.
  await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  lab?.destroy();
});

interface DirectOutcome {
  sentAt: number;
  receivedAt: number;
  value: string;
  ack?: { partition: number; offset: number };
  error?: string;
}

/** One-record produce requests straight to one broker, one after another, until stopped: what a client of the cut-off broker sees. */
function directWriter(connection: RpcConnection) {
  const outcomes: DirectOutcome[] = [];
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const value = `direct-${n}`;
      const frame = encodeBatch([{ key: null, value: encoder.encode(value) }]);
      const request: ProduceRequest = { topic: TOPIC, acks: "all", partitions: [{ partition: 0, bytes: frame.length }] };
      const sentAt = performance.now();
      const outcome: DirectOutcome = await connection.request(API.produce, request, [frame], 5000).then(
        ({ body }) => {
          const result = (body as ProduceResponse).partitions[0]!;
          return "baseOffsets" in result
            ? { sentAt, receivedAt: performance.now(), value, ack: { partition: 0, offset: result.baseOffsets[0]! } }
            : { sentAt, receivedAt: performance.now(), value, error: result.error.code };
        },
        (error: unknown) => ({ sentAt, receivedAt: performance.now(), value, error: asKafkaCloneError(error).code }),
      );
      outcomes.push(outcome);
      if (outcome.error) await Bun.sleep(5);
    }
  })();
  return { outcomes, stop: () => ((running = false), done) };
}

test.skipIf(unavailable !== null)("the active broker cut off from the zookeeper stops acknowledging within its lease; another takes over; nothing acknowledged is lost", async () => {
  lab = createNetnsLab(BROKERS);
  const l = lab;
  const dataDir = tempDir("kc-partition-");
  const zkAddress = `${l.zookeeperHost}:2181`;
  const brokers = new Map<number, ServerProcess>();
  // Brokers first, then the zookeeper, so all three take part in the first election.
  await Promise.all(BROKERS.map(async (id) => {
    const broker = await startServer([
      "broker", "--id", String(id), "--host", l.brokerHost(id), "--port", "0", "--election-port", "0",
      "--zookeeper", zkAddress, "--data-dir", dataDir,
    ], { wrap: l.exec(id) });
    servers.push(broker);
    brokers.set(id, broker);
  }));
  servers.push(await startServer(["zookeeper", "--host", l.zookeeperHost, "--port", "2181", "--session-timeout-ms", String(SESSION_TIMEOUT_MS)], { wrap: l.exec(null) }));
  const first = activeIn(await waitForView(zkAddress, (v) => activeIn(v) !== null && v.view.brokers.filter((b) => b.alive).length === 3, 15_000, "three brokers, one active"))!;
  const old = brokers.get(first.id)!;
  await old.waitForLog(/takeover complete/);
  const admin = new Admin(viaZookeeper(zkAddress));
  await admin.createTopic(TOPIC, 3);
  admin.close();

  // A steady idempotent producer that finds the leader through the zookeeper, and a client of the old leader's own.
  const producer = new Producer(viaZookeeper(zkAddress, { requestTimeoutMs: 10_000 }));
  const acks: Ack[] = [];
  const failures: string[] = [];
  let producing = true;
  const sending = (async () => {
    const pending: Promise<void>[] = [];
    for (let seq = 0; producing; seq++) {
      const value = `p-${seq}`;
      const key = `k${seq % 11}`;
      pending.push(producer.send(TOPIC, { key: encoder.encode(key), value: encoder.encode(value) }).then(
        (meta) => void acks.push({ seq, key, value, partition: meta.partition, offset: meta.offset }),
        (error: unknown) => void failures.push(`${value}: ${asKafkaCloneError(error).describe()}`),
      ));
      if (pending.length > 500) await pending.shift();
      if (seq % 10 === 9) await Bun.sleep(2);
    }
    await producer.flush();
    await Promise.all(pending);
  })();
  const direct = await RpcConnection.connect({ host: l.brokerHost(first.id), port: old.port, requestTimeoutMs: 5000 });
  const writer = directWriter(direct);
  await waitUntil(() => acks.length >= 1000 && writer.outcomes.filter((o) => o.ack).length >= 20, 20_000, "acks before the partition");

  // The cut (timed once it is in place: no heartbeat sent later gets through, so the lease ends by cutAt + its length).
  l.cutFromZookeeper(first.id);
  const cutAt = performance.now();
  const next = activeIn(await waitForView(zkAddress, (v) => (activeIn(v)?.id ?? first.id) !== first.id, 10_000, "another broker to take over"))!;
  const takeoverMs = performance.now() - cutAt;
  expect(next.epoch).toBeGreaterThan(first.epoch);
  await brokers.get(next.id)!.waitForLog(/takeover complete/);
  const acksAtTakeover = acks.length;
  await waitUntil(() => acks.length >= acksAtTakeover + 1000, 20_000, "1000 acks through the new leader");
  await old.waitForLog(/stepping down/, 10_000);
  // Its clients still reach it: refusals, not a dead connection.
  await waitUntil(() => writer.outcomes.some((o) => o.sentAt > cutAt && o.error === "NOT_LEADER"), 10_000, "NOT_LEADER from the cut-off broker");
  const stepDownSeen = performance.now();
  await waitUntil(() => writer.outcomes.some((o) => o.sentAt > stepDownSeen), 5000, "an answer after the step-down");
  expect(direct.isClosed).toBe(false);

  // Healed: it comes back as a standby; the new leader stays.
  l.healZookeeperLink(first.id);
  const healed = await waitForView(zkAddress, (v) => v.view.brokers.find((b) => b.id === first.id)?.alive === true, 15_000, `broker ${first.id} alive again`);
  expect(activeIn(healed)).toEqual(next);
  expect(healed.view.brokers.find((b) => b.id === first.id)?.role).toBe("standby");

  await writer.stop();
  direct.close();
  producing = false;
  await sending;
  await producer.close();

  // Acknowledgements from the cut-off broker: none for a request it got after its lease could have run out.
  const directAcks = writer.outcomes.filter((o) => o.ack);
  const lastAck = directAcks.at(-1)!;
  const ackedAfterLease = directAcks.filter((o) => o.sentAt > cutAt + LEASE_MS);
  const refusedAfterCut = writer.outcomes.filter((o) => o.sentAt > cutAt && o.error);
  console.log(
    `[partition] broker ${first.id} cut off; broker ${next.id} active after ${Math.round(takeoverMs)} ms; the old leader's last ack ` +
      `(request sent ${Math.round(lastAck.sentAt - cutAt)} ms, answered ${Math.round(lastAck.receivedAt - cutAt)} ms after the cut; lease ${LEASE_MS} ms); ` +
      `${refusedAfterCut.length} later requests refused (${[...new Set(refusedAfterCut.map((o) => o.error))].join(", ")})`,
  );
  expect(ackedAfterLease.map((o) => `${o.value} sent ${Math.round(o.sentAt - cutAt)} ms after the cut`)).toEqual([]);
  expect(lastAck.receivedAt - cutAt).toBeLessThan(takeoverMs);
  expect(failures).toEqual([]);

  const log = await readTopic(viaZookeeper(zkAddress), TOPIC);
  const allAcks: Ack[] = [
    ...acks,
    ...directAcks.map((o) => ({ seq: -1, key: null, value: o.value, partition: o.ack!.partition, offset: o.ack!.offset })),
  ];
  const report = checkDelivery(allAcks, log, (value) => (value.startsWith("p-") ? Number(value.slice(2)) : null));
  console.log(describeReport("partition", report, true));
  expectDelivery(report, true);
}, 90_000);
