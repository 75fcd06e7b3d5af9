/** --metrics-port, shared by the broker and the zookeeper: Prometheus metrics on their own HTTP port. */
import type { ArgsDef } from "citty";
import type { Registry } from "prom-client";
import { createLogger } from "../logger";
import { type MetricsServer, startMetricsServer } from "../metrics/metrics-server";
import { optionalIntFlag } from "./args";

export const METRICS_ARGS = {
  "metrics-port": {
    type: "string",
    description: "serve Prometheus metrics at http://<host>:<port>/metrics (0 = any free port; off when not given)",
  },
} as const satisfies ArgsDef;

export function metricsPortFrom(args: { "metrics-port"?: string }): number | undefined {
  return optionalIntFlag(args["metrics-port"], "metrics-port", { max: 65535 });
}

export function serveMetrics(port: number, host: string, registry: Registry, component: string): MetricsServer {
  return startMetricsServer({ host, port, registry, logger: createLogger(component) });
}
