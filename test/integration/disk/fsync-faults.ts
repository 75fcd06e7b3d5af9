/**
 * Real fsync failures in one running process: strace attaches to it and makes
 * every fdatasync fail with EIO (`-e inject=fdatasync:error=EIO`) until it is
 * detached — what a failing device or a lost NFS server does to one broker
 * while the others' view of the same files is fine. Needs strace and ptrace
 * permission; `fsyncFaultSupport()` says why not otherwise.
 */
import { afterAll } from "bun:test";
import type { Subprocess } from "bun";
import { withTimeout } from "../harness";

const attached = new Set<Subprocess>();

/** Detaches every strace this file started: call at a test file's top level. */
export function detachAfterThisFile(): void {
  afterAll(async () => {
    await Promise.all([...attached].map(detach));
    attached.clear();
  });
}

/** SIGINT detaches strace; one stuck on a tracee that died is killed. */
async function detach(proc: Subprocess): Promise<void> {
  proc.kill("SIGINT");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 2000);
  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

export function fsyncFaultSupport(): string | null {
  if (Bun.which("strace") === null) return "strace is not installed (apt-get install strace)";
  const probe = Bun.spawnSync(["strace", "-o", "/dev/null", "-e", "inject=fdatasync:error=EIO", "true"], { stderr: "pipe" });
  return probe.exitCode === 0 ? null : `strace cannot trace here: ${probe.stderr.toString().trim()}`;
}

export interface FsyncFault {
  /** Detaches: fdatasync works again. */
  stop(): Promise<void>;
}

/** Makes every fdatasync of process `pid` (all its threads) fail with EIO until `stop()`. */
export function failFsyncs(pid: number): Promise<FsyncFault> {
  return injectIntoFsyncs(pid, "error=EIO");
}

async function injectIntoFsyncs(pid: number, fault: string): Promise<FsyncFault> {
  const proc = Bun.spawn(["strace", "-f", "-p", String(pid), "-o", "/dev/null", "-e", "trace=fdatasync", "-e", `inject=fdatasync:${fault}`], {
    stdout: "ignore",
    stderr: "pipe",
  });
  attached.add(proc);
  let output = "";
  const decoder = new TextDecoder();
  await withTimeout((async () => {
    for await (const chunk of proc.stderr) {
      output += decoder.decode(chunk, { stream: true });
      if (/attached/.test(output)) return;
    }
    throw new Error(`strace exited: ${output}`);
  })(), 10_000, `strace to attach to ${pid}`);
  return {
    async stop() {
      await detach(proc);
      attached.delete(proc);
    },
  };
}
