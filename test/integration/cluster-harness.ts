/**
 * Cluster helpers on top of harness.ts: a zookeeper and brokers of the compiled
 * binary, the zookeeper's view over its TCP API, and reading a topic back in
 * full. Every process is started through harness.ts, so every one is killed
 * when the test file ends.
 */
import { afterEach } from "bun:test";
import net from "node:net";
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import { readToEnd } from "../../src/client/read-to-end";
import { zookeeperLocator } from "../../src/client/zookeeper-locator";
import { RpcConnection } from "../../src/net/rpc-connection";
import { ZK_API, type ZkViewResponse } from "../../src/protocol/api";
import { cleanUpAfterThisFile, startServer, tempDir, waitUntil, type ServerProcess } from "./harness";

export interface ClusterBroker extends ServerProcess {
  id: number;
  pid: number;
  electionPort: number;
}

export interface ActiveBroker {
  id: number;
  epoch: number;
}

const text = new TextDecoder();

export function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** `kafka-clone zookeeper` on `port` (0 = any free one). */
export function startZookeeper(options: { port?: number; sessionTimeoutMs?: number } = {}): Promise<ServerProcess> {
  return startServer([
    "zookeeper", "--port", String(options.port ?? 0), "--session-timeout-ms", String(options.sessionTimeoutMs ?? 500),
  ]);
}

/** A cluster broker (standby until elected), talking to the zookeeper at `zookeeper`. */
export async function startClusterBroker(id: number, zookeeper: string, dataDir: string, extraArgs: string[] = []): Promise<ClusterBroker> {
  const server = await startServer([
    "broker", "--id", String(id), "--port", "0", "--election-port", "0", "--zookeeper", zookeeper, "--data-dir", dataDir, ...extraArgs,
  ]);
  return { ...server, id, pid: Number(server.ready.pid), electionPort: Number(server.ready.electionPort) };
}

