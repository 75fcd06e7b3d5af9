/**
 * The broker under test: the compiled binary in its own process, on port 0,
 * found through its JSON ready line. Its CPU time is read from /proc so each
 * phase can say how busy the broker was.
 */
import fs from "node:fs";
import type { Subprocess } from "bun";
import { type ProcessProbe, schedWaitSeconds } from "./meter";

export interface BrokerProcess extends ProcessProbe {
  host: string;
  port: number;
  /** The broker's Prometheus port, when it was started with one. */
  metricsPort: number | null;
  pid: number;
  /** User + system CPU seconds the broker used so far (NaN where /proc is missing). */
  cpuSeconds(): number;
  /** The last lines the broker printed on stderr (for error reports). */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous last resort (process exit handlers). */
  kill(): void;
}

const STDERR_KEEP = 8 * 1024;
/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux we run on. */
const CLOCK_TICKS = 100;

function procCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

async function readReadyLine(proc: Subprocess<"ignore", "pipe", "pipe">, timeoutMs: number, stderr: () => string): Promise<Record<string, unknown>> {
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`broker printed no ready line within ${timeoutMs} ms; stderr:\n${stderr()}`)), timeoutMs);
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) throw new Error(`broker exited before its ready line (code ${await proc.exited}); stderr:\n${stderr()}`);
      text += decoder.decode(value, { stream: true });
      for (const line of text.split("\n").slice(0, -1)) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.mode === "broker") return parsed;
        } catch {
          // not the ready line
        }
      }
      text = text.slice(text.lastIndexOf("\n") + 1);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    // Keep draining stdout so the broker never blocks on a full pipe.
    void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  }
}

export async function startBroker(binary: string, dataDir: string, extraArgs: string[] = [], timeoutMs = 15_000): Promise<BrokerProcess> {
  if (!fs.existsSync(binary)) throw new Error(`${binary} does not exist; run make build first`);
  const args = [binary, "broker", "--id", "1", "--standalone", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--log-level", "warn", ...extraArgs];
  const proc = Bun.spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let stderrText = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      stderrText = (stderrText + decoder.decode(chunk, { stream: true })).slice(-STDERR_KEEP);
    }
  })().catch(() => {});
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  };
  let ready: Record<string, unknown>;
  try {
    ready = await readReadyLine(proc, timeoutMs, () => stderrText);
  } catch (error) {
    kill();
    throw error;
  }
  return {
    host: String(ready.host ?? "127.0.0.1"),
    port: Number(ready.port),
    metricsPort: typeof ready.metricsPort === "number" ? ready.metricsPort : null,
    pid: proc.pid,
    cpuSeconds: () => procCpuSeconds(proc.pid),
    waitSeconds: () => schedWaitSeconds(proc.pid),
    stderrTail: () => stderrText,
    kill,
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(kill, graceMs);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}
