/**
 * Checks for values decoded from the wire. Every failure is an
 * INVALID_REQUEST naming the field, so a bad frame gets a clear answer.
 */
import { KafkaCloneError } from "../errors";

function invalid(what: string, expected: string, value: unknown): never {
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : Array.isArray(value) ? "a list" : String(value);
  throw new KafkaCloneError("INVALID_REQUEST", `${what} must be ${expected}, got ${shown}`);
}

export type WireObject = Record<string, unknown>;

/**
 * The largest election term or leader epoch a peer may send. Both only ever
 * grow by one, so no cluster comes near this; a message carrying 2^53 - 1
 * would push them past the safe integers, where +1 is no longer exact (one
 * such election message made every broker fail to encode its heartbeats).
 */
export const MAX_TERM_OR_EPOCH = 2 ** 50;

export function asObject(value: unknown, what: string): WireObject {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
    invalid(what, "an object", value);
  }
  return value as WireObject;
}

export function asString(value: unknown, what: string, maxLength = 1024): string {
  if (typeof value !== "string" || value.length > maxLength) invalid(what, `a string of at most ${maxLength} characters`, value);
  return value as string;
}

export function asInt(value: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    invalid(what, `an integer from ${min} to ${max}`, value);
  }
  return value as number;
}

export function asBoolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") invalid(what, "true or false", value);
  return value as boolean;
}

export function asArray(value: unknown, what: string, maxLength = 100_000): unknown[] {
  if (!Array.isArray(value) || value.length > maxLength) invalid(what, `a list of at most ${maxLength} items`, value);
  return value as unknown[];
}

export function asOneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) invalid(what, `one of ${allowed.join(", ")}`, value);
  return value as T;
}

export function asBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) invalid(what, "bytes", value);
  return value as Uint8Array;
}

export function optional<T>(value: unknown, read: (v: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : read(value);
}
