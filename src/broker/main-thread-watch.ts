/**
 * The zookeeper-session worker heartbeats from its own thread so a busy event
 * loop never causes a false alarm. But a main thread that is stuck (a hung
 * disk in a synchronous fsync, say) must not be kept alive by it: when the
 * main thread has been silent for `silenceMs` — far longer than any load
 * stall or a takeover's recovery, and it pings every second — the worker
 * withholds heartbeats, the zookeeper declares the broker dead and another
 * one takes over. Pure: the caller passes its clock.
 */
export const MAIN_THREAD_SILENCE_MS = 10_000;

export type WatchChange = "withheld" | "resumed" | null;

export class MainThreadWatch {
  private heardAt: number;
  private withholding = false;

  constructor(now: number, private readonly silenceMs = MAIN_THREAD_SILENCE_MS) {
    this.heardAt = now;
  }

  /** The main thread spoke (any message from it). */
  heard(now: number): void {
    this.heardAt = now;
  }

  /** Whether a heartbeat may go out now, and whether that just changed. */
  check(now: number): { mayHeartbeat: boolean; change: WatchChange } {
    const silent = now - this.heardAt > this.silenceMs;
    const change: WatchChange = silent === this.withholding ? null : silent ? "withheld" : "resumed";
    this.withholding = silent;
    return { mayHeartbeat: !silent, change };
  }
}
