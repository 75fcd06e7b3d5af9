/**
 * The handshake's four messages as ordinary request/response envelopes
 * (frame-codec.ts, envelope.ts), sent before frames are authenticated:
 *
 *   request  auth.hello  {v: 1, mechanism, user?, nonce}
 *   response             {nonce, salt, kdf: {N, r, p} | null}
 *   request  auth.proof  {proof}
 *   response             {proof}            or an AUTHENTICATION_FAILED error
 *
 * Being ordinary envelopes, a server without a secret answers the hello with
 * "unknown api" (so the client can say what is wrong), and a server with one
 * can answer an unauthenticated client's first request with a readable
 * AUTHENTICATION_FAILED error for its correlation id.
 */
import { KafkaCloneError } from "../errors";
import { type Envelope, fromWire, toWire } from "../protocol/envelope";
import { encodeFrame, parseFrame } from "../protocol/frame-codec";
import { asBytes, asInt, asObject, asOneOf, asString, optional } from "../protocol/wire-values";
import type { AcceptMessage, ChallengeMessage, HelloMessage, ProofMessage } from "./handshake";
import { HANDSHAKE_VERSION } from "./handshake";
import { checkUserName } from "./users-file";

export const AUTH_API = { hello: "auth.hello", proof: "auth.proof" } as const;
const MAX_SALT_BYTES = 64;
const MAX_PROOF_BYTES = 64;

export function encodeRequest(api: string, correlationId: number, body: unknown): Uint8Array[] {
  return encodeFrame(toWire({ kind: "request", api, correlationId, body }));
}

export function encodeResponse(correlationId: number, body: unknown): Uint8Array[] {
  return encodeFrame(toWire({ kind: "response", correlationId, error: null, body }));
}

export function encodeErrorResponse(correlationId: number, error: KafkaCloneError): Uint8Array[] {
  return encodeFrame(toWire({ kind: "response", correlationId, error: { code: error.code, message: error.message }, body: null }));
}

/** A frame's envelope; throws INVALID_REQUEST when it is not one. */
export function readEnvelope(frame: Uint8Array): Envelope {
  return fromWire(parseFrame(frame).envelope);
}

export function helloBody(hello: HelloMessage): unknown {
  return { v: HANDSHAKE_VERSION, mechanism: hello.mechanism, ...(hello.user === null ? {} : { user: hello.user }), nonce: hello.nonce };
}

export function readHello(body: unknown): HelloMessage {
  const o = asObject(body, "auth.hello");
  if (o.v !== HANDSHAKE_VERSION) throw new KafkaCloneError("UNSUPPORTED_VERSION", `authentication handshake version ${String(o.v)} is not supported (this program speaks ${HANDSHAKE_VERSION})`);
  const mechanism = asOneOf(o.mechanism, "mechanism", ["cluster", "user"] as const);
  const user = mechanism === "user" ? checkUserName(asString(o.user, "user", 64)) : null;
  return { mechanism, user, nonce: asBytes(o.nonce, "nonce") };
}

export function challengeBody(challenge: ChallengeMessage): unknown {
  return { nonce: challenge.nonce, salt: challenge.salt, kdf: challenge.kdf };
}

export function readChallenge(body: unknown): ChallengeMessage {
  const o = asObject(body, "challenge");
  const salt = asBytes(o.salt, "salt");
  if (salt.length > MAX_SALT_BYTES) throw new KafkaCloneError("INVALID_REQUEST", "salt is too long");
  const kdf = optional(o.kdf, (v) => {
    const k = asObject(v, "kdf");
    return { N: asInt(k.N, "kdf.N", 2, 2 ** 30), r: asInt(k.r, "kdf.r", 1, 1024), p: asInt(k.p, "kdf.p", 1, 1024) };
  });
  return { nonce: asBytes(o.nonce, "nonce"), salt, kdf: kdf ?? null };
}

export function proofBody(message: ProofMessage | AcceptMessage): unknown {
  return { proof: message.proof };
}

export function readProof(body: unknown): ProofMessage {
  const proof = asBytes(asObject(body, "proof").proof, "proof");
  if (proof.length > MAX_PROOF_BYTES) throw new KafkaCloneError("INVALID_REQUEST", "proof is too long");
  return { proof };
}
