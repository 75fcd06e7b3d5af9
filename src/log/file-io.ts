/**
 * The file operations the storage engine uses, behind one seam so tests can
 * count the bytes recovery reads and inject write and fsync failures.
 */
import fs from "node:fs";
import { asKafkaCloneError, KafkaCloneError } from "../errors";

export interface FileIO {
  /** Opens for appending and positional reads (O_APPEND | O_CREAT | O_RDWR). */
  /** With `exclusive`, fails (EEXIST) instead of opening a file that is already there. */
  openAppend(path: string, exclusive?: boolean): number;
  openRead(path: string): number;
  close(fd: number): void;
  size(fd: number): number;
  /** Positional read; returns the bytes read (fewer at end of file). */
  pread(fd: number, into: Uint8Array, position: number): number;
  /** Appends; returns how many bytes were written (may be fewer on ENOSPC). */
  writev(fd: number, chunks: Uint8Array[]): number;
  datasync(fd: number): Promise<void>;
  datasyncSync(fd: number): void;
  truncate(fd: number, length: number): void;
  syncDirectory(path: string): void;
}

export const nodeFileIO: FileIO = {
  openAppend: (path, exclusive = false) => fs.openSync(path, exclusive ? "ax+" : "a+"),
  openRead: (path) => fs.openSync(path, "r"),
  close: (fd) => fs.closeSync(fd),
  size: (fd) => fs.fstatSync(fd).size,
  pread(fd, into, position) {
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(fd, into, done, into.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  },
  writev(fd, chunks) {
    if (chunks.length === 1) return fs.writeSync(fd, chunks[0]!);
    return fs.writevSync(fd, chunks);
  },
  datasync: (fd) =>
    new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()))),
  datasyncSync: (fd) => fs.fdatasyncSync(fd),
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  syncDirectory(path) {
    const fd = fs.openSync(path, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};

/** Reads exactly `length` bytes at `position`, or fewer at end of file. */
export function readAt(io: FileIO, fd: number, position: number, length: number): Uint8Array {
  const buf = Buffer.allocUnsafe(length);
  const n = io.pread(fd, buf, position);
  return n === length ? buf : buf.subarray(0, n);
}

/** Appends every byte of `chunks`, retrying after short writes; throws when no progress is made. */
export function writeFully(io: FileIO, fd: number, chunks: Uint8Array[], total: number): void {
  let written = io.writev(fd, chunks);
  while (written < total) {
    const rest = remainingChunks(chunks, written);
    const n = io.writev(fd, rest);
    if (n <= 0) throw new Error(`short write: ${written} of ${total} bytes`);
    written += n;
  }
}

function remainingChunks(chunks: Uint8Array[], skip: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}

/** A STORAGE_ERROR for a failed file operation, naming the errno code. */
export function storageError(what: string, error: unknown): KafkaCloneError {
  const cause = asKafkaCloneError(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // Permission problems name who was refused: the usual cause is a data directory made by another user.
  const who = code === "EACCES" || code === "EPERM" ? ` (running as uid ${process.getuid?.() ?? "?"})` : "";
  return new KafkaCloneError("STORAGE_ERROR", `${what} failed${code ? ` (${code})` : ""}: ${cause.message}${who}`, { cause: error });
}

export interface DatasyncHooks {
  async?(fd: number, datasync: () => Promise<void>): Promise<void>;
  sync?(fd: number, datasync: () => void): void;
}

/** `io` with its fdatasyncs run through `hooks` (to time or watch them); every other call goes straight to `io`. */
export function withDatasyncHooks(io: FileIO, hooks: DatasyncHooks): FileIO {
  // Delegated one by one: `io` may be a class instance, whose methods a spread would drop.
  return {
    openAppend: (path, exclusive) => io.openAppend(path, exclusive),
    openRead: (path) => io.openRead(path),
    close: (fd) => io.close(fd),
    size: (fd) => io.size(fd),
    pread: (fd, into, position) => io.pread(fd, into, position),
    writev: (fd, chunks) => io.writev(fd, chunks),
    truncate: (fd, length) => io.truncate(fd, length),
    syncDirectory: (path) => io.syncDirectory(path),
    datasync: (fd) => (hooks.async ? hooks.async(fd, () => io.datasync(fd)) : io.datasync(fd)),
    datasyncSync: (fd) => (hooks.sync ? hooks.sync(fd, () => io.datasyncSync(fd)) : io.datasyncSync(fd)),
  };
}
