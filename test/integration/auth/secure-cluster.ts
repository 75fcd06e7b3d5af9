/**
 * A cluster of the compiled binary with a cluster secret, for the
 * authentication tests: the secret in a file (chmod 600) and, for some
 * brokers, in KAFKA_CLONE_CLUSTER_SECRET; the zookeeper's view read over an
 * authenticated connection; and every output of every process kept, so a
 * test can check that no secret ever appears in any of them.
 */
import fs from "node:fs";
import path from "node:path";
import { ClusterSecret } from "../../../src/auth/cluster-secret";
import { clusterCredentials, type Credentials } from "../../../src/auth/credentials";
import { handshakeWith } from "../../../src/auth/secure-connect";
import type { ClusterClientOptions } from "../../../src/client/cluster-client";
import { zookeeperLocator } from "../../../src/client/zookeeper-locator";
import { RpcConnection } from "../../../src/net/rpc-connection";
import { ZK_API, type ZkViewResponse } from "../../../src/protocol/api";
import { activeIn, freePort, hostPort } from "../cluster-harness";
import { type CliResult, runCli, type ServerProcess, startServer, tempDir, waitUntil } from "../harness";

export const SECRET_ENV = "KAFKA_CLONE_CLUSTER_SECRET";

/** Everything a test's processes printed, to search for secrets at the end. */
export class OutputLog {
  private readonly servers: ServerProcess[] = [];
  private readonly texts: string[] = [];

  server(process: ServerProcess): ServerProcess {
    this.servers.push(process);
    return process;
  }

  cli(result: CliResult): CliResult {
    this.texts.push(result.stdout, result.stderr);
    return result;
  }

  all(): string[] {
    return [...this.texts, ...this.servers.flatMap((s) => [s.stderr(), JSON.stringify(s.ready)])];
  }

  /** Which of `secrets` appear anywhere (expected: none). */
  leaks(secrets: string[]): string[] {
    const everything = this.all().join("\n");
    return secrets.filter((secret) => everything.includes(secret));
  }
}

export interface SecretFiles {
  dir: string;
  text: string;
  file: string;
  credentials: Credentials;
}

export function makeSecret(text = `test-secret-${crypto.randomUUID()}`): SecretFiles {
  const dir = tempDir("kc-auth-");
  const file = path.join(dir, "cluster-secret");
  fs.writeFileSync(file, `${text}\n`, { mode: 0o600 });
  return { dir, text, file, credentials: clusterCredentials(ClusterSecret.fromText(text, "test")) };
}

/** The zookeeper's view over an authenticated connection. */
export async function secureView(zookeeper: string, credentials: Credentials, timeoutMs = 2000): Promise<ZkViewResponse> {
  const connection = await RpcConnection.connect({ ...hostPort(zookeeper), connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, secure: handshakeWith(credentials) });
  try {
    return (await connection.request(ZK_API.view, {})).body as ZkViewResponse;
  } finally {
    connection.close();
  }
}

export async function waitForSecureView(zookeeper: string, credentials: Credentials, check: (view: ZkViewResponse) => boolean, what: string, timeoutMs = 15_000): Promise<ZkViewResponse> {
  let last: ZkViewResponse | null = null;
  await waitUntil(async () => {
    last = await secureView(zookeeper, credentials, 1000).catch(() => null);
    return last !== null && check(last);
  }, timeoutMs, `${what}; last view: ${JSON.stringify(last)}`);
  return last!;
}

export function clientOptions(zookeeper: string, credentials: Credentials, extra: Partial<ClusterClientOptions> = {}): ClusterClientOptions {
  return { bootstrap: [], locator: zookeeperLocator(hostPort(zookeeper), credentials), auth: credentials, ...extra };
}

export interface SecureCluster {
  zk: ServerProcess;
  zkAddress: string;
  dataDir: string;
  brokers: Map<number, ServerProcess & { electionPort: number }>;
  startBroker(id: number, how?: "file" | "env", extra?: string[]): Promise<ServerProcess & { electionPort: number }>;
  restartZookeeper(): Promise<void>;
  waitForActive(check?: (id: number) => boolean): Promise<{ id: number; epoch: number }>;
}

/**
 * Brokers first (odd ids read the secret from the file, even ids from the
 * environment), then the zookeeper on a port chosen up front, as TestCluster does.
 */
export async function startSecureCluster(
  secret: SecretFiles,
  output: OutputLog,
  options: {
    brokerIds: number[];
    zookeeperArgs?: string[];
    brokerArgs?: string[];
    /** Chosen up front when a proxy must know it first. */
    zkPort?: number;
    /** Where a broker finds the zookeeper when not directly (a HeartbeatProxy's address). */
    zookeeperFor?: (id: number) => string | undefined;
  },
): Promise<SecureCluster> {
  const port = options.zkPort ?? (await freePort());
  const zkAddress = `127.0.0.1:${port}`;
  const dataDir = tempDir("kc-auth-data-");
  const brokers = new Map<number, ServerProcess & { electionPort: number }>();
  const startBroker = async (id: number, how: "file" | "env" = id % 2 === 1 ? "file" : "env", extra: string[] = []) => {
    const zookeeper = options.zookeeperFor?.(id) ?? zkAddress;
    const args = ["broker", "--id", String(id), "--port", "0", "--election-port", "0", "--zookeeper", zookeeper, "--data-dir", dataDir, ...(options.brokerArgs ?? []), ...extra];
    const server = how === "file"
      ? await startServer([...args, "--cluster-secret-file", secret.file])
      : await startServer(args, { env: { [SECRET_ENV]: secret.text } });
    const broker = { ...output.server(server), electionPort: Number(server.ready.electionPort) };
    brokers.set(id, broker);
    return broker;
  };
  const startZk = async () => output.server(await startServer(["zookeeper", "--port", String(port), "--session-timeout-ms", "500", "--cluster-secret-file", secret.file, ...(options.zookeeperArgs ?? [])]));
  await Promise.all(options.brokerIds.map((id) => startBroker(id)));
  const cluster: SecureCluster = {
    zk: await startZk(),
    zkAddress,
    dataDir,
    brokers,
    startBroker,
    async restartZookeeper() {
      await cluster.zk.stop("SIGKILL");
      cluster.zk = await startZk();
    },
    async waitForActive(check = () => true) {
      const view = await waitForSecureView(zkAddress, secret.credentials, (v) => activeIn(v) !== null && check(activeIn(v)!.id), "an active broker");
      return activeIn(view)!;
    },
  };
  return cluster;
}

/** `kafka-clone <args>` with its output kept for the leak check. */
export async function cli(output: OutputLog, args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliResult> {
  return output.cli(await runCli(args, { timeoutMs: 30_000, ...options }));
}
