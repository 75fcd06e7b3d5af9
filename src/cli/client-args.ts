/** Flags every client command shares: where the cluster is. */
import type { ArgsDef } from "citty";
import { parseHostPortList } from "../client/addresses";
import type { ClusterClientOptions } from "../client/cluster-client";

export const CLIENT_ARGS = {
  broker: {
    type: "string",
    description: "a broker to start from, host:port (comma-separate several)",
    default: "127.0.0.1:9092",
    alias: ["bootstrap", "bootstrap-server"],
  },
} as const satisfies ArgsDef;

export function clusterOptionsFrom(args: { broker?: string }): ClusterClientOptions {
  return { bootstrap: parseHostPortList(args.broker ?? "127.0.0.1:9092", "--broker") };
}
