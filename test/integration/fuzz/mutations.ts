/**
 * Seeded mutations of valid frames and datagrams, for the port fuzzers: bit
 * flips, interesting bytes, truncations, length fields set to edge values
 * (0, 3, off by one, the maximum, 4 GiB), duplicated and spliced slices, and
 * MessagePack-level garbling (a field replaced by a random value, dropped or
 * duplicated) re-framed with consistent lengths. Every mutation is a pure
 * function of the generator, so a case replays from its seed.
 */
import { Packr, Unpackr } from "msgpackr";
import { randomBytes, randomValue } from "../garbage";

export type Random = () => number;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

export function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[int(random, items.length)]!;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc1 /* never-used msgpack byte */, 0xdd /* map32 */, 0xc6 /* bin32 */];

/** Values a length field could be set to that probe edges. */
function interestingLengths(actual: number, maxFrameBytes: number): number[] {
  return [0, 1, 3, 4, 5, actual - 1, actual + 1, actual * 2, maxFrameBytes, maxFrameBytes + 1, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000];
}

export interface MutationOptions {
  /** The port's maximum frame size, for length-field edge values. */
  maxFrameBytes: number;
  /** Offsets of big-endian u32 length fields in a valid input (e.g. [0, 4] for a request frame). */
  u32LengthFields?: number[];
  /** Offsets of big-endian u16 length fields (heartbeat body length). */
  u16LengthFields?: number[];
  /** Where the MessagePack body starts and how its length is re-declared after garbling. */
  reframe?: (body: Uint8Array, original: Uint8Array) => Uint8Array;
  /** Where the MessagePack body sits inside a valid input. */
  body?: (input: Uint8Array) => { start: number; end: number };
}

type Mutator = (random: Random, input: Uint8Array, options: MutationOptions, corpus: readonly Uint8Array[]) => Uint8Array;

const flipBits: Mutator = (random, input) => {
  const out = input.slice();
  const flips = 1 + int(random, 8);
  for (let i = 0; i < flips && out.length > 0; i++) out[int(random, out.length)]! ^= 1 << int(random, 8);
  return out;
};

const interestingBytes: Mutator = (random, input) => {
  const out = input.slice();
  const count = 1 + int(random, 4);
  for (let i = 0; i < count && out.length > 0; i++) out[int(random, out.length)] = pick(random, INTERESTING_BYTES);
  return out;
};

const truncate: Mutator = (random, input) => input.slice(0, int(random, input.length));

const extend: Mutator = (random, input) => {
  const tail = randomBytes(random, 1 + int(random, 64));
  const out = new Uint8Array(input.length + tail.length);
  out.set(input);
  out.set(tail, input.length);
  return out;
};

const corruptLength: Mutator = (random, input, options) => {
  const u32 = options.u32LengthFields ?? [];
  const u16 = options.u16LengthFields ?? [];
  const out = input.slice();
  const dv = new DataView(out.buffer);
  if (u16.length > 0 && (u32.length === 0 || random() < 0.5)) {
    const at = pick(random, u16);
    if (at + 2 <= out.length) dv.setUint16(at, pick(random, [0, 1, dv.getUint16(at) - 1, dv.getUint16(at) + 1, 0xffff, int(random, 0x10000)]) & 0xffff);
    return out;
  }
  if (u32.length === 0) return flipBits(random, input, options, []);
  const at = pick(random, u32);
  if (at + 4 > out.length) return out;
  const value = random() < 0.8 ? pick(random, interestingLengths(dv.getUint32(at), options.maxFrameBytes)) : int(random, 2 ** 32);
  dv.setUint32(at, value >>> 0);
  return out;
};

/** A slice of the input copied in again somewhere (repeated fields, repeated frames). */
const duplicateSlice: Mutator = (random, input) => {
  if (input.length === 0) return input;
  const from = int(random, input.length);
  const length = 1 + int(random, Math.min(64, input.length - from));
  const at = int(random, input.length + 1);
  const out = new Uint8Array(input.length + length);
  out.set(input.subarray(0, at));
  out.set(input.subarray(from, from + length), at);
  out.set(input.subarray(at), at + length);
  return out;
};

/** The head of one valid input and the tail of another. */
const splice: Mutator = (random, input, _options, corpus) => {
  const other = pick(random, corpus);
  const cut = int(random, input.length + 1);
  const otherCut = int(random, other.length + 1);
  const out = new Uint8Array(cut + other.length - otherCut);
  out.set(input.subarray(0, cut));
  out.set(other.subarray(otherCut), cut);
  return out;
};

/** Decodes the MessagePack body, garbles one place in it, encodes it and re-frames it with consistent lengths. */
const garbleFields: Mutator = (random, input, options) => {
  if (!options.body || !options.reframe) return flipBits(random, input, options, []);
  const { start, end } = options.body(input);
  let value: unknown;
  try {
    value = unpackr.unpack(input.subarray(start, end));
  } catch {
    return flipBits(random, input, options, []);
  }
  const garbled = garbleValue(random, value, 0);
  let body: Uint8Array;
  try {
    body = packr.pack(garbled);
  } catch {
    return flipBits(random, input, options, []);
  }
  return options.reframe(body, input);
};

function garbleValue(random: Random, value: unknown, depth: number): unknown {
  const descend = depth < 4 && random() < 0.7;
  if (Array.isArray(value) && value.length > 0) {
    const copy = [...value];
    const i = int(random, copy.length);
    const action = int(random, 4);
    if (descend && action === 0) copy[i] = garbleValue(random, copy[i], depth + 1);
    else if (action === 1) copy.splice(i, 0, copy[i]); // duplicated element
    else if (action === 2) copy.splice(i, 1); // dropped element
    else copy[i] = randomValue(random);
    return copy;
  }
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0) return randomValue(random);
    const key = pick(random, keys);
    const action = int(random, 5);
    if (descend && action === 0) copy[key] = garbleValue(random, copy[key], depth + 1);
    else if (action === 1) delete copy[key];
    else if (action === 2) copy[`${key}${pick(random, ["", "_", "\u0000", "__proto__"])}`] = copy[key]; // a near-duplicate key
    else if (action === 3) copy[key] = pick(random, edgeValues);
    else copy[key] = randomValue(random);
    return copy;
  }
  return random() < 0.5 ? pick(random, edgeValues) : randomValue(random);
}

const edgeValues: unknown[] = [
  -1, 0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1.5, Number.NaN, Infinity,
  "", "x".repeat(300), "../..", "__proto__", "constructor", null, true, [], {}, new Uint8Array(0),
];

const MUTATORS: Mutator[] = [flipBits, interestingBytes, truncate, extend, corruptLength, corruptLength, duplicateSlice, splice, garbleFields, garbleFields];

/** One to three stacked mutations of `input`. */
export function mutate(random: Random, input: Uint8Array, options: MutationOptions, corpus: readonly Uint8Array[]): Uint8Array {
  let out = input;
  const rounds = 1 + int(random, 3);
  for (let i = 0; i < rounds; i++) out = pick(random, MUTATORS)(random, out, options, corpus);
  return out;
}

/** Garbage with no structure at all: random bytes, short or long. */
export function noise(random: Random): Uint8Array {
  return randomBytes(random, 1 + int(random, random() < 0.8 ? 64 : 8192));
}
