/**
 * A cluster with a secret (the compiled binary: zookeeper and brokers, the
 * secret from a file or KAFKA_CLONE_CLUSTER_SECRET):
 *   - it elects, serves, fails over, and the CLI produces and consumes;
 *   - outsiders without the secret (or with another) cannot register, claim
 *     an epoch, vote or announce themselves coordinator, produce or consume;
 *   - a killed leader's recorded heartbeats, replayed, neither keep it alive
 *     nor register it with a restarted zookeeper;
 *   - the secret appears in no process's output, ready line or argv.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { clusterCredentials } from "../../src/auth/credentials";
import { ClusterSecret } from "../../src/auth/cluster-secret";
import { handshakeWith } from "../../src/auth/secure-connect";
import { userCredentials } from "../../src/auth/credentials";
import { Producer } from "../../src/client/producer";
import { encodeElectionMessage } from "../../src/election/election-codec";
import { KafkaCloneError } from "../../src/errors";
import { RpcConnection } from "../../src/net/rpc-connection";
import { connectTcp } from "../../src/net/tcp";
import { ZK_API } from "../../src/protocol/api";
import { freePort, hostPort, useClusterHarness } from "./cluster-harness";
import { startServer, waitUntil } from "./harness";
import { HeartbeatProxy } from "./heartbeat-proxy";
import { cli, clientOptions, makeSecret, OutputLog, SECRET_ENV, secureView, startSecureCluster, waitForSecureView } from "./auth/secure-cluster";

useClusterHarness();

const output = new OutputLog();
const secrets: string[] = [];
const proxies: HeartbeatProxy[] = [];
const encoder = new TextEncoder();

afterAll(() => {
  for (const proxy of proxies) proxy.stop();
});

function secret() {
  const made = makeSecret();
  secrets.push(made.text);
  return made;
}

async function failure(promise: Promise<unknown>): Promise<KafkaCloneError> {
  try {
    await promise;
  } catch (error) {
    return error as KafkaCloneError;
  }
  throw new Error("expected a failure");
}

/** Sends one election message, framed as the transport frames it, without any handshake; resolves when the broker closes the connection. */
async function sendRawElectionMessage(port: number, message: Parameters<typeof encodeElectionMessage>[0]): Promise<void> {
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const connection = await connectTcp({ host: "127.0.0.1", port, maxFrameBytes: 1024, handlers: { onFrame: () => {}, onClose: () => closed() } });
  const payload = encodeElectionMessage(message);
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  connection.send([frame]);
  await done;
}

