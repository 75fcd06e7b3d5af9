/**
 * A TCP connection carrying length-prefixed frames. Bun's `socket.write` may
 * take only part of a buffer: the rest waits here and goes out on `drain`.
 * Small frames queued in the same tick leave in one write. A clean `close()`
 * sends everything queued before the FIN; a close with a reason drops it.
 *
 * Server connections stop handling frames (and reading) while more than
 * `pauseReadsAbove` bytes wait to be written: a peer that sends requests but
 * never reads the answers cannot make the server pile them up without bound.
 * Handling resumes once half has drained. Only one side of a connection may
 * do this (two sides both waiting for the other to read would deadlock), so
 * client connections never pause.
 */
import type { Socket } from "bun";
import { asKafkaCloneError } from "../errors";
import { FrameDecoder } from "../protocol/frame-codec";
import type { ReceiveBudget } from "./receive-limits";

/**
 * Seals every frame sent and opens every frame received once a connection is
 * authenticated (src/auth/frame-mac.ts); null on connections without one.
 */
export interface FrameGuard {
  /** One whole frame, its length prefix first → the chunks to write instead. */
  seal(chunks: readonly Uint8Array[]): Uint8Array[];
  /** A received frame (without its length prefix) → the frame to handle; throws when it fails its check. */
  open(frame: Uint8Array): Uint8Array;
}

export interface FramedHandlers {
  onFrame(connection: FramedConnection, frame: Uint8Array): void;
  /** Called once; `reason` says why when the connection was not closed cleanly. */
  onClose?(connection: FramedConnection, reason: string | null): void;
  /**
   * The write queue became empty: everything sent so far is with the kernel.
   * Producers of data that stopped at a queue limit (subscriptions) resume here.
   */
  onDrain?(connection: FramedConnection): void;
}

const COALESCE_LIMIT = 64 * 1024;
/** Servers' default: above a subscription's worst case (2 MiB queued plus a 1 MiB push), so streaming never pauses. */
export const READ_PAUSE_BYTES = 8 * 1024 * 1024;

