/**
 * Watches the log's fdatasyncs for one that does not return: a disk (or an
 * NFS server) that hangs makes no error, it just never answers, and every
 * acks=all produce waits behind it. An fsync outstanding longer than the
 * broker's fsync timeout makes the disk unusable (see storage-health.ts).
 *
 * One watch per takeover: an fsync the previous logs left hanging must not
 * count against the logs reopened after it.
 */
import type { FileIO } from "../log/file-io";

export const DEFAULT_FSYNC_TIMEOUT_MS = 15_000;

export class FsyncWatch {
  private readonly started = new Map<number, number>();
  private next = 0;

  /** `io` with every asynchronous fdatasync timed from its start until it settles. */
  wrap(io: FileIO): FileIO {
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
      datasyncSync: (fd) => io.datasyncSync(fd),
      datasync: async (fd) => {
        const id = this.next++;
        this.started.set(id, performance.now());
        try {
          await io.datasync(fd);
        } finally {
          this.started.delete(id);
        }
      },
    };
  }

  /** How long the oldest fdatasync still outstanding has been running (0 when none is). */
  longestOutstandingMs(now = performance.now()): number {
    let oldest = now;
    for (const started of this.started.values()) oldest = Math.min(oldest, started);
    return now - oldest;
  }
}
