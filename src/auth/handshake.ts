/**
 * The connection handshake, pure (no sockets): four messages, then both sides
 * hold fresh per-connection keys for the frame MACs (frame-mac.ts).
 *
 *   client → server  hello      mechanism ("cluster" | "user"), user name, client nonce
 *   server → client  challenge  server nonce; for a user: its salt and scrypt parameters
 *   client → server  proof      ClientKey XOR HMAC(StoredKey, "client" | transcript)
 *   server → client  accept     HMAC(ServerKey, "server" | transcript)
 *
 * This is SCRAM (RFC 5802) with HMAC-SHA256, scrypt in place of PBKDF2, and
 * the cluster secret as a second source of the root key:
 *   root        = scrypt(password, salt)          a user
 *               = HKDF(cluster secret, "handshake") a cluster member or admin client
 *   ClientKey   = HMAC(root, "Client Key")   StoredKey = SHA-256(ClientKey)
 *   ServerKey   = HMAC(root, "Server Key")
 * The server keeps only StoredKey and ServerKey (a users file holds no
 * password equivalent: it cannot be used to log in), recovers ClientKey from
 * the proof and checks its hash. The server proves itself last, so nobody can
 * collect a verifier for an offline guessing attack just by connecting; the
 * client refuses a server that cannot prove it (an impostor broker).
 *
 * The transcript binds both nonces, the mechanism, the user and the salt, so
 * a proof is good for one connection only (replaying a recorded handshake
 * fails on the server's fresh nonce). Session keys are HMAC(ClientKey,
 * "c2s"|"s2c" | transcript): one per direction, unknown to an eavesdropper.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { KafkaCloneError } from "../errors";

export const HANDSHAKE_VERSION = 1;
export const NONCE_BYTES = 32;
const KEY_BYTES = 32;

export type Mechanism = "cluster" | "user";

/** Who the peer proved to be: a holder of the cluster secret, or a user of the users file. */
export type Identity = { kind: "member" } | { kind: "user"; name: string };

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export interface HelloMessage {
  mechanism: Mechanism;
  /** For "user" only. */
  user: string | null;
  nonce: Uint8Array;
}

export interface ChallengeMessage {
  nonce: Uint8Array;
  /** Empty for "cluster". */
  salt: Uint8Array;
  /** Null for "cluster". */
  kdf: ScryptParams | null;
}

export interface ProofMessage {
  proof: Uint8Array;
}

export interface AcceptMessage {
  proof: Uint8Array;
}

