/** A partition log per test, opened on a TrackingIO, and helpers to append and read it back. */
import fs from "node:fs";
import path from "node:path";
import { resolveLogConfig, type LogConfig } from "../../../src/log/log-config";
import type { PartitionLog } from "../../../src/log/partition-log";
import { openPartitionLog } from "../../../src/log/partition-recovery";
import { encodeBatch, type ProducerRecord } from "../../../src/log/record-codec";
import { segmentFileName } from "../../../src/log/segment";
import { decodeAll, type Deferred, deferred, TempDirs, TrackingIO } from "./helpers";

export class LogFixture {
  readonly temp = new TempDirs();
  private logs: PartitionLog[] = [];

  make(overrides: Partial<LogConfig> = {}, io = new TrackingIO(), dir = this.temp.make()) {
    const config = resolveLogConfig({ retentionMs: -1, ...overrides });
    const { log } = openPartitionLog({ io, config, topic: "t", partition: 0, dir, recoveryPoint: null });
    this.logs.push(log);
    return { log, io, dir };
  }

  /** Opens `dir` again, scanning it whole. */
  reopen(dir: string, config: LogConfig) {
    const opened = openPartitionLog({ io: new TrackingIO(), config, topic: "t", partition: 0, dir, recoveryPoint: null });
    this.logs.push(opened.log);
    return opened;
  }

  async cleanup(): Promise<void> {
    for (const log of this.logs.splice(0)) await log.close().catch(() => {});
    this.temp.cleanup();
  }
}

const enc = new TextEncoder();
let clock = 1_700_000_000_000;

/** One frame of `n` small records with rising timestamps. */
export function batch(n = 1, size = 20): Uint8Array {
  const records: ProducerRecord[] = [];
  for (let i = 0; i < n; i++) records.push({ key: enc.encode(`k${i}`), value: new Uint8Array(size).fill(i), timestamp: clock++ });
  return encodeBatch(records);
}

/** Every offset a reader sees, from the log start to the high watermark. */
export function offsetsIn(log: PartitionLog): number[] {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const result = log.read(offset, 1 << 20);
    out.push(...decodeAll(result.data).filter((r) => r.offset >= offset).map((r) => r.offset));
    offset = result.nextOffset;
  }
  return out;
}

export function fileSize(dir: string, base = 0): number {
  return fs.statSync(path.join(dir, segmentFileName(base, "log"))).size;
}

export function settled<T>(promise: Promise<T>): { done: boolean; error: unknown } {
  const state = { done: false, error: undefined as unknown };
  promise.then(
    () => (state.done = true),
    (error) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}

/** A datasync that waits for a release before really syncing. */
export function gateDatasync(io: TrackingIO) {
  const gates: Deferred<void>[] = [];
  let started = 0;
  io.onDatasync = (fd) => {
    started++;
    const gate = deferred<void>();
    gates.push(gate);
    return gate.promise.then(() => new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res()))));
  };
  return {
    get started() {
      return started;
    },
    /** Lets the oldest waiting fsync run; later ones stay gated. */
    releaseNext() {
      gates.shift()?.resolve();
    },
    /** Lets every fsync run, now and from now on. */
    release() {
      for (const gate of gates.splice(0)) gate.resolve();
      io.onDatasync = null;
    },
  };
}
