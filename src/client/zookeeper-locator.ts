/** Asks the zookeeper which broker is active, for clients that start from the zookeeper. */
import { RpcConnection } from "../net/rpc-connection";
import { ZK_API, type ZkViewResponse } from "../protocol/api";
import type { HostPort } from "./addresses";
import type { LeaderLocator } from "./cluster-client";

export function zookeeperLocator(zookeeper: HostPort): LeaderLocator {
  let connection: RpcConnection | null = null;
  const locate = async (): Promise<HostPort | null> => {
    if (!connection || connection.isClosed) {
      connection = await RpcConnection.connect({ ...zookeeper, connectTimeoutMs: 1000, requestTimeoutMs: 2000 });
    }
    const { body } = await connection.request(ZK_API.view, {});
    const view = (body as ZkViewResponse).view;
    const active = view.brokers.find((b) => b.id === view.activeBrokerId && b.alive);
    return active ? { host: active.clientHost, port: active.clientPort } : null;
  };
  return { locate, close: () => connection?.close() };
}
