/**
 * `cluster status` on the compiled binary: the JSON shows every broker and
 * the active one; after kill -9 of the active broker it shows the failover
 * (a new active broker at a higher epoch, the old one dead, one more election).
 */
import { describe, expect, test } from "bun:test";
import type { ClusterStatus } from "../../src/client/cluster-status";
import { TestCluster, useClusterHarness } from "./cluster-harness";
import { runCli, waitUntil } from "./harness";

useClusterHarness();

async function status(zookeeper: string): Promise<ClusterStatus> {
  const result = await runCli(["cluster", "status", "--zookeeper", zookeeper, "--json"], { timeoutMs: 10_000 });
  if (result.exitCode !== 0) throw new Error(`cluster status exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ClusterStatus;
}

async function waitForStatus(zookeeper: string, check: (s: ClusterStatus) => boolean, what: string): Promise<ClusterStatus> {
  let last: ClusterStatus | null = null;
  await waitUntil(async () => check((last = await status(zookeeper))), 15_000, what).catch((error: Error) => {
    throw new Error(`${error.message}; last status: ${JSON.stringify(last)}`);
  });
  return last!;
}

describe("cluster status", () => {
  test("--json shows the brokers and, after kill -9 of the active one, a new active broker at a higher epoch", async () => {
    const cluster = await TestCluster.start({ brokerIds: [1, 2] });
    const zookeeper = cluster.zk;
    const brokers = [cluster.broker(1), cluster.broker(2)];
    const before = await waitForStatus(zookeeper.address, (s) => s.activeBrokerId === 2 && s.brokers.filter((b) => b.alive).length === 2, "broker 2 active with both alive");
    expect(before.brokers.map((b) => [b.id, b.role, b.alive])).toEqual([[1, "standby", true], [2, "active", true]]);
    const active = before.brokers.find((b) => b.id === 2)!;
    expect(active.clientPort).toBe(brokers[1]!.port);
    expect(active.electionPort).toBe(brokers[1]!.electionPort);
    expect(active.heartbeatAgeMs).toBeLessThan(500);
    expect(active.uptimeMs).toBeGreaterThan(0);
    expect(before.elections).toBeGreaterThanOrEqual(1);
    expect(before.lastFailover).toBeNull();

    const text = await runCli(["cluster", "status", "--zookeeper", zookeeper.address]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(`Active broker: 2 at 127.0.0.1:${brokers[1]!.port}`);
    expect(text.stdout).toMatch(/^ID\s+ROLE\s+STATE\s+EPOCH/m);

    brokers[1]!.proc.kill("SIGKILL");
    const after = await waitForStatus(zookeeper.address, (s) => s.activeBrokerId === 1, "broker 1 to take over");
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(after.brokers.find((b) => b.id === 2)!.alive).toBe(false);
    expect(after.brokers.find((b) => b.id === 1)!.role).toBe("active");
    expect(after.elections).toBeGreaterThan(before.elections);
    expect(after.leaderChanges).toBe(before.leaderChanges + 1);
    expect(after.lastFailover).toMatchObject({ fromBrokerId: 2, toBrokerId: 1, epoch: after.epoch });
    // The takeover is in the broker's own log, with its recovery figures.
    await brokers[0]!.waitForLog(/takeover complete.*scannedBytes=\d+ truncatedBytes=\d+/);
    await brokers[0]!.stop();
    await zookeeper.stop();
  });

  test("an unreachable zookeeper is a clear error", async () => {
    const result = await runCli(["cluster", "status", "--zookeeper", "127.0.0.1:1", "--timeout-ms", "500"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/kafka-clone: NETWORK_ERROR/);
  });
});
