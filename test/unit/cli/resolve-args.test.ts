import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs, type ArgsDef, type ParsedArgs } from "citty";
import { configurable, envName, resolveArgs } from "../../../src/cli/resolve-args";

const defs = configurable({
  id: { type: "string", description: "id", required: true },
  "data-dir": { type: "string", description: "dir", default: "./data" },
  port: { type: "string", description: "port", default: "9092" },
  standalone: { type: "boolean", description: "alone", default: false },
  broker: { type: "string", description: "brokers", alias: ["bootstrap"] },
} as const satisfies ArgsDef);

function resolve(rawArgs: string[], env: Record<string, string> = {}): Record<string, unknown> {
  return resolveArgs({ rawArgs, args: parseArgs(rawArgs, defs) as ParsedArgs<typeof defs> }, defs, "broker", env);
}

function configFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-config-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe("resolveArgs: flag > environment > config file > default", () => {
  test("defaults when nothing else is given", () => {
    const a = resolve(["--id", "1"]);
    expect(a["data-dir"]).toBe("./data");
    expect(a.standalone).toBe(false);
  });

  test("environment variables are named KAFKA_CLONE_<FLAG>", () => {
    expect(envName("data-dir")).toBe("KAFKA_CLONE_DATA_DIR");
    const a = resolve([], { KAFKA_CLONE_ID: "7", KAFKA_CLONE_DATA_DIR: "/env", KAFKA_CLONE_STANDALONE: "true" });
    expect([a.id, a["data-dir"], a.standalone]).toEqual(["7", "/env", true]);
  });

  test("a flag beats the environment, also as an alias, camelCase or --no-", () => {
    const env = { KAFKA_CLONE_ID: "7", KAFKA_CLONE_BROKER: "env:1", KAFKA_CLONE_STANDALONE: "true" };
    const a = resolve(["--id=3", "--bootstrap", "flag:1", "--no-standalone"], env);
    expect([a.id, a.broker, a.standalone]).toEqual(["3", "flag:1", false]);
    expect(resolve(["--dataDir", "/flag"], { ...env, KAFKA_CLONE_DATA_DIR: "/env" })["data-dir"]).toBe("/flag");
  });

  test("TOML: the command's own table overrides top-level keys; the environment beats both", () => {
    const file = configFile("kc.toml", 'port = 1\n"data-dir" = "/top"\n[broker]\nport = 2\nstandalone = true\nid = 5\n[zookeeper]\nport = 3\n');
    const a = resolve(["--config", file]);
    expect([a.id, a.port, a["data-dir"], a.standalone]).toEqual(["5", "2", "/top", true]);
    expect(resolve([], { KAFKA_CLONE_CONFIG: file, KAFKA_CLONE_PORT: "4" }).port).toBe("4");
    expect(resolve(["--config", file, "--port", "6"], { KAFKA_CLONE_PORT: "4" }).port).toBe("6");
  });

  test("JSON files work the same way", () => {
    const file = configFile("kc.json", JSON.stringify({ broker: { id: 9, "data-dir": "/json" } }));
    const a = resolve(["--config", file]);
    expect([a.id, a["data-dir"]]).toEqual(["9", "/json"]);
  });

  test("mistakes are clear errors", () => {
    expect(() => resolve([])).toThrow(/--id is required \(or KAFKA_CLONE_ID/);
    expect(() => resolve(["--id", "1", "--prot", "1"])).toThrow(/unknown option --prot/);
    expect(() => resolve(["--id", "1"], { KAFKA_CLONE_STANDALONE: "maybe" })).toThrow(/KAFKA_CLONE_STANDALONE must be true or false/);
    expect(() => resolve(["--config", configFile("bad.toml", "[broker]\nprot = 1\n")])).toThrow(/\[broker\] has no setting "prot"/);
    expect(() => resolve(["--config", configFile("bad.json", "{")])).toThrow(/not valid JSON/);
    expect(() => resolve(["--config", "/nonexistent/kc.toml"])).toThrow(/cannot read the config file/);
  });

  test("top-level keys another command owns are ignored", () => {
    const a = resolve(["--config", configFile("shared.toml", 'id = 1\n"session-timeout-ms" = 500\n')]);
    expect(a.id).toBe("1");
  });
});
