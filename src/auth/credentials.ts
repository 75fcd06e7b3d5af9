/**
 * What a client proves in the handshake: the cluster secret (brokers talking
 * to the zookeeper and to each other, administrative clients), or a user's
 * name and password. The password is kept in a private field and shown as
 * "[redacted]"; the scrypt result for a salt is cached, so reconnecting
 * (failovers) costs no second scrypt.
 */
import { KafkaCloneError } from "../errors";
import type { ClusterSecret } from "./cluster-secret";
import { type ChallengeMessage, type Mechanism, type ProofKeys, proofKeys } from "./handshake";
import { passwordKeys } from "./password-hash";
import { checkUserName } from "./users-file";

export interface Credentials {
  readonly mechanism: Mechanism;
  readonly user: string | null;
  /** The handshake keys for a server's challenge. */
  keysFor(challenge: ChallengeMessage): Promise<ProofKeys>;
  /** "the cluster secret" or "user alice", for messages. */
  describe(): string;
}

export function clusterCredentials(secret: ClusterSecret): Credentials {
  const keys = proofKeys(secret.key("handshake"));
  return {
    mechanism: "cluster",
    user: null,
    keysFor: async () => keys,
    describe: () => "the cluster secret",
  };
}

class UserCredentials implements Credentials {
  readonly mechanism = "user" as const;
  readonly #password: string;
  readonly #cache = new Map<string, Promise<ProofKeys>>();

  constructor(
    readonly user: string,
    password: string,
  ) {
    this.#password = password;
  }

  keysFor(challenge: ChallengeMessage): Promise<ProofKeys> {
    if (challenge.kdf === null) return Promise.reject(new KafkaCloneError("AUTHENTICATION_FAILED", "the server sent no password salt for a user login"));
    const key = `${Buffer.from(challenge.salt).toString("base64")}:${challenge.kdf.N}:${challenge.kdf.r}:${challenge.kdf.p}`;
    let keys = this.#cache.get(key);
    if (!keys) {
      keys = passwordKeys(this.#password, challenge.salt, challenge.kdf);
      // A few salts at most (one per users file); a hostile server must not make the cache grow.
      if (this.#cache.size >= 8) this.#cache.clear();
      this.#cache.set(key, keys);
    }
    return keys;
  }

  describe(): string {
    return `user ${this.user}`;
  }

  toString(): string {
    return `[credentials of user ${this.user}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

export function userCredentials(user: string, password: string): Credentials {
  if (password.length === 0) throw new KafkaCloneError("INVALID_ARGUMENT", `the password for user ${checkUserName(user)} is empty`);
  return new UserCredentials(checkUserName(user, "--user"), password);
}
