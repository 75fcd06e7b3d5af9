/**
 * The cluster under the failover benchmark: a zookeeper and brokers of the
 * compiled binary (default settings, ports chosen by the OS, one shared data
 * directory), the zookeeper's view over its TCP API, and every process killed
 * on any exit path.
 */
import path from "node:path";
import type { Subprocess } from "bun";
import type { HostPort } from "../../src/client/addresses";
import type { Credentials } from "../../src/auth/credentials";
import { handshakeWith } from "../../src/auth/secure-connect";
import { RpcConnection } from "../../src/net/rpc-connection";
import { ZK_API, type ZkViewResponse } from "../../src/protocol/api";

/** The compiled binary; KC_BINARY names another build (e.g. a copy that a rebuild cannot replace mid-run). */
export const BINARY = path.resolve(process.env.KC_BINARY || path.resolve(import.meta.dir, "../../dist/kafka-clone"));

export interface ClusterProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  ready: Record<string, unknown>;
  stderr(): string;
}

const running = new Set<Subprocess>();

export function killEverything(): void {
  for (const proc of running) proc.kill("SIGKILL");
  running.clear();
}

/** Where each process runs when not all on loopback: its address and a command prefix (e.g. `ip netns exec <ns>`). */
export interface ClusterNetwork {
  zookeeperHost: string;
  brokerHost(id: number): string;
  exec(id: number | null): string[];
}

async function start(args: string[], wrap: string[] = [], timeoutMs = 15_000): Promise<ClusterProcess> {
  const proc = Bun.spawn([...wrap, BINARY, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  let stderr = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const deadline = performance.now() + timeoutMs;
  while (!buffered.includes("\n")) {
    if (performance.now() > deadline) throw new Error(`no ready line from kafka-clone ${args.join(" ")}; stderr:\n${stderr}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`kafka-clone ${args.join(" ")} exited before its ready line; stderr:\n${stderr}`);
    buffered += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  // Keep draining stdout so the process never blocks on a full pipe.
  void (async () => {
    for await (const _ of proc.stdout) void _;
  })();
  return { proc, ready: JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as Record<string, unknown>, stderr: () => stderr };
}

export interface ClusterOptions {
  network?: ClusterNetwork | null;
  fixedBrokerPorts?: boolean;
  brokerArgs?: string[];
  zookeeperArgs?: string[];
  /** What to prove to a zookeeper that uses a cluster secret (for reading its view). */
  auth?: Credentials;
}

export class FailoverCluster {
  readonly brokers = new Map<number, ClusterProcess>();
  /** Every broker process started, restarted ones included. */
  readonly history: { id: number; broker: ClusterProcess }[] = [];
  /** Every zookeeper process started, restarted ones included. */
  readonly zookeeperHistory: ClusterProcess[];

  private constructor(
    public zookeeper: ClusterProcess,
    readonly zkAddress: HostPort,
    readonly dataDir: string,
    private readonly network: ClusterNetwork | null,
    /** Broker id → the client port it always gets (a restarted broker too); absent: any free port each time. */
    private readonly ports: Map<number, number>,
    private readonly options: ClusterOptions,
  ) {
    this.zookeeperHistory = [zookeeper];
  }

  /**
   * On loopback, or with `network` each process in its own place (the zookeeper
   * then on port 2181 of its host). With `fixedBrokerPorts` each broker keeps
   * one client port across restarts, so clients can be given a static list.
   * `brokerArgs` go to every broker.
   */
  static async start(dataDir: string, brokerIds: number[], options: ClusterOptions = {}): Promise<FailoverCluster> {
    const { network = null, fixedBrokerPorts = false, zookeeperArgs = [] } = options;
    const zookeeper = network
      ? await start(["zookeeper", "--host", network.zookeeperHost, "--port", "2181", ...zookeeperArgs], network.exec(null))
      : await start(["zookeeper", "--port", "0", ...zookeeperArgs]);
    const host = network?.zookeeperHost ?? "127.0.0.1";
    const ports = new Map<number, number>();
    if (fixedBrokerPorts) for (const id of brokerIds) ports.set(id, network ? 9092 : freeLoopbackPort());
    const cluster = new FailoverCluster(zookeeper, { host, port: Number(zookeeper.ready.port) }, dataDir, network, ports, options);
    await Promise.all(brokerIds.map((id) => cluster.startBroker(id)));
    return cluster;
  }

  /** Every broker's client address (with fixed ports: valid across restarts). */
  brokerAddresses(): HostPort[] {
    return [...this.brokers].map(([id, b]) => ({ host: this.network?.brokerHost(id) ?? "127.0.0.1", port: Number(b.ready.port) }));
  }

  get zkString(): string {
    return `${this.zkAddress.host}:${this.zkAddress.port}`;
  }

  async startBroker(id: number): Promise<ClusterProcess> {
    const where = this.network ? ["--host", this.network.brokerHost(id)] : [];
    const port = String(this.ports.get(id) ?? 0);
    const args = ["broker", "--id", String(id), ...where, "--port", port, "--zookeeper", this.zkString, "--data-dir", this.dataDir, ...(this.options.brokerArgs ?? [])];
    const broker = await start(args, this.network?.exec(id));
    this.brokers.set(id, broker);
    this.history.push({ id, broker });
    return broker;
  }

  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const broker = this.brokers.get(id);
    if (!broker) throw new Error(`no broker ${id}`);
    broker.proc.kill(signal);
    await broker.proc.exited;
  }

  /** Sends `signal` to broker `id` without waiting (SIGSTOP / SIGCONT). */
  signal(id: number, signal: NodeJS.Signals): void {
    const broker = this.brokers.get(id);
    if (!broker) throw new Error(`no broker ${id}`);
    broker.proc.kill(signal);
  }

  async killZookeeper(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    this.zookeeper.proc.kill(signal);
    await this.zookeeper.proc.exited;
  }

  /** A new zookeeper on the same port (after killZookeeper). */
  async startZookeeper(): Promise<void> {
    const where = this.network ? ["--host", this.zkAddress.host] : [];
    const args = ["zookeeper", ...where, "--port", String(this.zkAddress.port), ...(this.options.zookeeperArgs ?? [])];
    this.zookeeper = await start(args, this.network?.exec(null));
    this.zookeeperHistory.push(this.zookeeper);
  }

  async view(timeoutMs = 1000): Promise<ZkViewResponse> {
    const connection = await RpcConnection.connect({
      ...this.zkAddress,
      connectTimeoutMs: timeoutMs,
      requestTimeoutMs: timeoutMs,
      secure: handshakeWith(this.options.auth, timeoutMs),
    });
    try {
      return (await connection.request(ZK_API.view, {})).body as ZkViewResponse;
    } finally {
      connection.close();
    }
  }

  /** Polls the view until `check` holds; returns it. */
  async waitForView(check: (view: ZkViewResponse) => boolean, timeoutMs: number, what: string): Promise<ZkViewResponse> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const view = await this.view().catch(() => null);
      if (view && check(view)) return view;
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await Bun.sleep(5);
    }
  }
}

/** A loopback port free right now (the OS picks it). */
function freeLoopbackPort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** The alive active broker's id in `view`, or null. */
export function activeId(view: ZkViewResponse): number | null {
  const id = view.view.activeBrokerId;
  return id !== null && view.view.brokers.some((b) => b.id === id && b.alive) ? id : null;
}
