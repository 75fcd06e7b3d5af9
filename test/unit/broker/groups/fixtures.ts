/** Helpers for the group tests: temp data directories, a silent logger, open log managers closed after each test. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../../../../src/logger";
import { LogManager } from "../../../../src/log/log-manager";

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

export class Fixtures {
  private readonly dirs: string[] = [];
  private readonly managers: LogManager[] = [];

  dataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-groups-"));
    this.dirs.push(dir);
    return dir;
  }

  open(dir: string): LogManager {
    const manager = LogManager.open(dir, { checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger });
    this.managers.push(manager);
    return manager;
  }

  async cleanup(): Promise<void> {
    for (const manager of this.managers.splice(0)) await manager.close().catch(() => {});
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}
