/**
 * The authentication flags (src/auth):
 *
 *   servers (zookeeper, broker)  --cluster-secret[-file], --users-file
 *   clients                      --cluster-secret[-file], or --user with --password-file
 *
 * A secret given as --cluster-secret is visible to every local user in `ps`;
 * --cluster-secret-file or KAFKA_CLONE_CLUSTER_SECRET (resolve-args.ts) are
 * not. The password likewise comes from --password-file or KAFKA_CLONE_PASSWORD,
 * never from a flag. Nothing here ever prints a secret.
 */
import type { ArgsDef } from "citty";
import fs from "node:fs";
import { ClusterSecret } from "../auth/cluster-secret";
import { clusterCredentials, type Credentials, userCredentials } from "../auth/credentials";
import { ServerAuth } from "../auth/server-auth";
import { readUsersFile } from "../auth/users-file";
import { KafkaCloneError } from "../errors";

export const PASSWORD_ENV = "KAFKA_CLONE_PASSWORD";

export const SECRET_ARGS = {
  "cluster-secret": {
    type: "string",
    description: "the cluster secret (at least 16 bytes) that the zookeeper, every broker and trusted clients share; or KAFKA_CLONE_CLUSTER_SECRET. On the command line it is visible to other users in `ps`: prefer --cluster-secret-file or the environment variable",
  },
  "cluster-secret-file": { type: "string", description: "a file holding the cluster secret (one trailing newline is ignored; keep it chmod 600)" },
} as const satisfies ArgsDef;

export const SERVER_AUTH_ARGS = {
  ...SECRET_ARGS,
  "users-file": { type: "string", description: "users allowed to connect with a password, and their topic permissions (JSON, see `kafka-clone users add`); needs the cluster secret" },
} as const satisfies ArgsDef;

export const CLIENT_AUTH_ARGS = {
  ...SECRET_ARGS,
  user: { type: "string", description: `connect as this user of the brokers' users file (the password from --password-file or ${PASSWORD_ENV}); instead of the cluster secret` },
  "password-file": { type: "string", description: `a file holding the --user's password (or ${PASSWORD_ENV})` },
} as const satisfies ArgsDef;

export interface SecretFlags {
  "cluster-secret"?: string;
  "cluster-secret-file"?: string;
}

export interface ClientAuthFlags extends SecretFlags {
  user?: string;
  "password-file"?: string;
}

/** The cluster secret from the flags (or their environment variables), or null when none is given. */
export function clusterSecretFrom(a: SecretFlags): ClusterSecret | null {
  const inline = a["cluster-secret"];
  const file = a["cluster-secret-file"];
  if (inline !== undefined && inline !== "" && file !== undefined && file !== "") {
    throw new KafkaCloneError("INVALID_ARGUMENT", "give the cluster secret once: --cluster-secret (or KAFKA_CLONE_CLUSTER_SECRET) or --cluster-secret-file, not both");
  }
  if (file !== undefined && file !== "") return ClusterSecret.fromFile(file);
  if (inline !== undefined && inline !== "") return ClusterSecret.fromText(inline, "--cluster-secret (or KAFKA_CLONE_CLUSTER_SECRET)");
  return null;
}

/** A server's authentication, or undefined for a cluster without a secret. */
export function serverAuthFrom(a: SecretFlags & { "users-file"?: string }): ServerAuth | undefined {
  const secret = clusterSecretFrom(a);
  const usersFile = a["users-file"];
  if (secret === null) {
    if (usersFile !== undefined && usersFile !== "") {
      throw new KafkaCloneError("INVALID_ARGUMENT", "--users-file needs a cluster secret (--cluster-secret-file or KAFKA_CLONE_CLUSTER_SECRET): the brokers and the zookeeper authenticate each other with it");
    }
    return undefined;
  }
  return new ServerAuth(secret, usersFile === undefined || usersFile === "" ? null : readUsersFile(usersFile));
}

/** A client's credentials: a user (with --user) or the cluster secret; undefined when neither is given. */
export function credentialsFrom(a: ClientAuthFlags, env: Record<string, string | undefined> = process.env): Credentials | undefined {
  if (a.user !== undefined && a.user !== "") return userCredentials(a.user, passwordFrom(a, env));
  const secret = clusterSecretFrom(a);
  return secret === null ? undefined : clusterCredentials(secret);
}

function passwordFrom(a: ClientAuthFlags, env: Record<string, string | undefined>): string {
  const file = a["password-file"];
  if (file !== undefined && file !== "") {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new KafkaCloneError("INVALID_ARGUMENT", `cannot read the password file ${file} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
    }
    return text.replace(/\r?\n$/, "");
  }
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  throw new KafkaCloneError("INVALID_ARGUMENT", `--user needs a password: --password-file or ${PASSWORD_ENV}`);
}
