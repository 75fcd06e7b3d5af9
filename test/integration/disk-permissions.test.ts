/**
 * Permission errors, as a user who may not write the data directory (root
 * ignores file modes, so the compiled broker runs as `nobody` through
 * setpriv): a data directory it cannot create, one it cannot write, and a
 * partition's files left by another user. Each time the broker exits with
 * status 1 and one clear STORAGE_ERROR line naming the path and the
 * refused uid — never a stack trace, never a ready line.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { BINARY, cleanUpAfterThisFile, runCli, startStandaloneBroker, tempDir, withTimeout } from "./harness";

setDefaultTimeout(60_000);
cleanUpAfterThisFile();

const NOBODY = 65534;

function support(): string | null {
  if (process.getuid?.() !== 0) return "not root: cannot switch to the nobody user";
  if (Bun.which("setpriv") === null) return "setpriv is not installed (util-linux)";
  const probe = Bun.spawnSync(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BINARY, "--version"], { stdout: "pipe", stderr: "pipe" });
  return probe.exitCode === 0 ? null : `the binary does not run as nobody: ${probe.stderr.toString().trim()}`;
}

const unsupported = support();
if (unsupported !== null) console.warn(`SKIPPED permission tests: ${unsupported}`);

/** A directory nobody may enter (so setpriv'd processes can reach what is inside), owned by root. */
function rootOwnedDir(): string {
  const dir = tempDir("kc-perm-");
  fs.chmodSync(dir, 0o755);
  return dir;
}

async function brokerAsNobody(dataDir: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(
    ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BINARY, "broker", "--id", "1", "--port", "0", "--standalone", "--data-dir", dataDir],
    { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  try {
    const [stdout, stderr, exitCode] = await withTimeout(
      Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
      20_000,
      "the broker running as nobody to exit",
    );
    return { exitCode, stdout, stderr };
  } finally {
    proc.kill("SIGKILL");
  }
}

function expectClearRefusal(result: { exitCode: number; stdout: string; stderr: string }, naming: string): void {
  expect(result.exitCode).toBe(1);
  expect(result.stdout).not.toContain('"event":"ready"');
  expect(result.stderr).toContain("STORAGE_ERROR");
  expect(result.stderr).toContain(naming);
  expect(result.stderr).toContain("permission denied");
  expect(result.stderr).toContain(`uid ${NOBODY}`);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain("UNKNOWN");
}

describe.skipIf(unsupported !== null)("a data directory the broker's user may not write", () => {
  test("one it cannot create", async () => {
    const dataDir = path.join(rootOwnedDir(), "data");
    const result = await brokerAsNobody(dataDir);
    expectClearRefusal(result, dataDir);
    console.log(`as nobody, cannot create: ${result.stderr.trim()}`);
  });

  test("one that exists but belongs to root", async () => {
    const dataDir = path.join(rootOwnedDir(), "data");
    fs.mkdirSync(dataDir, { mode: 0o755 });
    const result = await brokerAsNobody(dataDir);
    expectClearRefusal(result, dataDir);
    console.log(`as nobody, cannot write: ${result.stderr.trim()}`);
  });

  test("one of its own whose partition files another user left behind", async () => {
    const dataDir = path.join(rootOwnedDir(), "data");
    const root = await startStandaloneBroker([], dataDir);
    expect((await runCli(["produce", "--topic", "orders", "--create", "--broker", root.address], { stdin: "one\ntwo\n" })).exitCode).toBe(0);
    expect(await root.stop()).toBe(0);
    // Everything handed to nobody except the partition's directory and files.
    const partitionDir = path.join(dataDir, "topics", "orders", "0");
    const chown = (target: string) => {
      fs.chownSync(target, NOBODY, 65534);
      if (fs.statSync(target).isDirectory()) for (const name of fs.readdirSync(target)) chown(path.join(target, name));
    };
    chown(dataDir);
    for (const name of fs.readdirSync(partitionDir)) fs.chownSync(path.join(partitionDir, name), 0, 0);
    fs.chownSync(partitionDir, 0, 0);
    fs.chmodSync(partitionDir, 0o755);
    const result = await brokerAsNobody(dataDir);
    expectClearRefusal(result, partitionDir);
    console.log(`as nobody, a root-owned partition: ${result.stderr.trim()}`);
  });
});
