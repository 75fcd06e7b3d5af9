/**
 * The baseline: what the disk and the kernel give a plain program, measured
 * with the calls the log uses (write + fdatasync, positional reads). The
 * classes work in steps so the benchmark can interleave them with the log's
 * own steps: both then meet the same disk conditions.
 */
import fs from "node:fs";
const MIB = 1024 * 1024;

const POSIX_FADV_DONTNEED = 4;

type Fadvise = (fd: number, offset: number, length: number, advice: number) => number;
let fadvise: Fadvise | null | undefined;

/** posix_fadvise from libc through bun:ffi, or null when it cannot be loaded. */
async function loadFadvise(): Promise<Fadvise | null> {
  if (fadvise !== undefined) return fadvise;
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
      posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 },
    });
    fadvise = (fd, offset, length, advice) => Number(libc.symbols.posix_fadvise(fd, offset, length, advice));
  } catch {
    fadvise = null;
  }
  return fadvise;
}

/**
 * Asks the kernel to drop the (clean, fsynced) pages of `files` from the page
 * cache, so the next read comes from the device. False when the platform
 * cannot do it.
 */
export async function dropFromPageCache(files: string[]): Promise<boolean> {
  const advise = await loadFadvise();
  if (advise === null) return false;
  for (const file of files) {
    const fd = fs.openSync(file, "r");
    try {
      fs.fdatasyncSync(fd);
      if (advise(fd, 0, 0, POSIX_FADV_DONTNEED) !== 0) return false;
    } finally {
      fs.closeSync(fd);
    }
  }
  return true;
}

export interface RateResult {
  bytes: number;
  seconds: number;
  mbPerSec: number;
  /** MB/s of each interleaved step, when measured in steps. */
  stepMbPerSec?: number[];
}

export function rate(bytes: number, seconds: number, stepMbPerSec?: number[]): RateResult {
  return { bytes, seconds, mbPerSec: bytes / 1e6 / seconds, ...(stepMbPerSec ? { stepMbPerSec } : {}) };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Sequential append in 1 MiB writes, each followed by fdatasync. */
export class RawAppender {
  private readonly fd: number;
  private readonly chunk = Buffer.allocUnsafe(MIB);
  private written = 0;
  private ms = 0;
  private readonly steps: number[] = [];

  constructor(readonly file: string) {
    for (let i = 0; i < this.chunk.length; i++) this.chunk[i] = (i * 2654435761) >>> 24;
    this.fd = fs.openSync(file, "a");
  }

  get seconds(): number {
    return this.ms / 1000;
  }

  get bytes(): number {
    return this.written;
  }

  step(mib: number): void {
    const start = performance.now();
    for (let i = 0; i < mib; i++) {
      let done = 0;
      while (done < MIB) done += fs.writeSync(this.fd, this.chunk, done, MIB - done);
      fs.fdatasyncSync(this.fd);
    }
    const ms = performance.now() - start;
    this.ms += ms;
    this.written += mib * MIB;
    this.steps.push((mib * MIB) / 1e3 / ms);
  }

  finish(): RateResult {
    fs.closeSync(this.fd);
    return rate(this.written, this.ms / 1000, this.steps);
  }
}

/**
 * Sequential read in 1 MiB positional reads, into one reused buffer or (like
 * the log's readAt) into a new Buffer.allocUnsafe per read.
 */
export class RawReader {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(MIB);
  private position = 0;
  private ms = 0;

  constructor(
    readonly file: string,
    private readonly freshBuffers = false,
  ) {
    this.fd = fs.openSync(file, "r");
  }

  get done(): boolean {
    return this.position >= fs.fstatSync(this.fd).size;
  }

  /** Reads about `bytes` more; false at end of file. */
  step(bytes: number): boolean {
    const start = performance.now();
    const stop = this.position + bytes;
    let more = true;
    while (this.position < stop) {
      const n = fs.readSync(this.fd, this.freshBuffers ? Buffer.allocUnsafe(MIB) : this.buf, 0, MIB, this.position);
      if (n === 0) {
        more = false;
        break;
      }
      this.position += n;
    }
    this.ms += performance.now() - start;
    return more;
  }

  finish(): RateResult {
    fs.closeSync(this.fd);
    return rate(this.position, this.ms / 1000);
  }
}

/**
 * Touches `mib` MiB of fresh anonymous memory and frees it. On VMs whose host
 * backs guest memory lazily (Firecracker, ...), the first touch of a guest page
 * is slow, and page-cache writes and new read buffers pay it; afterwards the
 * freed pages are reused and the figures reflect a warmed-up machine.
 */
export function prefaultMemory(mib: number): number {
  const start = performance.now();
  let blocks: Buffer[] | null = [];
  for (let done = 0; done < mib; done += 256) {
    const block = Buffer.allocUnsafeSlow(Math.min(256, mib - done) * MIB);
    block.fill(1);
    blocks.push(block);
  }
  blocks = null;
  Bun.gc(true);
  return performance.now() - start;
}
