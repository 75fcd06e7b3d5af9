/**
 * The data directory lock: `LOCK` names the holder, `LOCK.lock` (kept fresh
 * by proper-lockfile) is the lock itself. A lock left behind by a holder
 * known to be dead is broken at once instead of waiting for it to go stale.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import lockfile from "proper-lockfile";
import { KafkaCloneError } from "../errors";
import { writeFileAtomically } from "./atomic-file";

export interface LockHolder {
  brokerId: number;
  epoch: number;
  pid: number;
  host: string;
  acquiredAt: string;
}

export interface DataDirLockOptions {
  brokerId: number;
  epoch: number;
  /** Return true to break a lock still held by `holder` (the caller knows it is dead). */
  mayBreak?: (holder: LockHolder | null) => boolean;
  /** The lock could not be kept fresh or was taken away: the holder must stop writing. */
  onCompromised: (error: Error) => void;
  staleMs?: number;
}

export interface DataDirLock {
  readonly holder: LockHolder;
  release(): Promise<void>;
  /**
   * Leaves the lock to whoever holds it now (a newer leader broke it and took
   * the same file), without removing it. proper-lockfile keeps refreshing an
   * unreleased lock and reports it compromised seconds later; that report is
   * then dropped, since it no longer concerns this holder.
   */
  abandon(): void;
}

export function readLockHolder(dataDir: string): LockHolder | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dataDir, "LOCK"), "utf8")) as LockHolder;
    return typeof parsed.brokerId === "number" && typeof parsed.pid === "number" ? parsed : null;
  } catch {
    return null;
  }
}

/** True when the holder is a process on this machine that no longer exists. */
export function holderProcessIsGone(holder: LockHolder | null): boolean {
  if (holder === null || holder.host !== os.hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

export async function lockDataDir(dataDir: string, options: DataDirLockOptions): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockTarget = path.join(dataDir, "LOCK");
  if (!fs.existsSync(lockTarget)) fs.writeFileSync(lockTarget, "");
  let abandoned = false;
  const attempt = () =>
    lockfile.lock(lockTarget, {
      stale: options.staleMs ?? 10_000,
      realpath: false,
      retries: 0,
      onCompromised: (error) => {
        if (!abandoned) options.onCompromised(error);
      },
    });
  let release: () => Promise<void>;
  try {
    release = await attempt();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw lockError(dataDir, error);
    const holder = readLockHolder(dataDir);
    if (!(options.mayBreak?.(holder) ?? false)) {
      const who = holder ? `broker ${holder.brokerId} (pid ${holder.pid} on ${holder.host})` : "another process";
      throw new KafkaCloneError("STORAGE_ERROR", `data directory ${dataDir} is locked by ${who}`);
    }
    fs.rmSync(`${lockTarget}.lock`, { recursive: true, force: true });
    try {
      release = await attempt();
    } catch (retryError) {
      throw lockError(dataDir, retryError);
    }
  }
  const holder: LockHolder = {
    brokerId: options.brokerId,
    epoch: options.epoch,
    pid: process.pid,
    host: os.hostname(),
    acquiredAt: new Date().toISOString(),
  };
  // Durably: after a crash (or a disk that failed and was repaired) the holder must still be readable,
  // so a restart sees its process is gone and breaks the lock at once instead of waiting for it to go stale.
  writeFileAtomically(lockTarget, `${JSON.stringify(holder)}\n`);
  return {
    holder,
    release: async () => {
      abandoned = true;
      await release().catch(() => {});
    },
    abandon: () => {
      abandoned = true;
    },
  };
}

function lockError(dataDir: string, error: unknown): KafkaCloneError {
  return new KafkaCloneError("STORAGE_ERROR", `cannot lock data directory ${dataDir}: ${(error as Error).message}`);
}
