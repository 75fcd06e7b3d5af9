import { defineCommand } from "citty";
import type { Subprocess } from "bun";
import { intFlag, optionalIntFlag } from "./args";
import { configurable, resolveArgs } from "./resolve-args";
import { printReadyLine, runOrExit, untilSignal } from "./output";
import { SERVER_AUTH_ARGS, serverAuthFrom } from "./auth-args";

const args = configurable({
  brokers: { type: "string", description: "how many brokers to run", default: "3" },
  "data-dir": { type: "string", description: "the data directory the brokers share", default: "./data" },
  "zookeeper-port": { type: "string", description: "the zookeeper's port", default: "2181" },
  "first-broker-port": { type: "string", description: "broker N listens on this port + N - 1", default: "9092" },
  "session-timeout-ms": { type: "string", description: "the zookeeper's failure threshold", default: "500" },
  "metrics-port": { type: "string", description: "Prometheus metrics: the zookeeper on this port, broker N on this port + N (0 = any free ports; off when not given)" },
  ...SERVER_AUTH_ARGS,
} as const);

const COLORS = [36, 33, 35, 32, 34, 31];

/** This same executable, run in another mode. */
function selfCommand(mode: string[]): string[] {
  const [runtime, script] = process.argv;
  return script && !script.startsWith("/$bunfs/") && /\.[cm]?[jt]s$/.test(script) ? [runtime!, script, ...mode] : [process.execPath, ...mode];
}

function prefixLines(name: string, color: number, stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream): void {
  const label = process.stdout.isTTY ? `\u001b[${color}m${name.padEnd(10)}\u001b[0m| ` : `${name.padEnd(10)}| `;
  void (async () => {
    let carry = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const lines = (carry + decoder.decode(chunk, { stream: true })).split("\n");
      carry = lines.pop() ?? "";
      for (const line of lines) out.write(`${label}${line}\n`);
    }
    if (carry) out.write(`${label}${carry}\n`);
  })();
}

export const localClusterCommand = defineCommand({
  meta: { name: "local-cluster", description: "Run a zookeeper and N brokers on this machine in the foreground (Ctrl-C stops them all)" },
  args,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, args, "local-cluster");
      const brokers = intFlag(a.brokers, "brokers", { min: 1, max: 16 });
      const zkPort = intFlag(a["zookeeper-port"], "zookeeper-port", { min: 1, max: 65535 });
      const firstPort = intFlag(a["first-broker-port"], "first-broker-port", { min: 1, max: 65535 - brokers });
      const sessionTimeout = String(intFlag(a["session-timeout-ms"], "session-timeout-ms", { min: 50 }));
      const children: { name: string; proc: Subprocess<"ignore", "pipe", "pipe"> }[] = [];
      const inherited = a.config === undefined ? [] : ["--config", a.config];
      // The secret reaches the children as a file path or in their environment, never in their argv (`ps`).
      serverAuthFrom(a);
      const secretFile = a["cluster-secret-file"];
      if (secretFile) inherited.push("--cluster-secret-file", secretFile);
      if (a["users-file"]) inherited.push("--users-file", a["users-file"]);
      const env = a["cluster-secret"] && !secretFile ? { ...process.env, KAFKA_CLONE_CLUSTER_SECRET: a["cluster-secret"] } : process.env;
      const metricsPort = optionalIntFlag(a["metrics-port"], "metrics-port", { max: 65535 - brokers });
      const metricsFlag = (offset: number) => (metricsPort === undefined ? [] : ["--metrics-port", String(metricsPort === 0 ? 0 : metricsPort + offset)]);
      const start = (name: string, mode: string[]) => {
        const proc = Bun.spawn(selfCommand([...mode, ...inherited]), { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
        const color = COLORS[children.length % COLORS.length]!;
        prefixLines(name, color, proc.stdout, process.stdout);
        prefixLines(name, color, proc.stderr, process.stdout);
        children.push({ name, proc });
      };
      start("zookeeper", ["zookeeper", "--port", String(zkPort), "--session-timeout-ms", sessionTimeout, ...metricsFlag(0)]);
      for (let id = 1; id <= brokers; id++) {
        start(`broker-${id}`, [
          "broker", "--id", String(id), "--port", String(firstPort + id - 1),
          "--zookeeper", `127.0.0.1:${zkPort}`, "--data-dir", a["data-dir"], ...metricsFlag(id),
        ]);
      }
      printReadyLine({ mode: "local-cluster", zookeeper: `127.0.0.1:${zkPort}`, brokers: Array.from({ length: brokers }, (_, i) => `127.0.0.1:${firstPort + i}`) });
      for (const { name, proc } of children) {
        void proc.exited.then((code) => process.stdout.write(`${name.padEnd(10)}| exited (${proc.signalCode ?? `code ${code}`})\n`));
      }
      await Promise.race([untilSignal(), Promise.all(children.map(({ proc }) => proc.exited))]);
      for (const { proc } of children) proc.kill("SIGTERM");
      await Promise.all(children.map(({ proc }) => proc.exited));
      process.exit(0);
    }),
});
