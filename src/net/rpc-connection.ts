/**
 * Request/response over a FramedConnection: correlation ids, many requests in
 * flight, deadlines, and server pushes. Used by clients and by brokers talking
 * to each other and to the zookeeper.
 */
import { KafkaCloneError } from "../errors";
import { type Envelope, fromWire, fromWireError, toWire } from "../protocol/envelope";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, parseFrame } from "../protocol/frame-codec";
import { connectTcp } from "./tcp";
import type { FramedConnection } from "./framed-connection";

export interface RpcResult {
  body: unknown;
  attachment: Uint8Array;
}

export interface RpcConnectOptions {
  host: string;
  port: number;
  maxFrameBytes?: number;
  connectTimeoutMs?: number;
  /** Default deadline for requests. */
  requestTimeoutMs?: number;
  onPush?: (api: string, body: unknown, attachment: Uint8Array) => void;
  onClose?: (reason: string | null) => void;
  onDrain?: () => void;
  /**
   * Run on the new connection before any request (the authentication
   * handshake, src/auth/secure-connect.ts); a rejection fails the connect.
   */
  secure?: (connection: FramedConnection, peer: string) => Promise<void>;
}

interface Pending {
  resolve: (result: RpcResult) => void;
  reject: (error: Error) => void;
  deadline: number;
  api: string;
}

const SWEEP_MS = 50;

export class RpcConnection {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private connection!: FramedConnection;

  private constructor(private readonly options: RpcConnectOptions) {}

  static async connect(options: RpcConnectOptions): Promise<RpcConnection> {
    const rpc = new RpcConnection(options);
    rpc.connection = await connectTcp({
      host: options.host,
      port: options.port,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      timeoutMs: options.connectTimeoutMs,
      handlers: {
        onFrame: (_, frame) => rpc.handleFrame(frame),
        onClose: (_, reason) => rpc.handleClose(reason),
        onDrain: () => options.onDrain?.(),
      },
    });
    if (options.secure && !rpc.connection.isClosed) await options.secure(rpc.connection, rpc.address);
    if (rpc.connection.isClosed) rpc.handleClose("closed while connecting");
    return rpc;
  }

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get pendingWriteBytes(): number {
    return this.connection.pendingWriteBytes;
  }

  request(api: string, body: unknown, attachments: readonly Uint8Array[] = [], timeoutMs?: number): Promise<RpcResult> {
    if (this.isClosed) return Promise.reject(new KafkaCloneError("NETWORK_ERROR", `connection to ${this.address} is closed`));
    const correlationId = this.allocateCorrelationId();
    const deadline = performance.now() + (timeoutMs ?? this.options.requestTimeoutMs ?? 30_000);
    const result = new Promise<RpcResult>((resolve, reject) => this.pending.set(correlationId, { resolve, reject, deadline, api }));
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    this.connection.send(encodeFrame(toWire({ kind: "request", api, correlationId, body }), attachments));
    return result;
  }

  /** Sends a request no response will come for (acks=0 produce). */
  send(api: string, body: unknown, attachments: readonly Uint8Array[] = []): void {
    this.connection.send(encodeFrame(toWire({ kind: "request", api, correlationId: this.allocateCorrelationId(), body }), attachments));
  }

  /** Closes after sending what is queued; with a reason (the peer is not to be trusted), drops the queue at once. */
  close(reason: string | null = null): void {
    this.connection.close(reason);
  }

  private allocateCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id >= 0xffff_fffe ? 1 : id + 1;
    return id;
  }

  private handleFrame(frame: Uint8Array): void {
    let envelope: Envelope;
    let attachment: Uint8Array;
    try {
      const decoded = parseFrame(frame);
      envelope = fromWire(decoded.envelope);
      attachment = decoded.attachment;
    } catch (error) {
      this.connection.close(`bad frame from ${this.address}: ${(error as Error).message}`);
      return;
    }
    if (envelope.kind === "push") {
      this.options.onPush?.(envelope.api, envelope.body, attachment);
      return;
    }
    if (envelope.kind !== "response") {
      this.connection.close(`unexpected ${envelope.kind} from ${this.address}`);
      return;
    }
    const waiter = this.pending.get(envelope.correlationId);
    if (!waiter) return;
    this.pending.delete(envelope.correlationId);
    if (envelope.error) waiter.reject(fromWireError(envelope.error));
    else waiter.resolve({ body: envelope.body, attachment });
  }

  private handleClose(reason: string | null): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    const error = new KafkaCloneError("NETWORK_ERROR", `connection to ${this.address} closed${reason ? `: ${reason}` : ""}`);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.options.onClose?.(reason);
  }

  private sweep(): void {
    const now = performance.now();
    for (const [id, waiter] of this.pending) {
      if (waiter.deadline > now) continue;
      this.pending.delete(id);
      waiter.reject(new KafkaCloneError("REQUEST_TIMED_OUT", `${waiter.api} to ${this.address} timed out`));
    }
    if (this.pending.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}