describe("a cluster with a secret", () => {
  test("elects, serves and fails over; the CLI produces and consumes with the secret from the environment or a file", async () => {
    const s = secret();
    const cluster = await startSecureCluster(s, output, { brokerIds: [1, 2, 3] });
    expect((await cluster.waitForActive()).id).toBe(3);

    const lines = Array.from({ length: 300 }, (_, i) => `cli-${i}`);
    const produced = await cli(output, ["produce", "--topic", "orders", "--create", "--partitions", "3", "--zookeeper", cluster.zkAddress], {
      env: { [SECRET_ENV]: s.text },
      stdin: `${lines.join("\n")}\n`,
    });
    expect(produced.stderr).toBe("");
    expect(produced.exitCode).toBe(0);

    // The library producer across a kill -9 of the active broker.
    const producer = new Producer(clientOptions(cluster.zkAddress, s.credentials, { requestTimeoutMs: 10_000 }));
    const sent: Promise<unknown>[] = [];
    let acked = 0;
    for (let i = 0; i < 3000; i++) {
      sent.push(producer.send("orders", { key: encoder.encode(`k${i % 17}`), value: encoder.encode(`lib-${i}`) }).then(() => acked++));
      if (i === 1500) {
        await waitUntil(() => acked >= 1000, 20_000, "1000 acks before the kill");
        await cluster.brokers.get(3)!.stop("SIGKILL");
      }
    }
    await Promise.all(sent);
    await producer.close();
    expect((await cluster.waitForActive((id) => id === 2)).id).toBe(2);

    const consumed = await cli(output, ["consume", "--topic", "orders", "--from-beginning", "--max-messages", "3300", "--timeout-ms", "10000", "--zookeeper", cluster.zkAddress, "--cluster-secret-file", s.file]);
    expect(consumed.exitCode).toBe(0);
    const values = new Set(consumed.stdout.trim().split("\n"));
    expect(values.size).toBe(3300);
    for (const line of lines) expect(values.has(line)).toBe(true);
    for (let i = 0; i < 3000; i++) expect(values.has(`lib-${i}`)).toBe(true);

    const status = await cli(output, ["cluster", "status", "--zookeeper", cluster.zkAddress, "--json"], { env: { [SECRET_ENV]: s.text } });
    expect(JSON.parse(status.stdout).activeBrokerId).toBe(2);

    // Given as a file or in the environment, the secret is not in any process's argv.
    for (const process of [cluster.zk, ...cluster.brokers.values()]) {
      if (process.proc.exitCode !== null || process.proc.signalCode !== null) continue;
      const argv = fs.readFileSync(`/proc/${process.proc.pid}/cmdline`, "utf8");
      expect(argv).not.toContain(s.text);
    }
  });

  test("outsiders without the secret cannot register, claim, vote, announce themselves or use the cluster", async () => {
    const s = secret();
    const users = `${s.dir}/users.json`;
    const added = await cli(output, ["users", "add", "--users-file", users, "--user", "viewer", "--read", "*"], { env: { KAFKA_CLONE_PASSWORD: "viewer-password" } });
    expect(added.exitCode).toBe(0);
    const cluster = await startSecureCluster(s, output, { brokerIds: [1, 2], zookeeperArgs: ["--users-file", users] });
    const active = await cluster.waitForActive();
    expect(active.id).toBe(2);
    const zk = hostPort(cluster.zkAddress);

    // Brokers without the secret and with another one: their heartbeats are dropped, their TCP refused.
    const other = makeSecret();
    const common = ["--port", "0", "--election-port", "0", "--zookeeper", cluster.zkAddress, "--data-dir", cluster.dataDir];
    const noSecret = output.server(await startServer(["broker", "--id", "9", ...common]));
    const wrongSecret = output.server(await startServer(["broker", "--id", "10", ...common, "--cluster-secret-file", other.file]));
    const garbledBefore = (await secureView(cluster.zkAddress, s.credentials)).counters.garbledDatagrams ?? 0;
    await waitForSecureView(cluster.zkAddress, s.credentials, (v) => (v.counters.garbledDatagrams ?? 0) >= garbledBefore + 20, "20 dropped heartbeats of the outsiders");
    await noSecret.waitForLog(/AUTHENTICATION_FAILED: the zookeeper requires authentication/);
    await wrongSecret.waitForLog(/AUTHENTICATION_FAILED: authentication failed: the cluster secret does not match/);
    let view = await secureView(cluster.zkAddress, s.credentials);
    expect(view.view.brokers.map((b) => b.id)).toEqual([1, 2]);
    expect(view.view.activeBrokerId).toBe(2);
    await cluster.zk.waitForLog(/authentication failed/);

    // An epoch claim: refused before authentication, and refused to a user (only members may claim).
    const plain = await RpcConnection.connect({ ...zk, requestTimeoutMs: 2000 });
    expect((await failure(plain.request(ZK_API.claim, { brokerId: 9, epoch: 1000 }))).code).toBe("AUTHENTICATION_FAILED");
    const viewer = await RpcConnection.connect({ ...zk, requestTimeoutMs: 2000, secure: handshakeWith(userCredentials("viewer", "viewer-password")) });
    expect(((await viewer.request(ZK_API.view, {})).body as { view: { activeBrokerId: number } }).view.activeBrokerId).toBe(2);
    const claim = await failure(viewer.request(ZK_API.claim, { brokerId: 9, epoch: 1000 }));
    expect(claim.code).toBe("AUTHORIZATION_FAILED");
    expect(claim.message).toContain("user viewer may not claim a leader epoch");
    viewer.close();

    // Election messages without a handshake: a vote and a bogus coordinator, to both brokers' election ports.
    for (const broker of cluster.brokers.values()) {
      await sendRawElectionMessage(broker.electionPort, { type: "ELECTION", term: 10_000, from: 99 });
      await sendRawElectionMessage(broker.electionPort, { type: "COORDINATOR", term: 10_000, from: 99, epoch: 1000 });
      await broker.waitForLog(/authentication failed port=the election port/);
      expect(broker.stderr()).not.toMatch(/following leader=99|term=10000/);
    }
    view = await secureView(cluster.zkAddress, s.credentials);
    expect([view.view.activeBrokerId, view.view.epoch]).toEqual([2, active.epoch]);

    // Clients without the secret or with another one.
    const produce = ["produce", "--topic", "t", "--create", "--message", "x"];
    const viaZk = await cli(output, [...produce, "--zookeeper", cluster.zkAddress]);
    expect([viaZk.exitCode, viaZk.stderr]).toEqual([1, expect.stringContaining("AUTHENTICATION_FAILED: the zookeeper requires authentication")]);
    const viaBroker = await cli(output, [...produce, "--broker", cluster.brokers.get(2)!.address]);
    expect(viaBroker.stderr).toContain("AUTHENTICATION_FAILED: broker 2 requires authentication");
    const wrong = await cli(output, ["consume", "--topic", "t", "--zookeeper", cluster.zkAddress, "--cluster-secret-file", other.file, "--timeout-ms", "1000"]);
    expect([wrong.exitCode, wrong.stderr]).toEqual([1, expect.stringContaining("the cluster secret does not match")]);
    const status = await cli(output, ["cluster", "status", "--zookeeper", cluster.zkAddress]);
    expect(status.stderr).toContain("AUTHENTICATION_FAILED");

    // The outsiders never got in: when the active broker dies, a member takes over, at the next epoch.
    await cluster.brokers.get(2)!.stop("SIGKILL");
    const next = await cluster.waitForActive((id) => id === 1);
    expect(next.epoch).toBe(active.epoch + 1);
    view = await secureView(cluster.zkAddress, s.credentials);
    expect(view.view.brokers.map((b) => b.id)).toEqual([1, 2]);
  });

  test("a killed leader's replayed heartbeats neither keep it alive nor register it with a restarted zookeeper", async () => {
    const s = secret();
    const port = await freePort();
    const proxy = await HeartbeatProxy.start({ host: "127.0.0.1", port });
    proxies.push(proxy);
    const cluster = await startSecureCluster(s, output, { brokerIds: [1, 2, 4], zkPort: port, zookeeperFor: (id) => (id === 4 ? proxy.address : undefined) });
    expect((await cluster.waitForActive()).id).toBe(4);
    await waitUntil(() => proxy.counts.heartbeatsIn >= 20, 5000, "heartbeats to replay");

    proxy.replayContinuously(20, 3);
    await cluster.brokers.get(4)!.stop("SIGKILL");
    await cluster.waitForActive((id) => id === 2);
    const replayedBefore = proxy.counts.replayedOut;
    await waitUntil(() => proxy.counts.replayedOut >= replayedBefore + 150, 10_000, "150 more replayed heartbeats");
    let view = await secureView(cluster.zkAddress, s.credentials);
    expect(view.view.brokers.find((b) => b.id === 4)?.alive).toBe(false);
    expect(view.view.activeBrokerId).toBe(2);

    // A new zookeeper has an empty table: the recorded heartbeats are for its predecessor and only get challenges.
    proxy.stopReplaying(); // (the proxy's sends fail while no zookeeper listens)
    await cluster.restartZookeeper();
    proxy.replayContinuously(20, 3);
    await cluster.waitForActive((id) => id === 2);
    view = await waitForSecureView(cluster.zkAddress, s.credentials, (v) => (v.counters.challengedHeartbeats ?? 0) >= 50, "50 challenged heartbeats");
    expect(view.view.brokers.map((b) => b.id)).toEqual([1, 2]);
    proxy.stopReplaying();
  });

  test("no secret appears in any output, ready line or --help", async () => {
    const s = secret();
    for (const args of [["--help"], ["broker", "--help"], ["zookeeper", "--help"], ["produce", "--help"], ["consume", "--help"], ["cluster", "status", "--help"], ["users", "add", "--help"], ["local-cluster", "--help"]]) {
      const help = await cli(output, args, { env: { [SECRET_ENV]: s.text, KAFKA_CLONE_PASSWORD: "help-password-123" } });
      expect(help.exitCode).toBe(0);
    }
    // A secret that is too short is refused without being echoed.
    const short = await cli(output, ["zookeeper", "--port", "0"], { env: { [SECRET_ENV]: "short-secret" } });
    expect([short.exitCode, short.stderr]).toEqual([2, expect.stringContaining("is too short")]);
    expect(short.stderr).not.toContain("short-secret");
    expect(output.leaks([...secrets, "help-password-123", "viewer-password"])).toEqual([]);
    // And the in-process objects too.
    const inProcess = ClusterSecret.fromText(s.text, "test");
    expect(`${inProcess} ${JSON.stringify({ inProcess })} ${Bun.inspect(clusterCredentials(inProcess))}`).not.toContain(s.text);
  });
});
