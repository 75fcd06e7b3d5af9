/**
 * The cluster secret: one shared key that the zookeeper, every broker and
 * trusted (administrative) clients hold. Everything secret is derived from it
 * with HKDF-SHA256, one key per purpose, so no two mechanisms ever share a
 * key (the heartbeat HMAC key cannot be used to pass a connection handshake).
 *
 * The bytes never leave this object except as derived keys: printing it,
 * logging it or JSON-encoding it shows "[redacted]", and the errors about a
 * bad secret name where it came from, never what it was.
 */
import { hkdfSync } from "node:crypto";
import fs from "node:fs";
import { KafkaCloneError } from "../errors";

export const MIN_SECRET_BYTES = 16;
export const MAX_SECRET_BYTES = 4096;
const KDF_SALT = "kafka-clone cluster secret v1";
const REDACTED = "[redacted]";

export type SecretPurpose = "heartbeat" | "handshake";

export class ClusterSecret {
  readonly #bytes: Buffer;
  readonly #derived = new Map<SecretPurpose, Buffer>();

  private constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }

  /**
   * A secret from its bytes (a file's contents, an environment variable).
   * One trailing newline is dropped (files written with `echo`); `source`
   * names where it came from in the error.
   */
  static fromBytes(bytes: Uint8Array, source: string): ClusterSecret {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0a) end--;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    if (end < MIN_SECRET_BYTES) {
      throw new KafkaCloneError("INVALID_ARGUMENT", `the cluster secret from ${source} is too short: use at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -base64 32)`);
    }
    if (end > MAX_SECRET_BYTES) throw new KafkaCloneError("INVALID_ARGUMENT", `the cluster secret from ${source} is longer than ${MAX_SECRET_BYTES} bytes`);
    return new ClusterSecret(bytes.subarray(0, end));
  }

  static fromText(text: string, source: string): ClusterSecret {
    return ClusterSecret.fromBytes(new TextEncoder().encode(text), source);
  }

  /** Reads a secret file; an unreadable file is an error naming the path only. */
  static fromFile(file: string): ClusterSecret {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new KafkaCloneError("INVALID_ARGUMENT", `cannot read the cluster secret file ${file} (${code})`);
    }
    return ClusterSecret.fromBytes(bytes, file);
  }

  /** The 32-byte key for one purpose (HKDF-SHA256), computed once. */
  key(purpose: SecretPurpose): Buffer {
    let key = this.#derived.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync("sha256", this.#bytes, KDF_SALT, purpose, 32));
      this.#derived.set(purpose, key);
    }
    return key;
  }

  /** A copy of the raw bytes, for handing the secret to a worker thread (postMessage) only. */
  exportForWorker(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  /** The worker's side of exportForWorker: the bytes as they are (already checked and trimmed). */
  static fromWorkerExport(bytes: Uint8Array): ClusterSecret {
    return new ClusterSecret(bytes);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
