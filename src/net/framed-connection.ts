/**
 * A TCP connection carrying length-prefixed frames. Bun's `socket.write` may
 * take only part of a buffer: the rest waits here and goes out on `drain`.
 * Small frames queued in the same tick leave in one write.
 */
import type { Socket } from "bun";
import { asKafkaCloneError } from "../errors";
import { FrameDecoder } from "../protocol/frame-codec";

export interface FramedHandlers {
  onFrame(connection: FramedConnection, frame: Uint8Array): void;
  /** Called once; `reason` says why when the connection was not closed cleanly. */
  onClose?(connection: FramedConnection, reason: string | null): void;
  /** The write queue emptied after backpressure. */
  onDrain?(connection: FramedConnection): void;
}

const COALESCE_LIMIT = 64 * 1024;

export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private closedWith: string | null | undefined;
  handlers: FramedHandlers;

  constructor(
    private readonly socket: Socket<unknown>,
    maxFrameBytes: number,
    handlers: FramedHandlers,
    readonly remote: string,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.handlers = handlers;
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Bytes accepted by `send` but not yet taken by the kernel. */
  get pendingWriteBytes(): number {
    return this.queued;
  }

  /** Bytes received but not yet a complete frame. */
  get pendingReadBytes(): number {
    return this.decoder.bufferedBytes;
  }

  send(chunks: readonly Uint8Array[]): void {
    if (this.isClosed) return;
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Bun socket callbacks route here. */
  handleData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.close(asKafkaCloneError(error).describe());
      return;
    }
    for (const frame of frames) {
      if (this.isClosed) return;
      this.handlers.onFrame(this, frame);
    }
  }

  handleDrain(): void {
    this.flush();
    if (this.queued === 0 && !this.isClosed) this.handlers.onDrain?.(this);
  }

  handleClose(reason: string | null): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.queue = [];
    this.queued = 0;
    this.handlers.onClose?.(this, reason);
  }

  /** Closes the connection; queued writes are dropped when `reason` is given (an error). */
  close(reason: string | null = null): void {
    if (this.isClosed) return;
    if (reason === null) this.flush();
    this.handleClose(reason);
    this.socket.end();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.isClosed) {
      const chunk = this.nextWriteChunk();
      const written = this.socket.write(chunk);
      if (written < 0) {
        this.close("socket write failed");
        return;
      }
      this.queued -= written;
      if (written < chunk.length) {
        this.queue.unshift(chunk.subarray(written));
        return;
      }
    }
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
