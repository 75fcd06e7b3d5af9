/**
 * One precedence for every setting of every command:
 *
 *   flag on the command line > KAFKA_CLONE_<FLAG> environment variable
 *   > the config file (--config or KAFKA_CLONE_CONFIG) > the flag's default
 *
 * citty parses the command line and fills in defaults; `resolveArgs` then
 * replaces each value not given on the command line by the environment's or
 * the file's. Required flags are checked here (not by citty), since the
 * environment or the file may supply them.
 */
import type { ArgDef, ArgsDef, ParsedArgs } from "citty";
import { KafkaCloneError } from "../errors";
import { assertKnownFlags } from "./args";
import { type ConfigValue, readConfigFile, settingsFor } from "./config-file";

export const ENV_PREFIX = "KAFKA_CLONE_";

export const CONFIG_ARG = {
  config: {
    type: "string",
    description: `settings file, JSON or TOML, keys named like the flags (or ${ENV_PREFIX}CONFIG). Every flag also reads ${ENV_PREFIX}<FLAG>, e.g. ${ENV_PREFIX}DATA_DIR; precedence: flag > environment > file > default`,
  },
} as const satisfies ArgsDef;

const REQUIRED = new WeakMap<ArgsDef, string[]>();

/**
 * The command's flags plus --config, with `required` left to `resolveArgs`
 * (citty would reject a required flag that the environment supplies).
 */
export function configurable<T extends ArgsDef>(args: T): T & typeof CONFIG_ARG {
  const required: string[] = [];
  const copy: ArgsDef = {};
  for (const [name, definition] of Object.entries(args)) {
    if (definition.type !== "positional" && definition.required) {
      required.push(name);
      copy[name] = { ...definition, required: false, description: `${definition.description ?? ""} (required)` } as ArgDef;
    } else {
      copy[name] = definition;
    }
  }
  copy.config = CONFIG_ARG.config;
  REQUIRED.set(copy, required);
  return copy as T & typeof CONFIG_ARG;
}

export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, "_");
}

interface CommandContext<T extends ArgsDef> {
  rawArgs: string[];
  args: ParsedArgs<T>;
}

/** The parsed flags with the environment and config file applied; checks unknown and required flags. */
export function resolveArgs<T extends ArgsDef>(
  context: CommandContext<T>,
  definitions: T,
  section: string,
  env: Record<string, string | undefined> = process.env,
): ParsedArgs<T> {
  assertKnownFlags(context.rawArgs, definitions);
  const given = flagsOnCommandLine(context.rawArgs, definitions);
  const resolved: Record<string, unknown> = { ...context.args };
  const configFile = given.has("config") ? String(resolved.config) : env[`${ENV_PREFIX}CONFIG`] || undefined;
  const flags = Object.entries(definitions).filter(([name, d]) => d.type !== "positional" && name !== "config");
  const fromFile = configFile === undefined ? new Map<string, ConfigValue>() : settingsFor(readConfigFile(configFile), section, new Set(flags.map(([name]) => name)), configFile);
  for (const [name, definition] of flags) {
    if (given.has(name)) continue;
    const fromEnv = env[envName(name)];
    const value = fromEnv !== undefined && fromEnv !== "" ? fromEnv : fromFile.get(name);
    if (value === undefined) continue;
    const source = fromEnv !== undefined && fromEnv !== "" ? envName(name) : `${name} in ${configFile}`;
    resolved[name] = definition.type === "boolean" ? toBoolean(value, source) : String(value);
  }
  for (const name of REQUIRED.get(definitions) ?? []) {
    if (resolved[name] === undefined || resolved[name] === "") {
      throw new KafkaCloneError("INVALID_ARGUMENT", `--${name} is required (or ${envName(name)}, or ${name} in the config file)`);
    }
  }
  return resolved as ParsedArgs<T>;
}

/** Canonical names of the flags that appear on the command line. */
function flagsOnCommandLine(rawArgs: readonly string[], definitions: ArgsDef): Set<string> {
  const byToken = new Map<string, string>();
  for (const [name, definition] of Object.entries(definitions)) {
    if (definition.type === "positional") continue;
    byToken.set(name, name);
    byToken.set(name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), name);
    for (const alias of [(definition as { alias?: string | string[] }).alias ?? []].flat()) byToken.set(alias, name);
    if (definition.type === "boolean") byToken.set(`no-${name}`, name);
  }
  const given = new Set<string>();
  for (const token of rawArgs) {
    if (token === "--") break;
    const match = /^--?([^=]+)/.exec(token);
    const name = match ? byToken.get(match[1]!) : undefined;
    if (name !== undefined) given.add(name);
  }
  return given;
}

function toBoolean(value: ConfigValue, source: string): boolean {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  throw new KafkaCloneError("INVALID_ARGUMENT", `${source} must be true or false, got ${JSON.stringify(String(value))}`);
}
