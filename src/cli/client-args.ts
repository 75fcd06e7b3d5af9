/** Flags every client command shares: where the cluster is, and what to prove to it (auth-args.ts). */
import type { ArgsDef } from "citty";
import { parseHostPort, parseHostPortList } from "../client/addresses";
import type { ClusterClientOptions } from "../client/cluster-client";
import { zookeeperLocator } from "../client/zookeeper-locator";
import { type ClientAuthFlags, CLIENT_AUTH_ARGS, credentialsFrom } from "./auth-args";

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
  ...CLIENT_AUTH_ARGS,
} as const satisfies ArgsDef;

export function clusterOptionsFrom(args: { broker?: string; zookeeper?: string } & ClientAuthFlags): ClusterClientOptions {
  const bootstrap = args.broker === undefined ? [] : parseHostPortList(args.broker, "--broker");
  const zookeeper = args.zookeeper ?? (args.broker === undefined ? DEFAULT_ZOOKEEPER : undefined);
  const auth = credentialsFrom(args);
  return {
    bootstrap,
    ...(zookeeper === undefined ? {} : { locator: zookeeperLocator(parseHostPort(zookeeper, "--zookeeper"), auth) }),
    ...(auth ? { auth } : {}),
  };
}
