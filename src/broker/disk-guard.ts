/**
 * A broker's reaction to an unusable disk (the policy is in
 * storage-health.ts): it notices (storage errors from the logs, an fsync
 * outstanding past the fsync timeout), makes the logs acknowledge nothing
 * more, and then either hands over to the cluster member (which steps down)
 * or, standalone, reopens the logs once the disk passes a probe.
 */
import { KafkaCloneError } from "../errors";
import type { Logger } from "../logger";
import type { LogManager } from "../log/log-manager";
import { DEFAULT_FSYNC_TIMEOUT_MS, type FsyncWatch } from "./fsync-watch";
import { makesDiskUnusable, whenDiskWorks } from "./storage-health";

/** What the guard needs of its broker. */
export interface GuardedBroker {
  readonly id: number;
  readonly dataDir: string;
  epoch(): number;
  /** The active broker's logs and their fsync watch, or null while standby. */
  activeLogs(): { logs: LogManager; fsyncs: FsyncWatch } | null;
  stepDown(reason: string): Promise<void>;
  /** Standalone: take over again at the next epoch (reopening every log). */
  reopen(): Promise<Record<string, unknown>>;
}

export class DiskGuard {
  /** The logs found on an unusable disk: they acknowledge nothing more. */
  private failedLogs: LogManager | null = null;
  /** What follows: standalone, reopen once the disk works; a cluster member steps down instead. */
  private onUnusable: (reason: string) => void = (reason) => this.reopenWhenDiskWorks(reason);
  private cancelProbe: (() => void) | null = null;
  private watchTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly broker: GuardedBroker,
    private readonly logger: Logger,
  ) {}

  /** Starts watching for an fsync outstanding longer than `fsyncTimeoutMs` (0 = never). */
  start(fsyncTimeoutMs = DEFAULT_FSYNC_TIMEOUT_MS): void {
    if (fsyncTimeoutMs <= 0 || this.watchTimer) return;
    this.watchTimer = setInterval(() => this.checkFsyncs(fsyncTimeoutMs), Math.min(1000, Math.max(20, fsyncTimeoutMs / 4)));
    this.watchTimer.unref();
  }

  stop(): void {
    this.cancelProbe?.();
    this.cancelProbe = null;
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
  }

  /** A cluster member takes over what follows an unusable disk. */
  setHandler(handler: (reason: string) => void): void {
    this.onUnusable = handler;
  }

  /** True once `logs` were found on an unusable disk. */
  hasFailed(logs: LogManager): boolean {
    return this.failedLogs === logs;
  }

  /** A storage error the logs reported (they log it themselves). */
  storageError(logs: LogManager, topic: string, partition: number, error: KafkaCloneError): void {
    if (makesDiskUnusable(error, logs.partition(topic, partition).storageFailure !== null)) this.unusable(logs, error.message);
  }

  private checkFsyncs(timeoutMs: number): void {
    const active = this.broker.activeLogs();
    if (!active || this.hasFailed(active.logs)) return;
    const outstanding = active.fsyncs.longestOutstandingMs();
    if (outstanding > timeoutMs) this.unusable(active.logs, `an fsync has not returned for ${Math.round(outstanding)} ms (fsync timeout ${timeoutMs} ms)`);
  }

  private unusable(logs: LogManager, reason: string): void {
    if (this.failedLogs === logs) return;
    this.failedLogs = logs;
    this.logger.error("the disk is unusable: acknowledging nothing more", { reason, epoch: this.broker.epoch() });
    const id = this.broker.id;
    logs.failAll(new KafkaCloneError("STORAGE_ERROR", `the disk is unusable (${reason}); broker ${id} acknowledges nothing until its logs are reopened`));
    this.onUnusable(reason);
  }

  private reopenWhenDiskWorks(reason: string): void {
    this.cancelProbe?.();
    this.cancelProbe = whenDiskWorks(this.broker.dataDir, this.broker.id, () => {
      this.cancelProbe = null;
      void this.reopen(reason);
    });
  }

  private async reopen(reason: string): Promise<void> {
    try {
      await this.broker.stepDown(`reopening the logs: the disk was unusable (${reason}) and works again`);
      const report = await this.broker.reopen();
      this.logger.info("logs reopened after the disk was unusable", report);
    } catch (error) {
      this.logger.error("reopening the logs failed; probing the disk again", { error: (error as Error).message });
      this.reopenWhenDiskWorks(reason);
    }
  }
}
