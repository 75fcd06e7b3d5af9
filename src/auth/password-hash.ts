/**
 * Users' passwords: what a users file stores and how a client turns its
 * password into handshake keys.
 *
 *   scrypt:<N>:<r>:<p>:<salt>:<StoredKey>:<ServerKey>      (base64 fields)
 *
 * root = scrypt(password, salt, N, r, p); StoredKey and ServerKey as in
 * handshake.ts. The entry is a salted, slow hash: it does not let anyone log
 * in (the proof needs ClientKey, whose hash StoredKey is) and a guess costs
 * one scrypt. Brokers never run scrypt: only clients do, once per process.
 */
import { randomBytes, scrypt } from "node:crypto";
import { KafkaCloneError } from "../errors";
import { proofKeys, type ProofKeys, type ScryptParams, type VerifierKeys } from "./handshake";

export const DEFAULT_KDF: ScryptParams = { N: 16_384, r: 8, p: 1 };
const SALT_BYTES = 16;
/** Bounds a client accepts from a server (a hostile one must not make it allocate gigabytes). */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

export interface PasswordHash {
  kdf: ScryptParams;
  salt: Uint8Array;
  keys: VerifierKeys;
}

export function checkKdf(kdf: ScryptParams, what: string): ScryptParams {
  const { N, r, p } = kdf;
  const powerOfTwo = Number.isSafeInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !Number.isInteger(r) || r < 1 || r > MAX_R || !Number.isInteger(p) || p < 1 || p > MAX_P) {
    throw new KafkaCloneError("AUTHENTICATION_FAILED", `${what}: scrypt parameters N=${N} r=${r} p=${p} are out of range`);
  }
  return kdf;
}

/** The handshake keys for `password` (scrypt, off the main thread). */
export function passwordKeys(password: string, salt: Uint8Array, kdf: ScryptParams): Promise<ProofKeys> {
  checkKdf(kdf, "the server's challenge");
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, 32, { ...kdf, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 }, (error, root) => {
      if (error) reject(new KafkaCloneError("AUTHENTICATION_FAILED", `cannot derive the password key: ${error.message}`));
      else resolve(proofKeys(root));
    });
  });
}

/** A new users-file entry for `password`. */
export async function hashPassword(password: string, kdf: ScryptParams = DEFAULT_KDF): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const keys = await passwordKeys(password, salt, kdf);
  return ["scrypt", kdf.N, kdf.r, kdf.p, salt.toString("base64"), keys.storedKey.toString("base64"), keys.serverKey.toString("base64")].join(":");
}

/** Parses an entry; the error names `what` (never the value). */
export function parsePasswordHash(text: string, what: string): PasswordHash {
  const parts = text.split(":");
  const bad = (why: string) => new KafkaCloneError("INVALID_CONFIG", `${what}: ${why} (expected scrypt:N:r:p:salt:storedKey:serverKey, as \`kafka-clone users add\` writes)`);
  if (parts.length !== 7 || parts[0] !== "scrypt") throw bad("not a password hash");
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  try {
    checkKdf({ N, r, p }, what);
  } catch {
    throw bad("scrypt parameters out of range");
  }
  const [salt, storedKey, serverKey] = parts.slice(4).map((field) => Buffer.from(field, "base64"));
  if (salt!.length < 8 || storedKey!.length !== 32 || serverKey!.length !== 32) throw bad("salt or keys have the wrong length");
  return { kdf: { N, r, p }, salt: salt!, keys: { storedKey: storedKey!, serverKey: serverKey! } };
}
