/** Shared helpers for the storage engine tests: temp dirs, a seeded PRNG, FileIO wrappers. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KafkaCloneError, type ErrorCode } from "../../../src/errors";
import type { Logger } from "../../../src/logger";
import { nodeFileIO, type FileIO } from "../../../src/log/file-io";
import { decodeRecords, type ProducerRecord, type StoredRecord } from "../../../src/log/record-codec";
import { declaredFrameSize } from "../../../src/log/batch-frame";

/** Creates temp dirs and removes them all in `cleanup()` (call it from afterEach). */
export class TempDirs {
  private dirs: string[] = [];

  make(prefix = "kc-log-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export { SeededRandom as Rng } from "../../seeded-random";

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

/** Decodes every record of every frame laid back to back in `data`. */
export function decodeAll(data: Uint8Array): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (let pos = 0; pos < data.length; ) {
    const size = declaredFrameSize(data, pos);
    if (size <= 4) throw new Error(`bad frame length at ${pos}`);
    out.push(...decodeRecords(data, pos));
    pos += size;
  }
  return out;
}

export function expectedStored(record: ProducerRecord, offset: number): StoredRecord {
  return {
    offset,
    timestamp: record.timestamp!,
    key: record.key ?? null,
    value: record.value,
    headers: record.headers ?? [],
  };
}

/** Plain, comparable form of a record (Uint8Array → number[]), for toEqual across Buffer/Uint8Array. */
export function plain(record: StoredRecord): unknown {
  const b = (x: Uint8Array | null) => (x === null ? null : Array.from(x));
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: b(record.key),
    value: b(record.value),
    headers: record.headers.map(([n, v]) => [n, Array.from(v)]),
  };
}

export async function expectCode(action: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<KafkaCloneError> {
  let caught: unknown;
  try {
    if (typeof action === "function") await action();
    else await action;
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof KafkaCloneError)) throw new Error(`expected ${code}, got ${caught === undefined ? "no error" : String(caught)}`);
  if (caught.code !== code) throw new Error(`expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** A FileIO that remembers which path each fd belongs to and counts bytes read per path. */
export class TrackingIO implements FileIO {
  readonly paths = new Map<number, string>();
  readonly bytesRead = new Map<string, number>();
  datasyncCalls = 0;
  logWrites = 0;
  /** Set to intercept writes to `.log` files; return a number to fake a short write. */
  onLogWrite: ((fd: number, chunks: Uint8Array[]) => number | undefined) | null = null;
  /** Set to intercept async datasync calls. */
  onDatasync: ((fd: number) => Promise<void> | undefined) | null = null;

  constructor(private readonly inner: FileIO = nodeFileIO) {}

  openAppend(p: string, exclusive?: boolean): number {
    const fd = this.inner.openAppend(p, exclusive);
    this.paths.set(fd, p);
    return fd;
  }
  openRead(p: string): number {
    const fd = this.inner.openRead(p);
    this.paths.set(fd, p);
    return fd;
  }
  close(fd: number): void {
    this.inner.close(fd);
    this.paths.delete(fd);
  }
  size(fd: number): number {
    return this.inner.size(fd);
  }
  pread(fd: number, into: Uint8Array, position: number): number {
    const n = this.inner.pread(fd, into, position);
    const p = this.paths.get(fd) ?? `fd:${fd}`;
    this.bytesRead.set(p, (this.bytesRead.get(p) ?? 0) + n);
    return n;
  }
  writev(fd: number, chunks: Uint8Array[]): number {
    if (this.paths.get(fd)?.endsWith(".log")) this.logWrites++;
    if (this.onLogWrite !== null && this.paths.get(fd)?.endsWith(".log")) {
      const n = this.onLogWrite(fd, chunks);
      if (n !== undefined) return n;
    }
    return this.inner.writev(fd, chunks);
  }
  datasync(fd: number): Promise<void> {
    this.datasyncCalls++;
    const hooked = this.onDatasync?.(fd);
    return hooked ?? this.inner.datasync(fd);
  }
  datasyncSync(fd: number): void {
    this.inner.datasyncSync(fd);
  }
  truncate(fd: number, length: number): void {
    this.inner.truncate(fd, length);
  }
  syncDirectory(p: string): void {
    this.inner.syncDirectory(p);
  }

  readFrom(suffix: string): number {
    let total = 0;
    for (const [p, n] of this.bytesRead) if (p.endsWith(suffix)) total += n;
    return total;
  }

  resetCounts(): void {
    this.bytesRead.clear();
    this.datasyncCalls = 0;
    this.logWrites = 0;
  }
}

export function errnoError(code: string, message = code): NodeJS.ErrnoException {
  const error = new Error(`${code}: ${message}`) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/** A promise plus its resolve/reject, for gating fake I/O. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Copies a directory tree (a "crash image" of files as they are now). */
export function copyTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

/** Resolves once `condition()` is true, checking after each macrotask. */
export async function until(condition: () => boolean, what = "condition", maxTurns = 100_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (condition()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export function listTree(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (fs.statSync(full).isDirectory()) walk(full, r);
    }
  };
  walk(root, "");
  return out;
}
