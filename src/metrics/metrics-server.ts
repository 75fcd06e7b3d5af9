/** Serves a Prometheus registry at GET /metrics (text exposition format) on its own port. */
import type { Registry } from "prom-client";
import { KafkaCloneError } from "../errors";
import type { Logger } from "../logger";

export interface MetricsServer {
  readonly port: number;
  stop(): void;
}

export function startMetricsServer(options: { host: string; port: number; registry: Registry; logger: Logger }): MetricsServer {
  const { registry, logger } = options;
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      async fetch(request) {
        const { pathname } = new URL(request.url);
        if (pathname !== "/metrics") return new Response("not found: the metrics are at /metrics\n", { status: 404 });
        if (request.method !== "GET" && request.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
        try {
          return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
        } catch (error) {
          logger.error("collecting metrics failed", { error: (error as Error).message });
          return new Response("collecting metrics failed\n", { status: 500 });
        }
      },
    });
  } catch (error) {
    throw new KafkaCloneError("NETWORK_ERROR", `cannot serve metrics on ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  return {
    port: server.port ?? options.port,
    stop: () => void server.stop(true),
  };
}
