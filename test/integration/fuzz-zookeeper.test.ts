/**
 * Fuzzing the zookeeper's two ports while a real broker is registered and
 * active: TCP (seeded noise and mutated view and claim requests) and UDP
 * (garbage heartbeats: noise, corrupted intact heartbeats, some
 * impersonating the real broker, and checksummed heartbeats with one invalid
 * field). After every batch the zookeeper is up, its memory bounded, it
 * answers a normal view request, the real broker is alive in its view and
 * was never declared dead, and no garbage datagram registered a broker.
 *
 * FUZZ_CASES / FUZZ_SEED choose the cases (`make fuzz` runs many more).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { udp } from "bun";
import { RpcConnection } from "../../src/net/rpc-connection";
import { ZK_API, type ZkViewResponse } from "../../src/protocol/api";
import { hostPort, TestCluster, waitForView } from "./cluster-harness";
import { vmRssBytes } from "./garbage";
import { cleanUpAfterThisFile, withTimeout } from "./harness";
import { openRawSocket } from "./raw-socket";
import { requestFrameMutations, zookeeperCorpus } from "./fuzz/frame-corpus";
import { fuzzPlan, RssSampler, runFuzz, unexpectedErrorLines } from "./fuzz/fuzz-run";
import { sendTcpBatch } from "./fuzz/tcp-fuzz";
import { ackCase, fakeHeartbeat, sealedHeartbeat, udpCase } from "./fuzz/udp-fuzz";

setDefaultTimeout(10 * 60_000);
cleanUpAfterThisFile();

const MiB = 1024 * 1024;
const RSS_GROWTH_LIMIT = 128 * MiB;
const REAL_BROKER = 1;
const FAKE_BROKER = 77;

let cluster: TestCluster;
let client: RpcConnection;
let rss: RssSampler;
let unexpected: () => string[];

async function view(): Promise<ZkViewResponse> {
  return (await client.request(ZK_API.view, {})).body as ZkViewResponse;
}

/** The real broker alive, never declared dead, and nobody else registered. */
async function assertUndisturbed(): Promise<void> {
  expect(cluster.zk.proc.exitCode).toBeNull();
  expect(unexpected()).toEqual([]);
  rss.sample();
  expect(rss.peak - rss.baseline).toBeLessThan(RSS_GROWTH_LIMIT);
  const current = await view();
  expect(current.view.brokers.map((b) => [b.id, b.alive])).toEqual([[REAL_BROKER, true]]);
  expect(current.counters.brokersDeclaredDead).toBe(0);
}

beforeAll(async () => {
  cluster = await TestCluster.start({ brokerIds: [REAL_BROKER], sessionTimeoutMs: 1000 });
  await cluster.waitForActive(REAL_BROKER);
  client = await RpcConnection.connect({ ...hostPort(cluster.zkAddress), requestTimeoutMs: 10_000 });
  rss = new RssSampler(() => vmRssBytes(cluster.zk.proc.pid));
  unexpected = unexpectedErrorLines(() => cluster.zk.stderr());
});

afterAll(() => {
  client?.close();
  console.log(`zookeeper fuzz: ${rss?.describe()}`);
});

describe("fuzzing the zookeeper", () => {
  test("TCP: seeded noise and mutated view and claim requests", async () => {
    const target = { port: () => hostPort(cluster.zkAddress).port, corpus: zookeeperCorpus(5), mutation: requestFrameMutations(MiB) };
    await runFuzz(fuzzPlan(2000), "zookeeper-tcp", (cases) => sendTcpBatch(cases, target, async () => void (await view())), assertUndisturbed);
  });

  test("TCP: a frame over the zookeeper's 1 MiB limit is refused from its length alone", async () => {
    const socket = await openRawSocket(hostPort(cluster.zkAddress).port, { decode: false });
    const head = new Uint8Array(8);
    new DataView(head.buffer).setUint32(0, MiB + 1);
    socket.write(head);
    await withTimeout(socket.closed, 5000, "the zookeeper to close the connection");
    await cluster.zk.waitForLog(/reason=FRAME_TOO_LARGE: declared frame length 1048577 exceeds the maximum 1048576/);
    await assertUndisturbed();
  });

  test("UDP: garbage acks to the broker's own heartbeat socket never move it off its lease or its view", async () => {
    const broker = cluster.broker(REAL_BROKER);
    // The worker's socket has an ephemeral port (not advertised, but reachable): found through ss.
    const sockets = Bun.spawnSync(["ss", "-H", "-uanp"], { stdout: "pipe" }).stdout.toString();
    const line = sockets.split("\n").find((l) => l.includes(`pid=${broker.pid},`));
    const port = Number(/:(\d+)\s/.exec(line ?? "")?.[1]);
    if (!line || !Number.isInteger(port)) {
      console.warn(`SKIPPED broker heartbeat-socket fuzz: its UDP port was not found with ss (${line ?? "no line"})`);
      return;
    }
    const before = await cluster.waitForActive(REAL_BROKER);
    const logBefore = broker.stderr().length;
    const socket: udp.Socket<"buffer"> = await Bun.udpSocket({ hostname: "127.0.0.1" });
    try {
      await runFuzz(
        fuzzPlan(4000, 100),
        "broker-heartbeat-socket",
        async (cases) => {
          for (const { random } of cases) socket.send(ackCase(random, REAL_BROKER), port, "127.0.0.1");
          await view();
        },
        async () => {
          expect(broker.proc.exitCode).toBeNull();
          await assertUndisturbed();
        },
      );
    } finally {
      socket.close();
    }
    const after = await cluster.waitForActive(REAL_BROKER);
    expect(after.epoch).toBe(before.epoch);
    expect(broker.stderr().slice(logBefore)).not.toMatch(/lease lost|stepping down|following leader=101/);
  });

  test("UDP: garbage heartbeats never register a broker nor disturb the real one", async () => {
    const { host, port } = hostPort(cluster.zkAddress);
    const socket: udp.Socket<"buffer"> = await Bun.udpSocket({ hostname: "127.0.0.1" });
    const garbledBefore = (await view()).counters.garbledDatagrams;
    let sent = 0;
    try {
      await runFuzz(
        fuzzPlan(4000, 100),
        "zookeeper-udp",
        async (cases) => {
          for (const { random } of cases) {
            socket.send(udpCase(random, FAKE_BROKER, REAL_BROKER), port, host);
            sent++;
          }
          // A view round trip on TCP after the batch: the zookeeper has read the datagrams by now (or dropped them).
          await view();
        },
        assertUndisturbed,
      );
      const after = await view();
      console.log(`zookeeper UDP fuzz: ${sent} datagrams sent, ${after.counters.garbledDatagrams - garbledBefore} counted as garbled`);
      expect(after.counters.garbledDatagrams - garbledBefore).toBeGreaterThan(0);
      // The positive control: an intact heartbeat in the same format does register, so the garbage was refused for being garbage.
      socket.send(sealedHeartbeat(fakeHeartbeat(FAKE_BROKER + 1)), port, host);
      await waitForView(cluster.zkAddress, (v) => v.view.brokers.some((b) => b.id === FAKE_BROKER + 1), 5000, "the control heartbeat to register");
    } finally {
      socket.close();
    }
    const active = await cluster.waitForActive(REAL_BROKER);
    expect(active.id).toBe(REAL_BROKER);
  });
});
