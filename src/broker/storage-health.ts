/**
 * When the disk is unusable, and how a broker finds out it works again.
 *
 * The disk is unusable when
 *   - a partition's log failed for good: an fsync failed (the kernel may have
 *     dropped the pages it could not write, so nothing written since the last
 *     good fsync can be trusted — never retried, never acknowledged), or a
 *     failed write could not be cut back off the file; or
 *   - any log write failed with EROFS or EIO: the file system went read-only
 *     or the device failed; or
 *   - an fdatasync has not returned within the fsync timeout (a hung disk or
 *     NFS server: see fsync-watch.ts).
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

/**
 * Resolves true when a file can be created, written, fdatasynced and removed
 * under brokers/<id>/ of `dataDir`, false on an error. Asynchronous: on a hung
 * disk it stays pending instead of freezing the broker.
 */
export async function probeDisk(dataDir: string, brokerId: number): Promise<boolean> {
  const dir = path.join(dataDir, "brokers", String(brokerId));
  const file = path.join(dir, "disk-probe");
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    const handle = await fs.promises.open(file, "w");
    try {
      await handle.write(`probe ${Date.now()}\n`);
      await handle.datasync(); // what the log does after each write
    } finally {
      await handle.close();
    }
    await fs.promises.rm(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls `onHealthy` once a probe passes, probing every DISK_PROBE_INTERVAL_MS
 * (one probe at a time: a hung one is waited for, not piled up); returns a
 * cancel function.
 */
export function whenDiskWorks(dataDir: string, brokerId: number, onHealthy: () => void): () => void {
  let probing = false;
  let done = false;
  const timer = setInterval(() => {
    if (probing || done) return;
    probing = true;
    void probeDisk(dataDir, brokerId).then((passed) => {
      probing = false;
      if (!passed || done) return;
      done = true;
      clearInterval(timer);
      onHealthy();
    });
  }, DISK_PROBE_INTERVAL_MS);
  return () => {
    done = true;
    clearInterval(timer);
  };
}
