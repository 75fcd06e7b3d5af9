/** Decodes each request frame, runs its handler, encodes the answer. */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import type { Logger } from "../logger";
import type { FramedConnection, FramedHandlers } from "../net/framed-connection";
import { fromWire } from "../protocol/envelope";
import { parseFrame } from "../protocol/frame-codec";
import { ClientSession } from "./client-session";
import type { BrokerServices, HandlerReply, RequestHandler } from "./request-handler";

export class RequestDispatcher {
  readonly sessions = new Set<ClientSession>();

  constructor(
    private readonly handlers: Readonly<Record<string, RequestHandler>>,
    private readonly broker: BrokerServices,
    private readonly logger: Logger,
  ) {}

  accept(connection: FramedConnection): FramedHandlers {
    const session = new ClientSession(connection);
    this.sessions.add(session);
    return {
      onFrame: (_, frame) => this.handleFrame(session, frame),
      onClose: (_, reason) => {
        this.sessions.delete(session);
        session.closeSubscriptions();
        if (reason) this.logger.info("connection closed", { remote: connection.remote, reason });
      },
      onDrain: () => session.resume(),
    };
  }

  private handleFrame(session: ClientSession, frame: Uint8Array): void {
    let api: string;
    let correlationId: number;
    let body: unknown;
    let attachment: Uint8Array;
    try {
      const decoded = parseFrame(frame);
      const envelope = fromWire(decoded.envelope);
      if (envelope.kind !== "request") throw new KafkaCloneError("INVALID_REQUEST", `clients send requests, not ${envelope.kind}s`);
      ({ api, correlationId, body } = envelope);
      attachment = decoded.attachment;
    } catch (error) {
      const reason = asKafkaCloneError(error).describe();
      this.logger.warn("closing connection after a malformed frame", { remote: session.connection.remote, reason });
      session.connection.close(reason);
      return;
    }
    const handler = Object.hasOwn(this.handlers, api) ? this.handlers[api] : undefined;
    if (handler === undefined) {
      session.respondError(correlationId, new KafkaCloneError("INVALID_REQUEST", `unknown api ${JSON.stringify(api)}`));
      return;
    }
    let result: ReturnType<RequestHandler>;
    try {
      result = handler({ body, attachment, session }, this.broker);
    } catch (error) {
      this.fail(session, correlationId, api, error);
      return;
    }
    // Synchronous answers go out at once, ahead of any push the handler scheduled.
    if (result instanceof Promise) {
      result.then(
        (reply) => this.reply(session, correlationId, reply),
        (error) => this.fail(session, correlationId, api, error),
      );
    } else {
      this.reply(session, correlationId, result);
    }
  }

  private reply(session: ClientSession, correlationId: number, reply: HandlerReply | null): void {
    if (reply !== null) session.respond(correlationId, reply.body, reply.attachments);
  }

  private fail(session: ClientSession, correlationId: number, api: string, error: unknown): void {
    const failure = asKafkaCloneError(error);
    if (failure.code === "UNKNOWN") this.logger.error("request failed unexpectedly", { api, error: failure.message, stack: (error as Error).stack });
    session.respondError(correlationId, failure, failure.code === "NOT_LEADER" ? this.broker.leaderAddress() : undefined);
  }
}
