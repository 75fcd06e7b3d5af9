/**
 * A raw TCP client for tests that talk to a broker byte by byte: it writes
 * whatever it is given (resuming partial writes on drain), decodes the frames
 * that come back, and says when the peer closed.
 */
import type { Socket } from "bun";
import { type Envelope, fromWire, toWire } from "../../src/protocol/envelope";
import { concatChunks, encodeFrame, FrameDecoder, parseFrame } from "../../src/protocol/frame-codec";
import { withTimeout } from "./harness";

export interface ReceivedFrame {
  envelope: Envelope;
  attachment: Uint8Array;
}

export interface RawSocket {
  /** Queues bytes; they leave as fast as the kernel takes them. */
  write(bytes: Uint8Array): void;
  /** Resolves once everything written so far has been handed to the kernel. */
  flushed(): Promise<void>;
  /** Bytes written but not yet taken by the kernel (the peer is not reading fast enough). */
  readonly pendingBytes: number;
  /** Sends a request frame and resolves with the response to its correlation id. */
  request(api: string, body: unknown, attachments?: Uint8Array[], correlationId?: number): Promise<ReceivedFrame>;
  /** Frames received so far (responses and pushes). */
  readonly frames: ReceivedFrame[];
  readonly receivedBytes: number;
  readonly isClosed: boolean;
  /** Resolves when the peer (or we) closed the connection. */
  readonly closed: Promise<void>;
  /** Stops / restarts reading from the socket (the kernel buffers fill up, then the peer sees backpressure). */
  pause(): void;
  resume(): void;
  end(): void;
}

let nextCorrelationId = 1_000_000;

export function requestFrame(api: string, body: unknown, attachments: Uint8Array[] = [], correlationId = nextCorrelationId++): Uint8Array {
  return concatChunks(encodeFrame(toWire({ kind: "request", api, correlationId, body }), attachments));
}

export interface RawSocketOptions {
  /** false: count bytes only. */
  decode?: boolean;
  maxFrameBytes?: number;
  /** Pushes go here instead of into `frames` (so a long stream is not kept in memory). */
  onPush?: (frame: ReceivedFrame) => void;
}

export async function openRawSocket(port: number, options: RawSocketOptions = {}): Promise<RawSocket> {
  const decoder = options.decode === false ? null : new FrameDecoder(options.maxFrameBytes ?? 200 * 1024 * 1024);
  const frames: ReceivedFrame[] = [];
  const waiters = new Map<number, (frame: ReceivedFrame) => void>();
  const pending: Uint8Array[] = [];
  const flushWaiters: (() => void)[] = [];
  let receivedBytes = 0;
  let isClosed = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));

  const flush = (socket: Socket<unknown>) => {
    while (pending.length > 0) {
      const head = pending[0]!;
      const written = socket.write(head);
      if (written < 0) return;
      if (written < head.length) {
        pending[0] = head.subarray(written);
        return;
      }
      pending.shift();
    }
    for (const wake of flushWaiters.splice(0)) wake();
  };
  const onClose = () => {
    if (isClosed) return;
    isClosed = true;
    for (const wake of flushWaiters.splice(0)) wake();
    markClosed();
  };

  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, chunk) {
        receivedBytes += chunk.length;
        if (!decoder) return;
        for (const raw of decoder.push(chunk)) {
          const decoded = parseFrame(raw);
          const envelope = fromWire(decoded.envelope);
          if (envelope.kind === "push" && options.onPush) {
            options.onPush({ envelope, attachment: decoded.attachment });
            continue;
          }
          const frame = { envelope, attachment: decoded.attachment.slice() };
          frames.push(frame);
          if (frame.envelope.kind === "response") {
            const waiter = waiters.get(frame.envelope.correlationId);
            waiters.delete(frame.envelope.correlationId);
            waiter?.(frame);
          }
        }
      },
      drain: (s) => flush(s as Socket<unknown>),
      close: onClose,
      error: onClose,
    },
  });

  const write = (bytes: Uint8Array) => {
    pending.push(bytes);
    flush(socket as Socket<unknown>);
  };
  return {
    write,
    flushed: () => (pending.length === 0 || isClosed ? Promise.resolve() : new Promise((resolve) => flushWaiters.push(resolve))),
    request(api, body, attachments = [], correlationId = nextCorrelationId++) {
      const answer = new Promise<ReceivedFrame>((resolve) => waiters.set(correlationId, resolve));
      write(requestFrame(api, body, attachments, correlationId));
      return withTimeout(
        Promise.race([answer, closed.then(() => Promise.reject(new Error(`connection closed before the ${api} response`)))]),
        10_000,
        `the ${api} response`,
      );
    },
    frames,
    get pendingBytes() {
      return pending.reduce((sum, chunk) => sum + chunk.length, 0);
    },
    get receivedBytes() {
      return receivedBytes;
    },
    get isClosed() {
      return isClosed;
    },
    closed,
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => socket.end(),
  };
}
