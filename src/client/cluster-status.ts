/** The zookeeper's view of the cluster, as `cluster status` shows it. */
import type { Credentials } from "../auth/credentials";
import { handshakeWith } from "../auth/secure-connect";
import { RpcConnection } from "../net/rpc-connection";
import { ZK_API, type ZkBrokerStatus, type ZkFailover, type ZkViewResponse } from "../protocol/api";
import type { HostPort } from "./addresses";

export interface ClusterStatus {
  zookeeper: string;
  zookeeperUptimeMs: number;
  sessionTimeoutMs: number;
  activeBrokerId: number | null;
  /** The newest leader epoch the zookeeper knows. */
  epoch: number;
  electionNeeded: boolean;
  elections: number;
  leaderChanges: number;
  lastFailover: ZkFailover | null;
  brokers: ZkBrokerStatus[];
  counters: Record<string, number>;
}

export async function fetchClusterStatus(zookeeper: HostPort, timeoutMs = 2000, auth?: Credentials): Promise<ClusterStatus> {
  const connection = await RpcConnection.connect({ ...zookeeper, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, secure: handshakeWith(auth) });
  try {
    const { body } = await connection.request(ZK_API.view, {});
    const response = body as ZkViewResponse;
    return {
      zookeeper: `${zookeeper.host}:${zookeeper.port}`,
      zookeeperUptimeMs: response.uptimeMs,
      sessionTimeoutMs: response.sessionTimeoutMs,
      activeBrokerId: response.view.activeBrokerId,
      epoch: response.view.epoch,
      electionNeeded: response.view.electionNeeded,
      elections: response.elections ?? 0,
      leaderChanges: response.leaderChanges ?? 0,
      lastFailover: response.lastFailover ?? null,
      brokers: response.brokers ?? [],
      counters: response.counters,
    };
  } finally {
    connection.close();
  }
}
