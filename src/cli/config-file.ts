/**
 * The optional configuration file: JSON (`.json`) or TOML (anything else),
 * keys named like the flags. Top-level keys apply to every command that has
 * such a flag; a table named after the command (`[broker]`, `[zookeeper]`, …)
 * applies to that command only and overrides the top level.
 */
import fs from "node:fs";
import { KafkaCloneError } from "../errors";

export type ConfigValue = string | number | boolean;
export type ConfigTable = Record<string, unknown>;

export function readConfigFile(file: string): ConfigTable {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `cannot read the config file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith(".json") ? JSON.parse(text) : Bun.TOML.parse(text);
  } catch (error) {
    throw new KafkaCloneError("INVALID_CONFIG", `${file} is not valid ${file.endsWith(".json") ? "JSON" : "TOML"}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new KafkaCloneError("INVALID_CONFIG", `${file} must hold a table of settings`);
  }
  return parsed as ConfigTable;
}

/**
 * The settings for `section` (the command's name): top-level scalars, then
 * that section's keys. A key in the command's own section that it has no flag
 * for is an error (a typo must not be ignored); other top-level keys may
 * belong to other commands and are left alone.
 */
export function settingsFor(table: ConfigTable, section: string, known: ReadonlySet<string>, file: string): Map<string, ConfigValue> {
  const settings = new Map<string, ConfigValue>();
  for (const [key, value] of Object.entries(table)) {
    if (isTable(value) || !known.has(key)) continue;
    settings.set(key, scalar(value, key, file));
  }
  const own = table[section];
  if (own !== undefined) {
    if (!isTable(own)) throw new KafkaCloneError("INVALID_CONFIG", `${file}: [${section}] must be a table`);
    for (const [key, value] of Object.entries(own)) {
      if (!known.has(key)) throw new KafkaCloneError("INVALID_CONFIG", `${file}: [${section}] has no setting ${JSON.stringify(key)} (see ${section} --help)`);
      settings.set(key, scalar(value, `${section}.${key}`, file));
    }
  }
  return settings;
}

function isTable(value: unknown): value is ConfigTable {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function scalar(value: unknown, key: string, file: string): ConfigValue {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  throw new KafkaCloneError("INVALID_CONFIG", `${file}: ${key} must be a string, number or boolean`);
}
