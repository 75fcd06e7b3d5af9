import { defineCommand } from "citty";
import { ZookeeperServer } from "../zookeeper/zookeeper-server";
import { intFlag } from "./args";
import { configurable, resolveArgs } from "./resolve-args";
import { applyLoggingArgs, LOGGING_ARGS } from "./logging-args";
import { METRICS_ARGS, metricsPortFrom, serveMetrics } from "./metrics-args";
import { ZookeeperMetrics } from "../metrics/zookeeper-metrics";
import { printReadyLine, runOrExit, untilSignal } from "./output";
import { SERVER_AUTH_ARGS, serverAuthFrom } from "./auth-args";

const args = configurable({
  host: { type: "string", description: "address to listen on", default: "127.0.0.1" },
  port: { type: "string", description: "UDP heartbeats and TCP cluster view, same number (0 = any free port)", default: "2181" },
  "session-timeout-ms": { type: "string", description: "a broker silent this long is declared dead", default: "500" },
  ...SERVER_AUTH_ARGS,
  ...METRICS_ARGS,
  ...LOGGING_ARGS,
} as const);

export const zookeeperCommand = defineCommand({
  meta: { name: "zookeeper", description: "Run the health monitor: receives broker heartbeats, declares the dead, grants leader epochs" },
  args,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, args, "zookeeper");
      applyLoggingArgs(a);
      const metricsPort = metricsPortFrom(a);
      const metrics = metricsPort === undefined ? null : new ZookeeperMetrics();
      const server = new ZookeeperServer({
        host: a.host,
        port: intFlag(a.port, "port", { max: 65535 }),
        sessionTimeoutMs: intFlag(a["session-timeout-ms"], "session-timeout-ms", { min: 50, max: 600_000 }),
        onFailover: metrics?.onFailover,
        auth: serverAuthFrom(a),
      });
      await server.start();
      metrics?.bind(() => server.status());
      const http = metrics && metricsPort !== undefined ? serveMetrics(metricsPort, a.host, metrics.registry, "zookeeper") : null;
      printReadyLine({
        mode: "zookeeper",
        host: a.host,
        port: server.port,
        sessionTimeoutMs: server.options.sessionTimeoutMs,
        ...(http ? { metricsPort: http.port } : {}),
      });
      await untilSignal();
      http?.stop();
      server.stop();
      process.exit(0);
    }),
});
