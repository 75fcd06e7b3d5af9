/**
 * A sparse index file: fixed-width entries (key, value) with non-decreasing
 * keys, kept in memory and appended to disk lazily. The log can always rebuild
 * it, so it is written in the background and fsynced only at checkpoints.
 *
 * Offset index: key = offset relative to the segment base (4 bytes), value = file position.
 * Time index:   key = max timestamp so far (8 bytes), value = relative offset.
 */
import type { FileIO } from "./file-io";

export interface IndexLayout {
  keyBytes: 4 | 8;
}

export interface IndexEntry {
  key: number;
  value: number;
}

const VALUE_BYTES = 4;

export class IndexFile {
  private keys: number[] = [];
  private values: number[] = [];
  private persisted = 0;
  /** The file changed since its last fsync. */
  private changed = false;
  private fd: number | null = null;
  private readonly entryBytes: number;

  constructor(
    private readonly io: FileIO,
    readonly path: string,
    private readonly layout: IndexLayout,
  ) {
    this.entryBytes = layout.keyBytes + VALUE_BYTES;
  }

  get length(): number {
    return this.keys.length;
  }

  last(): IndexEntry | null {
    const n = this.keys.length;
    return n === 0 ? null : { key: this.keys[n - 1]!, value: this.values[n - 1]! };
  }

  entry(i: number): IndexEntry {
    return { key: this.keys[i]!, value: this.values[i]! };
  }

  append(key: number, value: number): void {
    this.keys.push(key);
    this.values.push(value);
  }

  /** The last entry whose key is <= `key`, or null. */
  floor(key: number): IndexEntry | null {
    let lo = 0;
    let hi = this.keys.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! <= key) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : this.entry(found);
  }

  /** The first entry whose key is >= `key`, or null. */
  ceiling(key: number): IndexEntry | null {
    let lo = 0;
    let hi = this.keys.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! >= key) {
        found = mid;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    return found < 0 ? null : this.entry(found);
  }

  /** Whether some entry has exactly this value (values never decrease). */
  hasValue(value: number): boolean {
    let lo = 0;
    let hi = this.values.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.values[mid]!;
      if (v === value) return true;
      if (v < value) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Keeps only the entries accepted by `keep`, stopping at the first rejected one. */
  truncateWhile(keep: (entry: IndexEntry) => boolean): void {
    let n = 0;
    while (n < this.keys.length && keep(this.entry(n))) n++;
    if (n === this.keys.length) return;
    this.keys.length = n;
    this.values.length = n;
    if (this.persisted > n) {
      this.persisted = n;
      this.io.truncate(this.openFd(), n * this.entryBytes);
      this.changed = true;
    }
  }

  /** Empties the index, on disk too, whatever was loaded. */
  clear(): void {
    this.keys = [];
    this.values = [];
    this.persisted = 0;
    this.io.truncate(this.openFd(), 0);
    this.changed = true;
  }

  /**
   * Loads the file. Returns false, leaving the index empty, when the bytes are
   * not a plausible index (torn size, keys going backwards, values out of
   * `valueLimit`): the caller rebuilds it from the log.
   */
  load(valueLimit: number, keyLimit = Number.MAX_SAFE_INTEGER): boolean {
    const fd = this.openFd();
    const size = this.io.size(fd);
    this.keys = [];
    this.values = [];
    this.persisted = 0;
    if (size % this.entryBytes !== 0) return false;
    const buf = new Uint8Array(size);
    this.io.pread(fd, buf, 0);
    const dv = new DataView(buf.buffer);
    let prevKey = -Infinity;
    let prevValue = -Infinity;
    for (let at = 0; at < size; at += this.entryBytes) {
      const key = this.layout.keyBytes === 4 ? dv.getUint32(at) : Number(dv.getBigInt64(at));
      const value = dv.getUint32(at + this.layout.keyBytes);
      const valuesMustGrow = this.layout.keyBytes === 4;
      if (key < prevKey || key > keyLimit || value >= valueLimit || (valuesMustGrow ? value <= prevValue : value < prevValue)) {
        this.keys = [];
        this.values = [];
        return false;
      }
      this.keys.push(key);
      this.values.push(value);
      prevKey = key;
      prevValue = value;
    }
    this.persisted = this.keys.length;
    return true;
  }

  /** Writes entries not yet on disk (no fsync). */
  persist(): void {
    const pending = this.keys.length - this.persisted;
    if (pending === 0) return;
    const buf = new Uint8Array(pending * this.entryBytes);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < pending; i++) {
      const at = i * this.entryBytes;
      const key = this.keys[this.persisted + i]!;
      if (this.layout.keyBytes === 4) dv.setUint32(at, key);
      else dv.setBigInt64(at, BigInt(key));
      dv.setUint32(at + this.layout.keyBytes, this.values[this.persisted + i]!);
    }
    this.io.writev(this.openFd(), [buf]);
    this.persisted = this.keys.length;
    this.changed = true;
  }

  /** Persists and fsyncs; used at checkpoints and when a segment is sealed. */
  sync(): void {
    this.persist();
    if (this.fd === null || !this.changed) return;
    this.io.datasyncSync(this.fd);
    this.changed = false;
  }

  /** The same, with the fsync off the event loop (checkpoints). */
  async syncAsync(): Promise<void> {
    this.persist();
    if (this.fd === null || !this.changed) return;
    this.changed = false;
    try {
      await this.io.datasync(this.fd);
    } catch (error) {
      this.changed = true;
      throw error;
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      this.persist();
    } finally {
      // Closed even when the write fails (a failing disk): the index can always be rebuilt from the log.
      this.io.close(this.fd);
      this.fd = null;
    }
  }

  /** Drops the in-memory copy (a sealed segment's index is reloaded on demand). */
  release(): void {
    this.close();
    this.keys = [];
    this.values = [];
    this.persisted = 0;
  }

  private openFd(): number {
    if (this.fd === null) this.fd = this.io.openAppend(this.path);
    return this.fd;
  }
}
