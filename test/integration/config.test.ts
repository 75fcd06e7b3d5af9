/**
 * Configuration on the compiled binary: flag > KAFKA_CLONE_<FLAG> > config
 * file > default, and --help shows the defaults.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cleanUpAfterThisFile, BINARY, runCli, tempDir, withTimeout } from "./harness";

cleanUpAfterThisFile();

async function readyLine(args: string[], env: Record<string, string>): Promise<Record<string, unknown>> {
  const proc = Bun.spawn([BINARY, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  try {
    const reader = proc.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await withTimeout(reader.read(), 15_000, "a ready line");
      if (done) throw new Error(`exited before its ready line: ${await new Response(proc.stderr).text()}`);
      text += new TextDecoder().decode(value);
    }
    return JSON.parse(text.slice(0, text.indexOf("\n"))) as Record<string, unknown>;
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

describe("configuration", () => {
  test("flag beats environment beats config file beats default", async () => {
    const file = path.join(tempDir(), "kafka-clone.toml");
    fs.writeFileSync(file, 'port = 0\n[zookeeper]\n"session-timeout-ms" = 700\n"metrics-port" = 0\n');
    const fromFile = await readyLine(["zookeeper", "--config", file], {});
    expect(fromFile).toMatchObject({ mode: "zookeeper", sessionTimeoutMs: 700 });
    expect(Number(fromFile.metricsPort)).toBeGreaterThan(0);
    const fromEnv = await readyLine(["zookeeper"], { KAFKA_CLONE_CONFIG: file, KAFKA_CLONE_SESSION_TIMEOUT_MS: "900" });
    expect(fromEnv.sessionTimeoutMs).toBe(900);
    const fromFlag = await readyLine(["zookeeper", "--session-timeout-ms", "800"], { KAFKA_CLONE_CONFIG: file, KAFKA_CLONE_SESSION_TIMEOUT_MS: "900" });
    expect(fromFlag.sessionTimeoutMs).toBe(800);
  });

  test("a required flag may come from the environment; a typo in the file is an error; --help shows defaults", async () => {
    const dataDir = tempDir();
    const ready = await readyLine(["broker", "--standalone"], { KAFKA_CLONE_ID: "4", KAFKA_CLONE_PORT: "0", KAFKA_CLONE_DATA_DIR: dataDir });
    expect(ready).toMatchObject({ mode: "broker", id: 4, dataDir });

    const file = path.join(tempDir(), "bad.json");
    fs.writeFileSync(file, JSON.stringify({ broker: { "data-dri": "/x" } }));
    const bad = await runCli(["broker", "--id", "1", "--config", file]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('INVALID_CONFIG');
    expect(bad.stderr).toContain('[broker] has no setting "data-dri"');

    const help = await runCli(["broker", "--help"]);
    expect(help.stdout).toMatch(/--data-dir.*Default: \.\/data/);
    expect(help.stdout).toContain("KAFKA_CLONE_<FLAG>");
  });
});
