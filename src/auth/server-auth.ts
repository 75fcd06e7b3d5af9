/**
 * A server's side of authentication: the cluster secret (every member and
 * administrative client proves it), and optionally the users file (users
 * prove their password and get their permissions). Hands out one
 * ServerHandshake per connection.
 */
import { createHmac } from "node:crypto";
import type { ClusterSecret } from "./cluster-secret";
import { type Account, type HelloMessage, type Identity, proofKeys, ServerHandshake } from "./handshake";
import { DEFAULT_KDF } from "./password-hash";
import type { UserPermissions } from "./permissions";
import type { Users } from "./users-file";

/** At most one "authentication failed" line per this long (a misconfigured broker retries every 100 ms). */
const FAILURE_LOG_INTERVAL_MS = 5000;

export class ServerAuth {
  private readonly member: Account;
  private readonly fakeSaltKey: Buffer;
  /** Failed handshakes since start, on every port of this process. */
  failures = 0;
  private failuresNotLogged = 0;
  private lastFailureLoggedAt = -Infinity;

  constructor(
    readonly secret: ClusterSecret,
    readonly users: Users | null = null,
  ) {
    const keys = proofKeys(secret.key("handshake"));
    this.member = { identity: { kind: "member" }, keys: { storedKey: keys.storedKey, serverKey: keys.serverKey }, salt: new Uint8Array(0), kdf: null };
    // Stable across restarts (an unknown user's salt must not change when the broker restarts), unknown to outsiders.
    this.fakeSaltKey = createHmac("sha256", secret.key("handshake")).update("unknown-user salt").digest();
  }

  /** A handshake for one connection; `allowUsers` false takes cluster members only (the election port). */
  handshake(allowUsers: boolean): ServerHandshake {
    return new ServerHandshake({
      lookup: (hello) => this.lookup(hello, allowUsers),
      fakeSaltKey: this.fakeSaltKey,
      defaultKdf: DEFAULT_KDF,
      usersRefused: !allowUsers
        ? "only cluster members (holders of the cluster secret) may connect here"
        : this.users === null
          ? "no users may log in here (it was started without --users-file): use the cluster secret, or reach the brokers directly with --broker"
          : null,
    });
  }

  /** Counts a failed handshake and logs it, unless one was logged within FAILURE_LOG_INTERVAL_MS. */
  noteFailure(log: (fields: Record<string, unknown>) => void, fields: Record<string, unknown>): void {
    this.failures++;
    const now = performance.now();
    if (now - this.lastFailureLoggedAt < FAILURE_LOG_INTERVAL_MS) {
      this.failuresNotLogged++;
      return;
    }
    log({ ...fields, failures: this.failures, ...(this.failuresNotLogged > 0 ? { notLoggedSinceLast: this.failuresNotLogged } : {}) });
    this.lastFailureLoggedAt = now;
    this.failuresNotLogged = 0;
  }

  /** A user's permissions, or null for a cluster member (who may do everything). */
  permissionsOf(identity: Identity): UserPermissions | null {
    if (identity.kind === "member") return null;
    const user = this.users?.get(identity.name);
    // A user known at its handshake always has an entry: users are read once, at start.
    if (!user) throw new Error(`no permissions for user ${identity.name}`);
    return user.permissions;
  }

  private lookup(hello: HelloMessage, allowUsers: boolean): Account | null {
    if (hello.mechanism === "cluster") return this.member;
    if (!allowUsers || hello.user === null) return null;
    const user = this.users?.get(hello.user);
    if (!user) return null;
    return { identity: { kind: "user", name: user.name }, keys: user.password.keys, salt: user.password.salt, kdf: user.password.kdf };
  }
}
