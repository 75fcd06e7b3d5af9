/**
 * Runs the compiled binary for integration tests: processes on port 0 that
 * announce their real ports in a JSON ready line, waited for (never slept
 * for), and all killed when the test file ends (see cleanUpAfterThisFile)
 * and, whatever happens, when the test process exits.
 */
import { afterAll } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";

/** The compiled binary; KC_BINARY names another build (e.g. one made before a fix, to see a test fail without it). */
export const BINARY = path.resolve(process.env.KC_BINARY || path.resolve(import.meta.dir, "../../dist/kafka-clone"));

const running = new Set<Subprocess>();
const tempDirs: string[] = [];

function cleanUp(): void {
  for (const proc of running) proc.kill("SIGKILL");
  running.clear();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

// A module is evaluated once per `bun test` run, so this hook belongs to the first test file
// that imports the harness only: without the others below, every later file's processes
// outlived the run (orphaned brokers and zookeepers).
afterAll(cleanUp);
process.on("exit", cleanUp);

/** Kills this file's processes and removes its directories when it ends: call at a test file's top level. */
export function cleanUpAfterThisFile(): void {
  afterAll(cleanUp);
}

export function tempDir(prefix = "kc-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export interface ServerProcess {
  proc: Subprocess<"ignore" | "pipe", "pipe", "pipe">;
  ready: Record<string, unknown>;
  port: number;
  address: string;
  /** Lines the process printed on stderr so far. */
  stderr(): string;
  /** Resolves when a stderr line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `kafka-clone <args>` and waits for its ready line. */
/** `wrap` prefixes the command (e.g. `ip netns exec <ns>`, which execs the binary: the pid stays the server's). */
export async function startServer(args: string[], options: { cwd?: string; timeoutMs?: number; wrap?: string[]; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  const proc = Bun.spawn([...(options.wrap ?? []), BINARY, ...args], { cwd: options.cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore", env });
  running.add(proc);
  proc.exited.then(() => running.delete(proc));
  let stderrText = "";
  const logWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      stderrText += decoder.decode(chunk, { stream: true });
      for (const waiter of [...logWaiters]) {
        const line = stderrText.split("\n").find((l) => waiter.pattern.test(l));
        if (line !== undefined) {
          logWaiters.splice(logWaiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  })();
  const ready = await readReadyLine(proc, options.timeoutMs ?? 15_000, () => stderrText);
  const port = Number(ready.port);
  const host = String(ready.host ?? "127.0.0.1");
  return {
    proc,
    ready,
    port,
    address: `${host}:${port}`,
    stderr: () => stderrText,
    waitForLog: (pattern, timeoutMs = 10_000) =>
      withTimeout(
        new Promise<string>((resolve) => {
          const line = stderrText.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) resolve(line);
          else logWaiters.push({ pattern, resolve });
        }),
        timeoutMs,
        `log line ${pattern}`,
      ),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

async function readReadyLine(proc: Subprocess<"ignore" | "pipe", "pipe", "pipe">, timeoutMs: number, stderr: () => string): Promise<Record<string, unknown>> {
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const read = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`process exited before its ready line; stderr:\n${stderr()}`);
      buffered += decoder.decode(value, { stream: true });
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const ready = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        if (ready.event !== "ready") throw new Error(`first line is not a ready line: ${buffered.slice(0, newline)}`);
        reader.releaseLock();
        return ready;
      }
    }
  })();
  return withTimeout(read, timeoutMs, `ready line from ${BINARY}`);
}

export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `kafka-clone <args>` to completion. */
export async function runCli(args: string[], options: { stdin?: string | Uint8Array; cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  const proc = Bun.spawn([BINARY, ...args], {
    env: options.env ? { ...process.env, ...options.env } : undefined,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(proc);
  try {
    const [stdout, stderr, exitCode] = await withTimeout(
      Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
      options.timeoutMs ?? 60_000,
      `kafka-clone ${args.join(" ")}`,
    );
    return { exitCode, stdout, stderr };
  } finally {
    proc.kill("SIGKILL");
    running.delete(proc);
  }
}

/** Starts a CLI process whose output is read as it comes (a consumer left running). */
export function spawnCli(args: string[], options: { cwd?: string } = {}): Subprocess<"ignore", "pipe", "pipe"> {
  const proc = Bun.spawn([BINARY, ...args], { cwd: options.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running.add(proc);
  proc.exited.then(() => running.delete(proc));
  return proc;
}

/** Like spawnCli, with a stdin the test writes to as it goes (proc.stdin.write / end). */
export function spawnCliWithInput(args: string[], options: { cwd?: string } = {}): Subprocess<"pipe", "pipe", "pipe"> {
  const proc = Bun.spawn([BINARY, ...args], { cwd: options.cwd, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  running.add(proc);
  proc.exited.then(() => running.delete(proc));
  return proc;
}

/** Collects a stream's text as it arrives; `lines()` are the complete lines so far. */
export function collectText(stream: ReadableStream<Uint8Array>): { text(): string; lines(): string[]; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return {
    text: () => text,
    lines: () => {
      const end = text.lastIndexOf("\n");
      return end < 0 ? [] : text.slice(0, end).split("\n");
    },
    done,
  };
}

/** A standalone broker on port 0 with its own data directory. */
export async function startStandaloneBroker(extraArgs: string[] = [], dataDir = tempDir()): Promise<ServerProcess & { dataDir: string }> {
  const server = await startServer(["broker", "--id", "1", "--port", "0", "--standalone", "--data-dir", dataDir, ...extraArgs]);
  return { ...server, dataDir };
}

/** Waits until `check` returns true, polling; fails after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}
