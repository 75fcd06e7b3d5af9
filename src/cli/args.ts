/** Flag checks shared by every command: unknown flags and bad numbers are clear errors. */
import type { ArgsDef } from "citty";
import { KafkaCloneError } from "../errors";

const ALWAYS_KNOWN = new Set(["help", "h", "version", "v"]);

/** Throws INVALID_ARGUMENT for a flag the command does not define (a typo must not be ignored). */
export function assertKnownFlags(rawArgs: readonly string[], definitions: ArgsDef): void {
  const known = new Set(ALWAYS_KNOWN);
  for (const [name, definition] of Object.entries(definitions)) {
    known.add(name);
    known.add(name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
    for (const alias of [definition.type === "positional" ? [] : (definition as { alias?: string | string[] }).alias ?? []].flat()) known.add(alias);
    if (definition.type === "boolean") known.add(`no-${name}`);
  }
  for (const token of rawArgs) {
    if (token === "--") break;
    const match = /^--?([^=]+)/.exec(token);
    if (!match || /^-\d/.test(token)) continue;
    if (!known.has(match[1]!)) {
      throw new KafkaCloneError("INVALID_ARGUMENT", `unknown option ${token.split("=")[0]} (see --help)`);
    }
  }
}

export interface IntRange {
  min?: number;
  max?: number;
}

export function intFlag(value: unknown, flag: string, range: IntRange = {}): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const text = String(value).trim();
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(String(value))}`);
  }
  return n;
}

export function optionalIntFlag(value: unknown, flag: string, range: IntRange = {}): number | undefined {
  return value === undefined || value === "" ? undefined : intFlag(value, flag, range);
}

export function choiceFlag<T extends string>(value: unknown, flag: string, choices: readonly T[]): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `--${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(String(value))}`);
  }
  return value as T;
}