export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private readPaused = false;
  /** Frames received but not handled yet (handling is paused); `heldAt` is the next one. */
  private held: Uint8Array[] = [];
  private heldAt = 0;
  /** "ending": closed for senders, the queue still leaving before the FIN. */
  private state: "open" | "ending" | "closed" = "open";
  private readonly openedAt = performance.now();
  private framesReceived = 0;
  /** When the first byte of the frame still arriving came (or reading resumed), or null between frames. */
  private partialSince: number | null = null;
  private budgetReleased = false;
  handlers: FramedHandlers;
  /** Set after an authentication handshake: from then on each `send` must be exactly one frame. */
  guard: FrameGuard | null = null;

  constructor(
    private readonly socket: Socket<unknown>,
    maxFrameBytes: number,
    handlers: FramedHandlers,
    readonly remote: string,
    private readonly pauseReadsAbove = Number.POSITIVE_INFINITY,
    /** A listener's budget for partly received frames, shared by its connections (see receive-limits.ts). */
    private readonly budget: ReceiveBudget | null = null,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.handlers = handlers;
  }

  get isClosed(): boolean {
    return this.state !== "open";
  }

  /** Bytes accepted by `send` but not yet taken by the kernel. */
  get pendingWriteBytes(): number {
    return this.queued;
  }

  /** True while reading is stopped because too much waits to be written. */
  get isReadPaused(): boolean {
    return this.readPaused;
  }

  /** The largest frame accepted from the peer; lowered until it authenticates (src/auth/secure-accept.ts). */
  get maxFrameBytes(): number {
    return this.decoder.maxFrameBytes;
  }

  set maxFrameBytes(bytes: number) {
    this.decoder.maxFrameBytes = bytes;
  }

  /** Bytes received but not yet a complete frame. */
  get pendingReadBytes(): number {
    return this.decoder.bufferedBytes;
  }

  send(chunks: readonly Uint8Array[]): void {
    if (this.isClosed) return;
    if (this.guard !== null) {
      try {
        chunks = this.guard.seal(chunks);
      } catch (error) {
        this.close(`cannot seal a frame: ${(error as Error).message}`);
        return;
      }
    }
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    if (this.queued > this.pauseReadsAbove && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Why this connection missed its frame deadline (see receive-limits.ts), or null. */
  missedFrameDeadline(now: number, frameTimeoutMs: number): string | null {
    if (this.state !== "open" || this.readPaused) return null;
    if (this.partialSince !== null && now - this.partialSince > frameTimeoutMs) {
      return `a frame was still incomplete ${frameTimeoutMs} ms after it began (${this.decoder.describePartial()}): sent too slowly`;
    }
    if (this.framesReceived === 0 && this.partialSince === null && now - this.openedAt > frameTimeoutMs) {
      return `no request within ${frameTimeoutMs} ms of connecting`;
    }
    return null;
  }

  /** Bun socket callbacks route here. */
  handleData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    let frames: Uint8Array[];
    const bufferedBefore = this.decoder.bufferedBytes;
    const partialBefore = this.decoder.hasPartialFrame;
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.close(asKafkaCloneError(error).describe());
      return;
    }
    this.framesReceived += frames.length;
    if (!this.decoder.hasPartialFrame) this.partialSince = null;
    else if (frames.length > 0 || !partialBefore) this.partialSince = performance.now();
    if (this.budget && !this.budget.change(this.decoder.bufferedBytes - bufferedBefore)) {
      this.close(`partly received frames across all connections exceed ${this.budget.limitBytes} bytes`);
      return;
    }
    if (this.heldAt < this.held.length) {
      for (const frame of frames) this.held.push(frame); // behind the ones still waiting, in order
      return;
    }
    this.held = frames;
    this.heldAt = 0;
    this.handleHeld();
  }

  private handleHeld(): void {
    while (this.heldAt < this.held.length && !this.readPaused && this.state === "open") {
      let frame = this.held[this.heldAt++]!;
      if (this.guard !== null) {
        try {
          frame = this.guard.open(frame);
        } catch (error) {
          this.close(asKafkaCloneError(error).describe());
          return;
        }
      }
      try {
        this.handlers.onFrame(this, frame);
      } catch (error) {
        // A bug handling one frame must not leave a half-dead connection (Bun would keep the socket open).
        this.close(`failed handling a frame: ${(error as Error).message}`);
        return;
      }
    }
    if (this.heldAt >= this.held.length) {
      this.held = [];
      this.heldAt = 0;
    }
  }

  handleDrain(): void {
    this.flush();
  }

  /** The socket closed or failed. Without a reason, a frame cut short still gets one. */
  handleClose(reason: string | null): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    this.releaseBudget();
    this.queue = [];
    this.queued = 0;
    this.held = [];
    this.heldAt = 0;
    this.socket.end();
    if (!wasOpen) return;
    const partial = this.decoder.describePartial();
    this.handlers.onClose?.(this, reason ?? (partial ? `peer closed inside a frame (${partial})` : null));
  }

  /**
   * Closes the connection. Without a reason everything queued is still sent
   * (resumed on drain) before the FIN; with one (an error), the queue is dropped.
   */
  close(reason: string | null = null): void {
    if (this.state !== "open") return;
    this.releaseBudget();
    if (reason !== null) {
      this.handleClose(reason);
      return;
    }
    this.state = "ending";
    this.flush();
    this.handlers.onClose?.(this, null);
    if (this.state === "ending" && this.queue.length === 0) {
      this.state = "closed";
      this.socket.end();
    }
  }

  /** Returns this connection's partly received bytes to the listener's budget, once (nothing more is read). */
  private releaseBudget(): void {
    if (this.budgetReleased) return;
    this.budgetReleased = true;
    this.budget?.change(-this.decoder.bufferedBytes);
  }

  private flush(): void {
    if (this.queue.length === 0 || this.state === "closed") return;
    while (this.queue.length > 0) {
      const chunk = this.nextWriteChunk();
      const written = this.socket.write(chunk);
      if (written < 0) {
        this.handleClose("socket write failed");
        return;
      }
      this.queued -= written;
      if (written < chunk.length) {
        this.queue.unshift(chunk.subarray(written));
        this.maybeResumeReading();
        return;
      }
    }
    this.maybeResumeReading();
    if (this.state === "ending") {
      this.state = "closed";
      this.socket.end();
    } else if (this.state === "open") {
      this.handlers.onDrain?.(this);
    }
  }

  private maybeResumeReading(): void {
    if (!this.readPaused || this.queued > this.pauseReadsAbove / 2 || this.state !== "open") return;
    this.readPaused = false;
    if (this.partialSince !== null) this.partialSince = performance.now(); // the wait was the server's
    this.socket.resume();
    queueMicrotask(() => this.handleHeld());
  }

  /** Takes the head of the queue, merging small chunks into one buffer. */
  private nextWriteChunk(): Uint8Array {
    const head = this.queue.shift()!;
    if (head.length >= COALESCE_LIMIT || this.queue.length === 0 || head.length + this.queue[0]!.length > COALESCE_LIMIT) {
      return head;
    }
    let total = head.length;
    let count = 0;
    while (count < this.queue.length && total + this.queue[count]!.length <= COALESCE_LIMIT) {
      total += this.queue[count]!.length;
      count++;
    }
    const merged = new Uint8Array(total);
    merged.set(head, 0);
    let at = head.length;
    for (const chunk of this.queue.splice(0, count)) {
      merged.set(chunk, at);
      at += chunk.length;
    }
    return merged;
  }
}
