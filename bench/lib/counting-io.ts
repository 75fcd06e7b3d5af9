/**
 * A FileIO that forwards to the real one and counts calls, bytes and time, so
 * the benchmark can say where an append or read spends its time without
 * touching src/log.
 */
import { nodeFileIO, type FileIO } from "../../src/log/file-io";

export interface IoStats {
  writevCalls: number;
  writevBytes: number;
  writevMs: number;
  datasyncCalls: number;
  /** Wall time from issuing each async fdatasync to its completion, summed. */
  datasyncMs: number;
  preadCalls: number;
  preadBytes: number;
  preadMs: number;
}

export function emptyStats(): IoStats {
  return { writevCalls: 0, writevBytes: 0, writevMs: 0, datasyncCalls: 0, datasyncMs: 0, preadCalls: 0, preadBytes: 0, preadMs: 0 };
}

export function diffStats(after: IoStats, before: IoStats): IoStats {
  const out = emptyStats();
  for (const key of Object.keys(out) as (keyof IoStats)[]) out[key] = after[key] - before[key];
  return out;
}

export function addStats(into: IoStats, more: IoStats): void {
  for (const key of Object.keys(into) as (keyof IoStats)[]) into[key] += more[key];
}

export class CountingIO {
  readonly stats = emptyStats();
  readonly io: FileIO;

  constructor(inner: FileIO = nodeFileIO) {
    const stats = this.stats;
    this.io = {
      ...inner,
      pread(fd, into, position) {
        const t = performance.now();
        const n = inner.pread(fd, into, position);
        stats.preadMs += performance.now() - t;
        stats.preadCalls++;
        stats.preadBytes += n;
        return n;
      },
      writev(fd, chunks) {
        const t = performance.now();
        const n = inner.writev(fd, chunks);
        stats.writevMs += performance.now() - t;
        stats.writevCalls++;
        stats.writevBytes += n;
        return n;
      },
      async datasync(fd) {
        const t = performance.now();
        try {
          await inner.datasync(fd);
        } finally {
          stats.datasyncMs += performance.now() - t;
          stats.datasyncCalls++;
        }
      },
      datasyncSync(fd) {
        const t = performance.now();
        inner.datasyncSync(fd);
        stats.datasyncMs += performance.now() - t;
        stats.datasyncCalls++;
      },
    };
  }

  snapshot(): IoStats {
    return { ...this.stats };
  }
}
