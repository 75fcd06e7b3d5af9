import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FsyncWatch } from "../../../src/broker/fsync-watch";
import { makesDiskUnusable, probeDisk } from "../../../src/broker/storage-health";
import { KafkaCloneError } from "../../../src/errors";
import { nodeFileIO, storageError } from "../../../src/log/file-io";

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed`), { code });
}

describe("what makes the disk unusable", () => {
  test("a partition that failed for good, EROFS and EIO do; a full disk and other refusals do not", () => {
    expect(makesDiskUnusable(storageError("fsync", errno("EIO")), true)).toBe(true);
    expect(makesDiskUnusable(storageError("writing x.log", errno("EROFS")), false)).toBe(true);
    expect(makesDiskUnusable(storageError("writing x.log", errno("EIO")), false)).toBe(true);
    expect(makesDiskUnusable(storageError("writing x.log", errno("ENOSPC")), false)).toBe(false);
    expect(makesDiskUnusable(storageError("writing x.log", errno("EDQUOT")), false)).toBe(false);
    expect(makesDiskUnusable(new KafkaCloneError("STORAGE_ERROR", "no cause"), false)).toBe(false);
  });

  test("the probe passes on a writable directory, fails where it cannot write, and leaves nothing behind", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-probe-"));
    try {
      expect(await probeDisk(dir, 3)).toBe(true);
      expect(fs.readdirSync(path.join(dir, "brokers", "3"))).toEqual([]);
      const file = path.join(dir, "a-file");
      fs.writeFileSync(file, "");
      expect(await probeDisk(file, 3)).toBe(false); // a file where the data directory should be
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the fsync watch times only fsyncs still outstanding", async () => {
    const watch = new FsyncWatch();
    let release!: () => void;
    const io = watch.wrap({ ...nodeFileIO, datasync: () => new Promise<void>((resolve) => (release = resolve)) });
    expect(watch.longestOutstandingMs()).toBe(0);
    const pending = io.datasync(0);
    const started = performance.now();
    await Bun.sleep(20);
    expect(watch.longestOutstandingMs()).toBeGreaterThanOrEqual(15);
    expect(watch.longestOutstandingMs()).toBeLessThanOrEqual(performance.now() - started + 1);
    release();
    await pending;
    expect(watch.longestOutstandingMs()).toBe(0);
  });
});
