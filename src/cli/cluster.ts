import { defineCommand } from "citty";
import { parseHostPort } from "../client/addresses";
import { type ClusterStatus, fetchClusterStatus } from "../client/cluster-status";
import { asKafkaCloneError } from "../errors";
import { intFlag } from "./args";
import { DEFAULT_ZOOKEEPER } from "./client-args";
import { CLIENT_AUTH_ARGS, credentialsFrom } from "./auth-args";
import { renderClusterStatus } from "./cluster-status-table";
import { runOrExit } from "./output";
import { configurable, resolveArgs } from "./resolve-args";

const statusArgs = configurable({
  zookeeper: { type: "string", description: "the zookeeper, host:port", default: DEFAULT_ZOOKEEPER },
  json: { type: "boolean", description: "print JSON (with --watch: one object per line)", default: false },
  watch: { type: "boolean", description: "refresh until Ctrl-C", default: false },
  "interval-ms": { type: "string", description: "how often --watch refreshes", default: "1000" },
  "timeout-ms": { type: "string", description: "how long to wait for the zookeeper's answer", default: "2000" },
  ...CLIENT_AUTH_ARGS,
} as const);

const CLEAR_SCREEN = "\u001b[H\u001b[2J";

const status = defineCommand({
  meta: { name: "status", description: "Show every broker (role, epoch, addresses, heartbeat age, uptime), the active broker and the elections held" },
  args: statusArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, statusArgs, "cluster");
      const zookeeper = parseHostPort(a.zookeeper, "--zookeeper");
      const timeoutMs = intFlag(a["timeout-ms"], "timeout-ms", { min: 1 });
      const auth = credentialsFrom(a);
      const show = (s: ClusterStatus) => (a.json ? JSON.stringify(s) : renderClusterStatus(s));
      if (!a.watch) {
        process.stdout.write(`${show(await fetchClusterStatus(zookeeper, timeoutMs, auth))}\n`);
        return;
      }
      const intervalMs = intFlag(a["interval-ms"], "interval-ms", { min: 50 });
      const redraw = process.stdout.isTTY && !a.json;
      let stopped = false;
      process.once("SIGINT", () => (stopped = true));
      process.once("SIGTERM", () => (stopped = true));
      while (!stopped) {
        let text: string;
        try {
          text = show(await fetchClusterStatus(zookeeper, timeoutMs, auth));
        } catch (error) {
          const failure = asKafkaCloneError(error);
          text = a.json ? JSON.stringify({ error: failure.code, message: failure.message }) : `kafka-clone: ${failure.describe()}`;
        }
        const stamp = a.json ? "" : `${new Date().toISOString()}  (every ${intervalMs} ms, Ctrl-C stops)\n`;
        process.stdout.write(redraw ? `${CLEAR_SCREEN}${stamp}${text}\n` : `${stamp}${text}\n${a.json ? "" : "\n"}`);
        await Bun.sleep(intervalMs);
      }
      process.exit(0);
    }),
});

export const clusterCommand = defineCommand({
  meta: { name: "cluster", description: "Look at the cluster through the zookeeper" },
  subCommands: { status },
});
