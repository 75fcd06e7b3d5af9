/**
 * What a listener holds for its peers while their frames arrive, and for how
 * long — so that neither slow senders nor many half-sent frames can hold a
 * server's memory or connection slots:
 *
 *   - a budget for the bytes of partly received frames across all of a
 *     listener's connections (each connection is already limited to one
 *     frame of at most the maximum frame size, but ten thousand connections
 *     each holding 99 MB of an unfinished frame would be a terabyte): a
 *     connection whose bytes would exceed it is closed;
 *   - a frame deadline: a frame must arrive in full within `frameTimeoutMs`
 *     of its first byte (slowloris: a frame trickled in a byte at a time),
 *     and a new connection must send its first frame within it too (idle
 *     connections that never say anything cannot hold slots for ever).
 *     Connections that have sent a frame may then stay quiet as long as they
 *     like (a consumer waiting for records). A connection whose reading is
 *     paused by the server itself (its answers are not being read) is not
 *     blamed for the wait.
 */
import type { FramedConnection } from "./framed-connection";

export const DEFAULT_RECEIVE_BUDGET_BYTES = 256 * 1024 * 1024;
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;

export class ReceiveBudget {
  private used = 0;

  constructor(readonly limitBytes = DEFAULT_RECEIVE_BUDGET_BYTES) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Adds (or with a negative delta, returns) bytes; false when the budget is now exceeded. */
  change(deltaBytes: number): boolean {
    this.used += deltaBytes;
    return this.used <= this.limitBytes;
  }
}

/** Closes connections that missed the frame deadline; returns a function that stops the sweep. */
export function sweepSlowSenders(connections: () => Iterable<FramedConnection>, frameTimeoutMs: number): () => void {
  if (frameTimeoutMs <= 0) return () => {};
  const timer = setInterval(() => {
    const now = performance.now();
    for (const connection of connections()) {
      const reason = connection.missedFrameDeadline(now, frameTimeoutMs);
      if (reason !== null) connection.close(reason);
    }
  }, Math.min(1000, Math.max(20, Math.floor(frameTimeoutMs / 4))));
  timer.unref();
  return () => clearInterval(timer);
}
