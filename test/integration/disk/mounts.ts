/**
 * Real file systems for the disk-fault tests: a small tmpfs (fills up:
 * ENOSPC) and an ext4 image on a loop device mounted errors=remount-ro,
 * whose error trigger turns it read-only under open files (EROFS), as a
 * failing disk does. Needs root and mount permission; `mountSupport()` says
 * why not otherwise, so the tests skip with that reason. Everything mounted
 * here is unmounted when the test file ends.
 */
import { afterAll } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const mounted: string[] = [];
const scratch: string[] = [];

function run(argv: string[]): { ok: boolean; output: string } {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { ok: result.exitCode === 0, output: `${result.stdout.toString()}${result.stderr.toString()}`.trim() };
}

function must(argv: string[]): string {
  const result = run(argv);
  if (!result.ok) throw new Error(`${argv.join(" ")} failed: ${result.output}`);
  return result.output;
}

function unmount(dir: string): void {
  if (run(["umount", dir]).ok) return;
  run(["umount", "-l", dir]); // still busy (a process left a file open): detach it anyway
}

/** Unmounts and removes everything this file mounted: call at a test file's top level. */
export function unmountAfterThisFile(): void {
  afterAll(() => {
    for (const dir of mounted.splice(0).reverse()) unmount(dir);
    for (const dir of scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
}

function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

let support: string | null | undefined;

/** null when tmpfs and loop mounts work here, otherwise why not (the tests print it and skip). */
export function mountSupport(): string | null {
  if (support !== undefined) return support;
  if (process.getuid?.() !== 0) return (support = "not root: mounting a tmpfs or a loop device needs root");
  const probe = scratchDir("kc-mount-probe-");
  const result = run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]);
  if (!result.ok) return (support = `mount -t tmpfs is not permitted here: ${result.output}`);
  unmount(probe);
  return (support = null);
}

export function skipMessage(what: string): string {
  return `SKIPPED ${what}: ${mountSupport()}`;
}

/** A tmpfs of `bytes` at a fresh directory. */
export function mountTmpfs(bytes: number): string {
  const dir = scratchDir("kc-tmpfs-");
  must(["mount", "-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  mounted.push(dir);
  return dir;
}

export interface Ext4Mount {
  dir: string;
  /** Makes the file system read-only at once, open files and all (ext4's error path with errors=remount-ro). */
  failReadOnly(): void;
  /** After a failure: unmount, fsck, mount again read-write (every process must have closed its files). */
  repair(): string;
  isReadOnly(): boolean;
}

/** An ext4 file system of `megabytes` on a loop device, mounted errors=remount-ro. */
export function mountExt4(megabytes: number): Ext4Mount {
  const base = scratchDir("kc-ext4-");
  const image = path.join(base, "disk.img");
  const dir = path.join(base, "mnt");
  fs.mkdirSync(dir);
  fs.writeFileSync(image, "");
  fs.truncateSync(image, megabytes * 1024 * 1024);
  must(["mkfs.ext4", "-q", "-F", image]);
  const mount = () => must(["mount", "-o", "loop,errors=remount-ro", image, dir]);
  mount();
  mounted.push(dir);
  const device = () => path.basename(must(["findmnt", "-no", "SOURCE", dir]));
  return {
    dir,
    failReadOnly() {
      fs.writeFileSync(`/sys/fs/ext4/${device()}/trigger_fs_error`, "kafka-clone disk fault test\n");
    },
    repair() {
      must(["umount", dir]);
      const fsck = run(["e2fsck", "-f", "-y", image]); // exit 1: errors corrected, as expected here
      mount();
      return fsck.output;
    },
    // ext4 shows an error-triggered read-only state as "emergency_ro" next to "rw".
    isReadOnly: () => /(^|,)(ro|emergency_ro)(,|$)/.test(must(["findmnt", "-no", "OPTIONS", dir])),
  };
}

/** Fills `dir`'s file system up to `leaveBytes` free with one file; returns its path (delete it to free the space). */
export function fillUp(dir: string, leaveBytes: number, name = "filler"): string {
  const filler = path.join(dir, name);
  const stats = fs.statfsSync(dir);
  const free = Number(stats.bavail) * Number(stats.bsize);
  const size = Math.max(0, free - leaveBytes);
  const fd = fs.openSync(filler, "w");
  try {
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    for (let written = 0; written < size; ) {
      let n: number;
      try {
        n = fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOSPC") break; // full: that is the point
        throw error;
      }
      written += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}
