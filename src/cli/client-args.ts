/** Flags every client command shares: where the cluster is. */
import type { ArgsDef } from "citty";
import { parseHostPort, parseHostPortList } from "../client/addresses";
import type { ClusterClientOptions } from "../client/cluster-client";
import { zookeeperLocator } from "../client/zookeeper-locator";

export const DEFAULT_ZOOKEEPER = "127.0.0.1:2181";

export const CLIENT_ARGS = {
  zookeeper: {
    type: "string",
    description: `the zookeeper that knows the active broker, host:port (default ${DEFAULT_ZOOKEEPER} unless --broker is given)`,
  },
  broker: {
    type: "string",
    description: "brokers to start from instead of the zookeeper, host:port[,host:port…]",
    alias: ["bootstrap", "bootstrap-server"],
  },
} as const satisfies ArgsDef;

export function clusterOptionsFrom(args: { broker?: string; zookeeper?: string }): ClusterClientOptions {
  const bootstrap = args.broker === undefined ? [] : parseHostPortList(args.broker, "--broker");
  const zookeeper = args.zookeeper ?? (args.broker === undefined ? DEFAULT_ZOOKEEPER : undefined);
  return {
    bootstrap,
    ...(zookeeper === undefined ? {} : { locator: zookeeperLocator(parseHostPort(zookeeper, "--zookeeper")) }),
  };
}
