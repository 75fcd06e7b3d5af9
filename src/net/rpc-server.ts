/**
 * The server side of the request/response protocol: decode each frame, run
 * the handler for its api, encode the answer. A frame that cannot be decoded
 * closes that one connection (with a logged reason); a request that fails
 * gets an error response with its stable code.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import type { Logger } from "../logger";
import { type BrokerAddress, fromWire, toWire, toWireError } from "../protocol/envelope";
import { encodeFrame, parseFrame } from "../protocol/frame-codec";
import type { FramedConnection, FramedHandlers } from "./framed-connection";

export interface RpcReply {
  body: unknown;
  attachments?: Uint8Array[];
}

/** Returns null when no response is sent (acks=0 produce). */
export type RpcHandler<Session> = (body: unknown, attachment: Uint8Array, session: Session) => Promise<RpcReply | null> | RpcReply | null;

export interface RpcServerHooks<Session> {
  openSession(connection: FramedConnection): Session;
  closeSession?(session: Session): void;
  drained?(session: Session): void;
  /** Where the active broker is, sent along with NOT_LEADER errors. */
  leaderHint?(): BrokerAddress | undefined;
}

export interface RpcServerOptions {
  /**
   * A request not answered within this long gets REQUEST_TIMED_OUT (its
   * outcome unknown: a produce may still be written) and its late answer is
   * dropped — e.g. a produce waiting on an fsync that hangs. 0 = no limit.
   */
  requestTimeoutMs?: number;
}

export class RpcDispatcher<Session> {
  constructor(
    private readonly handlers: Readonly<Record<string, RpcHandler<Session>>>,
    private readonly hooks: RpcServerHooks<Session>,
    private readonly logger: Logger,
    private readonly options: RpcServerOptions = {},
  ) {}

  accept(connection: FramedConnection): FramedHandlers {
    const session = this.hooks.openSession(connection);
    return {
      onFrame: (_, frame) => this.handleFrame(connection, session, frame),
      onClose: (_, reason) => {
        this.hooks.closeSession?.(session);
        if (reason) this.logger.info("connection closed", { remote: connection.remote, reason });
      },
      onDrain: () => this.hooks.drained?.(session),
    };
  }

  private handleFrame(connection: FramedConnection, session: Session, frame: Uint8Array): void {
    let api: string;
    let correlationId: number;
    let body: unknown;
    let attachment: Uint8Array;
    try {
      const decoded = parseFrame(frame);
      const envelope = fromWire(decoded.envelope);
      if (envelope.kind !== "request") throw new KafkaCloneError("INVALID_REQUEST", `expected a request, got a ${envelope.kind}`);
      ({ api, correlationId, body } = envelope);
      attachment = decoded.attachment;
    } catch (error) {
      const reason = asKafkaCloneError(error).describe();
      this.logger.warn("closing connection after a malformed frame", { remote: connection.remote, reason });
      connection.close(reason);
      return;
    }
    const handler = Object.hasOwn(this.handlers, api) ? this.handlers[api] : undefined;
    if (handler === undefined) {
      this.fail(connection, correlationId, api, new KafkaCloneError("INVALID_REQUEST", `unknown api ${JSON.stringify(api)}`));
      return;
    }
    let result: ReturnType<RpcHandler<Session>>;
    try {
      result = handler(body, attachment, session);
    } catch (error) {
      this.fail(connection, correlationId, api, error);
      return;
    }
    // Synchronous answers go out at once, ahead of any push the handler scheduled.
    if (result instanceof Promise) {
      this.answerWithin(connection, correlationId, api, result);
    } else {
      this.reply(connection, correlationId, result);
    }
  }

  /** Answers when `result` settles, or with REQUEST_TIMED_OUT at the deadline (the late answer is then dropped). */
  private answerWithin(connection: FramedConnection, correlationId: number, api: string, result: Promise<RpcReply | null>): void {
    const timeoutMs = this.options.requestTimeoutMs ?? 0;
    let answered = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            answered = true;
            this.logger.warn("request timed out", { api, remote: connection.remote, timeoutMs });
            const timedOut = new KafkaCloneError("REQUEST_TIMED_OUT", `${api} was not done within ${timeoutMs} ms; whether it took effect is unknown`);
            this.fail(connection, correlationId, api, timedOut);
          }, timeoutMs)
        : null;
    const settle = (answer: () => void) => {
      if (timer !== null) clearTimeout(timer);
      if (answered) return;
      answered = true;
      answer();
    };
    result.then(
      (reply) => settle(() => this.reply(connection, correlationId, reply)),
      (error) => settle(() => this.fail(connection, correlationId, api, error)),
    );
  }

  private reply(connection: FramedConnection, correlationId: number, reply: RpcReply | null): void {
    if (reply === null) return;
    connection.send(encodeFrame(toWire({ kind: "response", correlationId, error: null, body: reply.body }), reply.attachments));
  }

  private fail(connection: FramedConnection, correlationId: number, api: string, error: unknown): void {
    const failure = asKafkaCloneError(error);
    if (failure.code === "UNKNOWN") this.logger.error("request failed unexpectedly", { api, error: failure.message, stack: (error as Error).stack });
    const leader = failure.code === "NOT_LEADER" ? this.hooks.leaderHint?.() : undefined;
    connection.send(encodeFrame(toWire({ kind: "response", correlationId, error: toWireError(failure, leader), body: null })));
  }
}
