/**
 * When the disk is unusable, and how a broker finds out it works again.
 *
 * The disk is unusable when
 *   - a partition's log failed for good: an fsync failed (the kernel may have
 *     dropped the pages it could not write, so nothing written since the last
 *     good fsync can be trusted — never retried, never acknowledged), or a
 *     failed write could not be cut back off the file; or
 *   - any log write failed with EROFS or EIO: the file system went read-only
 *     or the device failed.
 * A full disk (ENOSPC, EDQUOT) is not unusable: the failed write was cut
 * back off, nothing unwritten was acknowledged, reads go on, and writes
 * resume once space is freed.
 *
 * Once the disk is unusable the broker acknowledges nothing more: every
 * partition refuses writes with STORAGE_ERROR at once (not only the one that
 * failed). Then
 *   - in a cluster it steps down and stays out of elections (no answers, no
 *     claims) while its disk fails the probe below, so another broker takes
 *     over and reopens the logs — on a shared file system the fault may be
 *     this machine's alone (its mount, its NFS client);
 *   - standalone there is nobody to take over: it goes on serving reads of
 *     what is durable and probes the disk; when a probe passes it reopens its
 *     logs (a fresh takeover at the next epoch: each partition recovered from
 *     disk, new segments) and accepts writes again.
 * The probe does what the log does — creates a small file, writes it,
 * fdatasyncs it — and removes it, under brokers/<id>/ in the data directory.
 */
import fs from "node:fs";
import path from "node:path";
import type { KafkaCloneError } from "../errors";

/** How often an unusable disk is probed. */
export const DISK_PROBE_INTERVAL_MS = 500;

const FATAL_ERRNOS = new Set(["EROFS", "EIO"]);

/** Whether a storage error makes the disk unusable (see above). `partitionFailed`: the log refuses writes for good now. */
export function makesDiskUnusable(error: KafkaCloneError, partitionFailed: boolean): boolean {
  if (partitionFailed) return true;
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && FATAL_ERRNOS.has(code);
}

/** True when a file can be created, written, fdatasynced and removed under brokers/<id>/ of `dataDir`. */
export function diskProbePasses(dataDir: string, brokerId: number): boolean {
  const dir = path.join(dataDir, "brokers", String(brokerId));
  const file = path.join(dir, "disk-probe");
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(file, "w");
    try {
      fs.writeSync(fd, `probe ${Date.now()}\n`);
      fs.fdatasyncSync(fd); // what the log does after each write
    } finally {
      fs.closeSync(fd);
    }
    fs.rmSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Calls `onHealthy` once the probe passes, probing every DISK_PROBE_INTERVAL_MS; returns a cancel function. */
export function whenDiskWorks(dataDir: string, brokerId: number, onHealthy: () => void): () => void {
  const timer = setInterval(() => {
    if (!diskProbePasses(dataDir, brokerId)) return;
    clearInterval(timer);
    onHealthy();
  }, DISK_PROBE_INTERVAL_MS);
  return () => clearInterval(timer);
}
