/**
 * The client side of the handshake on a freshly opened connection: hello,
 * challenge, proof, accept (handshake.ts). Until it is done the connection's
 * frames come here; afterwards every frame both ways is sealed with the
 * connection's keys (frame-mac.ts) and the caller's handlers are back.
 *
 * Failures: the server refused the proof or does not use a secret, or could
 * not prove itself → AUTHENTICATION_FAILED (not retriable: the same
 * credentials will fail again); the connection dropped or the handshake
 * timed out → NETWORK_ERROR (retriable).
 */
import { KafkaCloneError } from "../errors";
import type { FramedConnection } from "../net/framed-connection";
import { fromWireError } from "../protocol/envelope";
import type { Credentials } from "./credentials";
import { FrameMac } from "./frame-mac";
import { HANDSHAKE_MAX_FRAME_BYTES } from "./secure-accept";
import { ClientHandshake } from "./handshake";
import { AUTH_API, encodeRequest, helloBody, proofBody, readChallenge, readEnvelope, readProof } from "./handshake-wire";

export const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Runs the handshake on `connection` (named `peer` in errors); resolves once it is authenticated both ways. */
export async function authenticateConnection(connection: FramedConnection, credentials: Credentials, peer: string, timeoutMs = DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS): Promise<void> {
  const handlers = connection.handlers;
  // Handshake answers are small: a server that is not what it seems cannot make this client buffer a large frame.
  const maxFrameBytes = connection.maxFrameBytes;
  connection.maxFrameBytes = Math.min(maxFrameBytes, HANDSHAKE_MAX_FRAME_BYTES);
  let waiter: { resolve: (body: unknown) => void; reject: (error: Error) => void } | null = null;
  let failure: KafkaCloneError | null = null;
  const fail = (error: KafkaCloneError) => {
    failure ??= error;
    waiter?.reject(failure);
    waiter = null;
  };
  connection.handlers = {
    onFrame: (_, frame) => {
      try {
        const envelope = readEnvelope(frame);
        if (envelope.kind !== "response") throw new KafkaCloneError("INVALID_REQUEST", `a ${envelope.kind} during the handshake`);
        if (envelope.error) {
          const error = fromWireError(envelope.error);
          if (error.code === "INVALID_REQUEST" && /unknown api/.test(error.message)) {
            throw new KafkaCloneError("AUTHENTICATION_FAILED", `${peer} does not use a cluster secret (it does not know the authentication handshake): refusing to trust it`);
          }
          throw error.code === "AUTHENTICATION_FAILED" ? error : new KafkaCloneError("AUTHENTICATION_FAILED", `${peer} refused the handshake: ${error.describe()}`);
        }
        const current = waiter;
        waiter = null;
        current?.resolve(envelope.body);
      } catch (error) {
        fail(error instanceof KafkaCloneError && error.code === "AUTHENTICATION_FAILED" ? error : new KafkaCloneError("AUTHENTICATION_FAILED", `bad handshake answer from ${peer}: ${(error as Error).message}`));
      }
    },
    onClose: (_, reason) => {
      fail(new KafkaCloneError("NETWORK_ERROR", `${peer} closed the connection during the authentication handshake${reason ? ` (${reason})` : ""}; does it use this cluster's secret?`));
    },
  };
  const ask = (api: string, correlationId: number, body: unknown): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    const answer = new Promise<unknown>((resolve, reject) => (waiter = { resolve, reject }));
    connection.send(encodeRequest(api, correlationId, body));
    return answer;
  };
  const timer = setTimeout(() => fail(new KafkaCloneError("NETWORK_ERROR", `no authentication answer from ${peer} within ${timeoutMs} ms`)), timeoutMs);
  try {
    const handshake = new ClientHandshake(credentials.mechanism, credentials.user);
    const challenge = readChallenge(await ask(AUTH_API.hello, 1, helloBody(handshake.hello)));
    const keys = await credentials.keysFor(challenge);
    const proof = handshake.prove(challenge, keys);
    const accept = readProof(await ask(AUTH_API.proof, 2, proofBody(proof)));
    const session = handshake.finish(accept);
    connection.guard = new FrameMac(session.send, session.receive);
    connection.maxFrameBytes = maxFrameBytes;
    connection.handlers = handlers;
  } catch (error) {
    const reason = error instanceof KafkaCloneError ? error : new KafkaCloneError("AUTHENTICATION_FAILED", `handshake with ${peer} failed: ${(error as Error).message}`);
    connection.close(reason.describe()); // with the handshake's handlers: the caller never had this connection
    connection.handlers = handlers;
    throw reason;
  } finally {
    clearTimeout(timer);
  }
}

/** The `secure` hook of RpcConnection.connect for `credentials` (undefined: none, a cluster without a secret). */
export function handshakeWith(credentials: Credentials | undefined, timeoutMs?: number): ((connection: FramedConnection, peer: string) => Promise<void>) | undefined {
  if (!credentials) return undefined;
  return (connection, peer) => authenticateConnection(connection, credentials, peer, timeoutMs);
}
