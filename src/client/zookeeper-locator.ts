/** Asks the zookeeper which broker is active, for clients that start from the zookeeper. */
import type { Credentials } from "../auth/credentials";
import { handshakeWith } from "../auth/secure-connect";
import { RpcConnection } from "../net/rpc-connection";
import { ZK_API, type ZkViewResponse } from "../protocol/api";
import type { HostPort } from "./addresses";
import type { LeaderLocator } from "./cluster-client";

/** `auth`: what to prove to a zookeeper that uses a cluster secret. */
export function zookeeperLocator(zookeeper: HostPort, auth?: Credentials): LeaderLocator {
  let connection: RpcConnection | null = null;
  const locate = async (): Promise<HostPort | null> => {
    if (!connection || connection.isClosed) {
      connection = await RpcConnection.connect({ ...zookeeper, connectTimeoutMs: 1000, requestTimeoutMs: 2000, secure: handshakeWith(auth) });
    }
    const { body } = await connection.request(ZK_API.view, {});
    const view = (body as ZkViewResponse).view;
    const active = view.brokers.find((b) => b.id === view.activeBrokerId && b.alive);
    return active ? { host: active.clientHost, port: active.clientPort } : null;
  };
  return { locate, close: () => connection?.close() };
}
