import { defineCommand } from "citty";
import { Broker, DEFAULT_REQUEST_TIMEOUT_MS } from "../broker/broker";
import { DEFAULT_FSYNC_TIMEOUT_MS } from "../broker/fsync-watch";
import { DEFAULT_FRAME_TIMEOUT_MS, DEFAULT_RECEIVE_BUDGET_BYTES } from "../net/receive-limits";
import { ClusterMember } from "../broker/cluster-member";
import { parseHostPort } from "../client/addresses";
import { createLogger } from "../logger";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/frame-codec";
import { intFlag, optionalIntFlag } from "./args";
import { configurable, resolveArgs } from "./resolve-args";
import { applyLoggingArgs, LOGGING_ARGS } from "./logging-args";
import { METRICS_ARGS, metricsPortFrom, serveMetrics } from "./metrics-args";
import { BrokerMetrics } from "../metrics/broker-metrics";
import { printReadyLine, runOrExit, untilSignal } from "./output";
import { SERVER_AUTH_ARGS, serverAuthFrom } from "./auth-args";

const args = configurable({
  id: { type: "string", description: "this broker's unique id (a positive integer; higher wins elections)", required: true },
  host: { type: "string", description: "address to listen on and advertise", default: "127.0.0.1" },
  port: { type: "string", description: "client port (0 = any free port)", default: "9092" },
  "data-dir": { type: "string", description: "the shared data directory", default: "./data" },
  standalone: { type: "boolean", description: "run as the only broker, active at once (no zookeeper)", default: false },
  "max-frame-bytes": { type: "string", description: "largest request accepted", default: String(DEFAULT_MAX_FRAME_BYTES) },
  "max-connections": { type: "string", description: "client connections accepted at once", default: "10000" },
  "request-timeout-ms": { type: "string", description: "a request not answered within this gets REQUEST_TIMED_OUT (0 = no limit)", default: String(DEFAULT_REQUEST_TIMEOUT_MS) },
  "frame-timeout-ms": { type: "string", description: "a request must arrive in full within this of its first byte, and a new connection send one (0 = no limit)", default: String(DEFAULT_FRAME_TIMEOUT_MS) },
  "fsync-timeout-ms": { type: "string", description: "an fsync outstanding this long makes the disk unusable: the broker stops acknowledging and steps down (0 = never)", default: String(DEFAULT_FSYNC_TIMEOUT_MS) },
  "max-receive-buffer-bytes": { type: "string", description: "bytes of partly received requests held across all connections", default: String(DEFAULT_RECEIVE_BUDGET_BYTES) },
  "segment-bytes": { type: "string", description: "default segment size before a roll", default: String(1024 * 1024 * 1024) },
  "segment-ms": { type: "string", description: "default segment age before a roll", default: String(7 * 24 * 3600 * 1000) },
  "retention-ms": { type: "string", description: "default retention by age (-1 = forever)", default: String(7 * 24 * 3600 * 1000) },
  "retention-bytes": { type: "string", description: "default retention by partition size (-1 = unlimited)", default: "-1" },
  zookeeper: { type: "string", description: "the zookeeper, host:port (cluster mode)", default: "127.0.0.1:2181" },
  "election-port": { type: "string", description: "port for election messages from other brokers (0 = any free port)", default: "0" },
  "heartbeat-interval-ms": { type: "string", description: "how often to send a heartbeat to the zookeeper", default: "100" },
  ...SERVER_AUTH_ARGS,
  ...METRICS_ARGS,
  ...LOGGING_ARGS,
} as const);

export const brokerCommand = defineCommand({
  meta: { name: "broker", description: "Run a broker: serves producers and consumers while it is the active broker" },
  args,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, args, "broker");
      applyLoggingArgs(a);
      const metricsPort = metricsPortFrom(a);
      const metrics = metricsPort === undefined ? null : new BrokerMetrics();
      const auth = serverAuthFrom(a);
      const broker = new Broker({
        auth,
        observer: metrics?.observer,
        id: intFlag(a.id, "id", { min: 1, max: 2 ** 31 - 1 }),
        host: a.host,
        port: intFlag(a.port, "port", { max: 65535 }),
        dataDir: a["data-dir"],
        maxFrameBytes: intFlag(a["max-frame-bytes"], "max-frame-bytes", { min: 1024, max: 2 ** 31 - 1 }),
        maxConnections: intFlag(a["max-connections"], "max-connections", { min: 1 }),
        requestTimeoutMs: intFlag(a["request-timeout-ms"], "request-timeout-ms", { min: 0 }),
        frameTimeoutMs: intFlag(a["frame-timeout-ms"], "frame-timeout-ms", { min: 0 }),
        receiveBudgetBytes: intFlag(a["max-receive-buffer-bytes"], "max-receive-buffer-bytes", { min: 1024 }),
        fsyncTimeoutMs: intFlag(a["fsync-timeout-ms"], "fsync-timeout-ms", { min: 0 }),
        logDefaults: {
          segmentBytes: intFlag(a["segment-bytes"], "segment-bytes", { min: 1024 }),
          segmentMs: intFlag(a["segment-ms"], "segment-ms", { min: 1 }),
          retentionMs: optionalIntFlag(a["retention-ms"], "retention-ms", { min: -1 }),
          retentionBytes: optionalIntFlag(a["retention-bytes"], "retention-bytes", { min: -1 }),
        },
      });
      broker.listen();
      const http = metrics && metricsPort !== undefined ? serveMetrics(metricsPort, a.host, metrics.registry, `broker-${broker.id}`) : null;
      const ready = {
        mode: "broker",
        id: broker.id,
        host: broker.options.host,
        port: broker.port,
        dataDir: broker.options.dataDir,
        ...(http ? { metricsPort: http.port } : {}),
      };
      if (a.standalone) {
        metrics?.bind(broker, null);
        const report = await broker.becomeActive(broker.nextStandaloneEpoch());
        createLogger(`broker-${broker.id}`).info("takeover complete", { ...report, standalone: true });
        printReadyLine({ ...ready, role: broker.role, epoch: broker.epoch });
        await untilSignal();
        http?.stop();
        await broker.stop();
        process.exit(0);
      }
      const member = new ClusterMember(broker, {
        zookeeper: parseHostPort(a.zookeeper, "--zookeeper"),
        electionHost: a.host,
        electionPort: intFlag(a["election-port"], "election-port", { max: 65535 }),
        heartbeatIntervalMs: intFlag(a["heartbeat-interval-ms"], "heartbeat-interval-ms", { min: 5, max: 10_000 }),
        auth,
      }, createLogger(`broker-${broker.id}`));
      metrics?.bind(broker, member);
      member.start();
      printReadyLine({ ...ready, electionPort: member.electionPort, role: "standby", zookeeper: a.zookeeper });
      await untilSignal();
      http?.stop();
      await member.stop();
      await broker.stop();
      process.exit(0);
    }),
});