/** The zookeeper's view, over its TCP API (zkView). */
export async function zkView(zookeeper: string, timeoutMs = 2000): Promise<ZkViewResponse> {
  const connection = await RpcConnection.connect({ ...hostPort(zookeeper), connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  try {
    const { body } = await connection.request(ZK_API.view, {});
    return body as ZkViewResponse;
  } finally {
    connection.close();
  }
}

/** Polls the zookeeper's view until `check` holds (a zookeeper that does not answer counts as "not yet"). */
export async function waitForView(
  zookeeper: string,
  check: (view: ZkViewResponse) => boolean,
  timeoutMs = 10_000,
  what = "a zookeeper view",
): Promise<ZkViewResponse> {
  let last: ZkViewResponse | null = null;
  try {
    await waitUntil(async () => {
      try {
        last = await zkView(zookeeper, 1000);
        return check(last);
      } catch {
        return false;
      }
    }, timeoutMs, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last view: ${JSON.stringify(last)}`);
  }
  return last!;
}

/** The alive active broker and its epoch in `view`, or null. */
export function activeIn(view: ZkViewResponse): ActiveBroker | null {
  const id = view.view.activeBrokerId;
  if (id === null) return null;
  return view.view.brokers.find((b) => b.id === id)?.alive ? { id, epoch: view.view.epoch } : null;
}

/** Waits until the zookeeper names an alive active broker (`id` if given). */
export async function waitForActive(zookeeper: string, id?: number, timeoutMs = 10_000): Promise<ActiveBroker> {
  const view = await waitForView(
    zookeeper,
    (v) => {
      const active = activeIn(v);
      return active !== null && (id === undefined || active.id === id);
    },
    timeoutMs,
    id === undefined ? "an active broker" : `broker ${id} to be active`,
  );
  return activeIn(view)!;
}

/** Client options that find the active broker through the zookeeper, as `--zookeeper` does. */
export function viaZookeeper(zookeeper: string, extra: Partial<ClusterClientOptions> = {}): ClusterClientOptions {
  return { bootstrap: [], locator: zookeeperLocator(hostPort(zookeeper)), ...extra };
}

/** A port number free for both TCP and UDP right now (a zookeeper that must come back on the same port). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port });
      udp.close();
      return port;
    } catch {
      // the UDP port is taken; try another
    }
  }
  throw new Error("no port free for both TCP and UDP");
}

const clusters: TestCluster[] = [];

/**
 * Call at a cluster test file's top level: its processes are killed when the
 * file ends, and with KC_DUMP_LOGS=1 every cluster process's stderr is printed
 * after each test (for debugging a failure). Hooks must be registered from the
 * test file itself: this module is evaluated once per run.
 */
export function useClusterHarness(): void {
  cleanUpAfterThisFile();
  afterEach(() => {
    for (const cluster of clusters.splice(0)) {
      if (!process.env.KC_DUMP_LOGS) continue;
      for (const [name, proc] of [["zookeeper", cluster.zk], ...[...cluster.brokers].map(([id, b]) => [`broker ${id}`, b] as const)] as const) {
        console.log(`----- ${name} -----\n${proc.stderr()}`);
      }
    }
  });
}

/** A zookeeper and brokers sharing one data directory. */
export class TestCluster {
  readonly brokers = new Map<number, ClusterBroker>();

  private constructor(
    public zk: ServerProcess,
    readonly zkAddress: string,
    readonly dataDir: string,
    readonly brokerArgs: string[],
  ) {}

  /**
   * The brokers start first and the zookeeper last, on a port chosen up
   * front: every broker is heartbeating when the zookeeper comes up, so all
   * of them take part in the first election (brokers started one after
   * another on a busy machine could otherwise join after it).
   */
  static async start(options: {
    brokerIds: number[];
    sessionTimeoutMs?: number;
    zkPort?: number;
    brokerArgs?: string[];
    dataDir?: string;
  }): Promise<TestCluster> {
    const port = options.zkPort ?? (await freePort());
    const dataDir = options.dataDir ?? tempDir("kc-cluster-");
    const brokerArgs = options.brokerArgs ?? [];
    const brokers = await Promise.all(options.brokerIds.map((id) => startClusterBroker(id, `127.0.0.1:${port}`, dataDir, brokerArgs)));
    const zk = await startZookeeper({ port, sessionTimeoutMs: options.sessionTimeoutMs });
    const cluster = new TestCluster(zk, zk.address, dataDir, brokerArgs);
    for (const broker of brokers) cluster.brokers.set(broker.id, broker);
    clusters.push(cluster);
    return cluster;
  }

  async startBroker(id: number, extraArgs: string[] = []): Promise<ClusterBroker> {
    const broker = await startClusterBroker(id, this.zkAddress, this.dataDir, [...this.brokerArgs, ...extraArgs]);
    this.brokers.set(id, broker);
    return broker;
  }

  broker(id: number): ClusterBroker {
    const broker = this.brokers.get(id);
    if (!broker) throw new Error(`no broker ${id}`);
    return broker;
  }

  /** kill -9 (or another signal) and wait for the exit. */
  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.broker(id).stop(signal);
  }

  /** Restarts the zookeeper on the same port (the cluster must have been started with a fixed zkPort). */
  async restartZookeeper(signal: NodeJS.Signals = "SIGKILL", sessionTimeoutMs?: number): Promise<void> {
    await this.zk.stop(signal);
    const port = hostPort(this.zkAddress).port;
    this.zk = await startZookeeper({ port, sessionTimeoutMs });
  }

  view(): Promise<ZkViewResponse> {
    return zkView(this.zkAddress);
  }

  waitForActive(id?: number, timeoutMs?: number): Promise<ActiveBroker> {
    return waitForActive(this.zkAddress, id, timeoutMs);
  }

  clientOptions(extra: Partial<ClusterClientOptions> = {}): ClusterClientOptions {
    return viaZookeeper(this.zkAddress, extra);
  }
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

/** Every record of `topic` from offset 0 up to each partition's current end, through a Consumer. */
export async function readTopic(options: ClusterClientOptions, topic: string, timeoutMs = 30_000): Promise<Map<number, ReadRecord[]>> {
  const byPartition = new Map<number, ReadRecord[]>();
  const ends = await readToEnd(
    options,
    topic,
    (r) => {
      let list = byPartition.get(r.partition);
      if (!list) byPartition.set(r.partition, (list = []));
      list.push({ partition: r.partition, offset: r.offset, key: r.key === null ? null : text.decode(r.key), value: r.value === null ? "" : text.decode(r.value) });
    },
    timeoutMs,
  );
  for (const partition of ends.keys()) if (!byPartition.has(partition)) byPartition.set(partition, []);
  return byPartition;
}
