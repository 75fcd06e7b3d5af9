import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { lockDataDir, readLockHolder } from "../../../src/log/data-dir-lock";
import { TempDirs } from "./helpers";

const temp = new TempDirs();
afterEach(() => temp.cleanup());

/** What a newer leader does to a lock held by one the zookeeper declared dead: breaks it and takes it. */
function takeOver(dir: string): void {
  fs.rmSync(path.join(dir, "LOCK.lock"), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "LOCK.lock"));
  fs.utimesSync(path.join(dir, "LOCK.lock"), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
}

async function compromised(abandon: boolean): Promise<Error | null> {
  const dir = temp.make();
  let reported: Error | null = null;
  let settle!: () => void;
  const seen = new Promise<void>((resolve) => (settle = resolve));
  const lock = await lockDataDir(dir, {
    brokerId: 1,
    epoch: 1,
    staleMs: 5000,
    onCompromised: (error) => {
      reported = error;
      settle();
    },
  });
  expect(readLockHolder(dir)).toMatchObject({ brokerId: 1, epoch: 1, pid: process.pid });
  takeOver(dir);
  if (abandon) lock.abandon();
  // proper-lockfile refreshes every stale/2 = 2.5 s; it notices the lock is no longer its own then.
  await Promise.race([seen, Bun.sleep(4000)]);
  return reported;
}

describe("data directory lock", () => {
  test("a lock taken away is reported compromised to its holder", async () => {
    expect(await compromised(false)).toBeInstanceOf(Error);
  }, 10_000);

  test("a lock left to a newer leader (abandoned) reports nothing: that would depose whatever the process leads next", async () => {
    expect(await compromised(true)).toBeNull();
  }, 10_000);

  test("a held lock refuses a second holder, naming it", async () => {
    const dir = temp.make();
    const lock = await lockDataDir(dir, { brokerId: 1, epoch: 1, onCompromised: () => {} });
    await expect(lockDataDir(dir, { brokerId: 2, epoch: 2, onCompromised: () => {} })).rejects.toThrow(/locked by broker 1/);
    await lock.release();
    const next = await lockDataDir(dir, { brokerId: 2, epoch: 2, onCompromised: () => {} });
    expect(readLockHolder(dir)).toMatchObject({ brokerId: 2 });
    await next.release();
  });
});