/** What a client derives from its secret or password. */
export interface ProofKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** What a server keeps per account. */
export interface VerifierKeys {
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface SessionKeys {
  send: Buffer;
  receive: Buffer;
}

/** An account the server can verify: the keys, and for users the salt and scrypt parameters to send. */
export interface Account {
  identity: Identity;
  keys: VerifierKeys;
  salt: Uint8Array;
  kdf: ScryptParams | null;
}

const hmac = (key: Uint8Array, ...parts: (Uint8Array | string)[]): Buffer => {
  const h = createHmac("sha256", key);
  for (const part of parts) h.update(part);
  return h.digest();
};

/** ClientKey, StoredKey and ServerKey from a root key (scrypt output or the secret's handshake key). */
export function proofKeys(root: Uint8Array): ProofKeys {
  const clientKey = hmac(root, "Client Key");
  return { clientKey, storedKey: createHash("sha256").update(clientKey).digest(), serverKey: hmac(root, "Server Key") };
}

function failed(message: string): KafkaCloneError {
  return new KafkaCloneError("AUTHENTICATION_FAILED", message);
}

function field(value: Uint8Array | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The bytes both proofs and the session keys are computed over. */
export function transcript(hello: HelloMessage, challenge: ChallengeMessage): Buffer {
  const kdf = challenge.kdf ? `${challenge.kdf.N},${challenge.kdf.r},${challenge.kdf.p}` : "";
  return Buffer.concat([
    field(`kafka-clone auth v${HANDSHAKE_VERSION}`),
    field(hello.mechanism),
    field(hello.user ?? ""),
    field(hello.nonce),
    field(challenge.nonce),
    field(challenge.salt),
    field(kdf),
  ]);
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function sessionKeys(clientKey: Uint8Array, authMessage: Buffer, side: "client" | "server"): SessionKeys {
  const c2s = hmac(clientKey, "c2s", authMessage);
  const s2c = hmac(clientKey, "s2c", authMessage);
  return side === "client" ? { send: c2s, receive: s2c } : { send: s2c, receive: c2s };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class ClientHandshake {
  readonly hello: HelloMessage;
  private authMessage: Buffer | null = null;
  private keys: ProofKeys | null = null;

  constructor(mechanism: Mechanism, user: string | null, nonce: Uint8Array = randomBytes(NONCE_BYTES)) {
    this.hello = { mechanism, user: mechanism === "user" ? user : null, nonce };
  }

  /** The proof for the server's challenge, with the keys derived for it (its salt, for a user). */
  prove(challenge: ChallengeMessage, keys: ProofKeys): ProofMessage {
    if (this.authMessage) throw new KafkaCloneError("INVALID_REQUEST", "handshake: a second challenge");
    if (challenge.nonce.length !== NONCE_BYTES) throw failed("the server sent a malformed challenge");
    this.authMessage = transcript(this.hello, challenge);
    this.keys = keys;
    const signature = hmac(keys.storedKey, "client", this.authMessage);
    return { proof: xor(keys.clientKey, signature) };
  }

  /** Checks the server's proof; returns this side's frame keys. */
  finish(accept: AcceptMessage): SessionKeys {
    if (!this.authMessage || !this.keys) throw new KafkaCloneError("INVALID_REQUEST", "handshake: accept before a proof");
    const expected = hmac(this.keys.serverKey, "server", this.authMessage);
    if (!sameBytes(accept.proof, expected)) {
      throw failed("the server could not prove that it knows the cluster secret or the user's password: it is not a member of this cluster");
    }
    return sessionKeys(this.keys.clientKey, this.authMessage, "client");
  }
}

export interface ServerHandshakeOptions {
  /** The account for a hello, or null when there is none (unknown user, users not allowed here). */
  lookup(hello: HelloMessage): Account | null;
  /** Keys fake salts for unknown users (so a challenge does not tell whether a user exists). */
  fakeSaltKey: Uint8Array;
  /** scrypt parameters shown for unknown users. */
  defaultKdf: ScryptParams;
  /** Why users cannot log in here at all (no users file, a members-only port), or null when they may. */
  usersRefused: string | null;
}

export class ServerHandshake {
  private hello: HelloMessage | null = null;
  private challenge: ChallengeMessage | null = null;
  private account: Account | null = null;

  constructor(private readonly options: ServerHandshakeOptions) {}

  onHello(hello: HelloMessage): ChallengeMessage {
    if (this.hello) throw new KafkaCloneError("INVALID_REQUEST", "handshake: a second hello");
    if (hello.nonce.length !== NONCE_BYTES) throw new KafkaCloneError("INVALID_REQUEST", `handshake: the client nonce must be ${NONCE_BYTES} bytes`);
    if (hello.mechanism === "user" && this.options.usersRefused !== null) throw failed(this.options.usersRefused);
    this.hello = hello;
    this.account = this.options.lookup(hello);
    const nonce = randomBytes(NONCE_BYTES);
    if (this.account) {
      this.challenge = { nonce, salt: this.account.salt, kdf: this.account.kdf };
    } else if (hello.mechanism === "user") {
      const salt = hmac(this.options.fakeSaltKey, hello.user ?? "").subarray(0, 16);
      this.challenge = { nonce, salt, kdf: this.options.defaultKdf };
    } else {
      this.challenge = { nonce, salt: new Uint8Array(0), kdf: null };
    }
    return this.challenge;
  }

  /** Verifies the client's proof: who it is, the accept message and this side's frame keys; or AUTHENTICATION_FAILED. */
  onProof(message: ProofMessage): { identity: Identity; accept: AcceptMessage; keys: SessionKeys } {
    if (!this.hello || !this.challenge) throw new KafkaCloneError("INVALID_REQUEST", "handshake: a proof before the hello");
    const account = this.account;
    const why = this.hello.mechanism === "user"
      ? `authentication failed for user ${JSON.stringify(this.hello.user)}: unknown user or wrong password`
      : "authentication failed: the cluster secret does not match";
    if (!account || message.proof.length !== KEY_BYTES) throw failed(why);
    const authMessage = transcript(this.hello, this.challenge);
    const clientKey = xor(message.proof, hmac(account.keys.storedKey, "client", authMessage));
    if (!sameBytes(createHash("sha256").update(clientKey).digest(), account.keys.storedKey)) {
      throw failed(why);
    }
    return {
      identity: account.identity,
      accept: { proof: hmac(account.keys.serverKey, "server", authMessage) },
      keys: sessionKeys(clientKey, authMessage, "server"),
    };
  }
}
