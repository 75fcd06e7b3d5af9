/**
 * Watches the log's fdatasyncs for one that does not return: a disk (or an
 * NFS server) that hangs makes no error, it just never answers, and every
 * acks=all produce waits behind it. An fsync outstanding longer than the
 * broker's fsync timeout makes the disk unusable (see storage-health.ts).
 *
 * One watch per takeover: an fsync the previous logs left hanging must not
 * count against the logs reopened after it.
 */
import { type FileIO, withDatasyncHooks } from "../log/file-io";

export const DEFAULT_FSYNC_TIMEOUT_MS = 15_000;

export class FsyncWatch {
  private readonly started = new Map<number, number>();
  private next = 0;

  /** `io` with every asynchronous fdatasync timed from its start until it settles. */
  wrap(io: FileIO): FileIO {
    return withDatasyncHooks(io, {
      async: async (_fd, datasync) => {
        const id = this.next++;
        this.started.set(id, performance.now());
        try {
          await datasync();
        } finally {
          this.started.delete(id);
        }
      },
    });
  }

  /** How long the oldest fdatasync still outstanding has been running (0 when none is). */
  longestOutstandingMs(now = performance.now()): number {
    let oldest = now;
    for (const started of this.started.values()) oldest = Math.min(oldest, started);
    return now - oldest;
  }
}
