/**
 * The server side of an authenticated port: a new connection's frames go to
 * the handshake (handshake.ts over handshake-wire.ts) until the client has
 * proved itself; then its frames are checked by a FrameMac and handed to the
 * port's real handlers, which learn who the peer is from `peerIdentity`.
 *
 * A client that sends anything else first (it has no secret) gets an
 * AUTHENTICATION_FAILED answer to that request when it was one, and is
 * disconnected; so is a failed proof. A handshake must be done within
 * `timeoutMs`, in frames of at most HANDSHAKE_MAX_FRAME_BYTES (the port's
 * full maximum applies once authenticated), so an outsider cannot make the
 * port hold large buffers. Nothing secret is ever logged or sent in an error.
 */
import { asKafkaCloneError, KafkaCloneError } from "../errors";
import type { Logger } from "../logger";
import type { FramedConnection, FramedHandlers } from "../net/framed-connection";
import { FrameMac } from "./frame-mac";
import type { Identity, ServerHandshake } from "./handshake";
import { AUTH_API, challengeBody, encodeErrorResponse, encodeResponse, proofBody, readEnvelope, readHello, readProof } from "./handshake-wire";
import type { ServerAuth } from "./server-auth";

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The largest frame a peer may send before it has authenticated (handshake messages are ~100 bytes). */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

const identities = new WeakMap<FramedConnection, Identity>();

/** Who proved themselves on `connection` (null before, or on a port without authentication). */
export function peerIdentity(connection: FramedConnection): Identity | null {
  return identities.get(connection) ?? null;
}

export function describeIdentity(identity: Identity | null): string {
  if (identity === null) return "an unauthenticated peer";
  return identity.kind === "member" ? "a cluster member" : `user ${identity.name}`;
}

export interface AcceptOptions {
  auth: ServerAuth;
  /** Whether users may log in here (false on the election port: members only). */
  allowUsers: boolean;
  /** What this port is, for messages ("broker 2", "the zookeeper"). */
  name: string;
  logger: Logger;
  timeoutMs?: number;
}

/** The handlers for a new connection: the handshake first, then `authenticated(identity)`'s. */
export function acceptAuthenticated(connection: FramedConnection, options: AcceptOptions, authenticated: (identity: Identity) => FramedHandlers): FramedHandlers {
  const handshake: ServerHandshake = options.auth.handshake(options.allowUsers);
  // Nobody may make this port buffer a large frame before proving who they are.
  const maxFrameBytes = connection.maxFrameBytes;
  connection.maxFrameBytes = Math.min(maxFrameBytes, HANDSHAKE_MAX_FRAME_BYTES);
  let stage: "hello" | "proof" = "hello";
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const timer = setTimeout(() => refuse(null, `no authentication within ${timeoutMs} ms`), timeoutMs);
  timer.unref?.();

  const refuse = (correlationId: number | null, reason: string, error?: KafkaCloneError) => {
    clearTimeout(timer);
    options.auth.noteFailure((fields) => options.logger.warn("authentication failed", fields), { port: options.name, remote: connection.remote, reason });
    if (correlationId !== null && error) {
      connection.send(encodeErrorResponse(correlationId, error));
      connection.close(); // after the answer
    } else {
      connection.close(reason);
    }
  };

  const onFrame = (frame: Uint8Array) => {
    let envelope;
    try {
      envelope = readEnvelope(frame);
    } catch {
      refuse(null, "the first frames were not an authentication handshake (a peer without the cluster secret?)");
      return;
    }
    if (envelope.kind !== "request") {
      refuse(null, `expected an authentication request, got a ${envelope.kind}`);
      return;
    }
    const { api, correlationId, body } = envelope;
    const expected = stage === "hello" ? AUTH_API.hello : AUTH_API.proof;
    if (api !== expected) {
      const message = stage === "hello"
        ? `${options.name} requires authentication: give the client the cluster secret (--cluster-secret-file or KAFKA_CLONE_CLUSTER_SECRET) or a user (--user with --password-file or KAFKA_CLONE_PASSWORD)`
        : `expected ${AUTH_API.proof}, got ${api}`;
      refuse(correlationId, `${JSON.stringify(api.slice(0, 64))} before authenticating`, new KafkaCloneError("AUTHENTICATION_FAILED", message));
      return;
    }
    try {
      if (stage === "hello") {
        const challenge = handshake.onHello(readHello(body));
        stage = "proof";
        connection.send(encodeResponse(correlationId, challengeBody(challenge)));
        return;
      }
      const { identity, accept, keys } = handshake.onProof(readProof(body));
      clearTimeout(timer);
      // The accept goes out unsealed; everything after it, both ways, is sealed.
      connection.send(encodeResponse(correlationId, proofBody(accept)));
      connection.guard = new FrameMac(keys.send, keys.receive);
      connection.maxFrameBytes = maxFrameBytes;
      identities.set(connection, identity);
      connection.handlers = authenticated(identity);
    } catch (error) {
      const failure = asKafkaCloneError(error, "AUTHENTICATION_FAILED");
      refuse(correlationId, failure.message, failure);
    }
  };

  return {
    onFrame: (_, frame) => onFrame(frame),
    onClose: () => clearTimeout(timer),
  };
}
