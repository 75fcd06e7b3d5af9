import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { ClusterSecret } from "../../../src/auth/cluster-secret";
import { clusterCredentials, userCredentials } from "../../../src/auth/credentials";
import { type ChallengeMessage, ClientHandshake, type HelloMessage, proofKeys, ServerHandshake, transcript } from "../../../src/auth/handshake";
import { DEFAULT_KDF, hashPassword, parsePasswordHash } from "../../../src/auth/password-hash";
import { ServerAuth } from "../../../src/auth/server-auth";
import { parseUsers } from "../../../src/auth/users-file";
import { KafkaCloneError } from "../../../src/errors";

const SECRET = ClusterSecret.fromText("correct horse battery staple", "test");
const OTHER = ClusterSecret.fromText("a different cluster secret!", "test");
const FAST_KDF = { N: 1024, r: 8, p: 1 };

function expectCode(run: () => unknown, code: string, message?: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaCloneError);
    expect((error as KafkaCloneError).code).toBe(code as never);
    if (message) expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

async function usersAuth(): Promise<ServerAuth> {
  const hash = await hashPassword("s3cret-password", FAST_KDF);
  const users = parseUsers(JSON.stringify({ users: { alice: { password: hash, read: ["orders"] } } }), "users.json");
  return new ServerAuth(SECRET, users);
}

/** Runs the four messages between a client and a server handshake; returns both sides' outcomes. */
async function run(client: ClientHandshake, server: ServerHandshake, keysFor: (c: ChallengeMessage) => Promise<ReturnType<typeof proofKeys>>) {
  const challenge = server.onHello(client.hello);
  const proof = client.prove(challenge, await keysFor(challenge));
  const verdict = server.onProof(proof);
  const clientKeys = client.finish(verdict.accept);
  return { challenge, proof, verdict, clientKeys };
}

describe("handshake with the cluster secret", () => {
  test("both sides prove the secret and derive matching per-direction keys", async () => {
    const credentials = clusterCredentials(SECRET);
    const { verdict, clientKeys } = await run(new ClientHandshake("cluster", null), new ServerAuth(SECRET).handshake(true), (c) => credentials.keysFor(c));
    expect(verdict.identity).toEqual({ kind: "member" });
    expect(clientKeys.send.equals(verdict.keys.receive)).toBe(true);
    expect(clientKeys.receive.equals(verdict.keys.send)).toBe(true);
    expect(clientKeys.send.equals(clientKeys.receive)).toBe(false);
  });

  test("a client with another secret is refused by the server", async () => {
    const client = new ClientHandshake("cluster", null);
    const server = new ServerAuth(SECRET).handshake(true);
    const challenge = server.onHello(client.hello);
    const proof = client.prove(challenge, await clusterCredentials(OTHER).keysFor(challenge));
    expectCode(() => server.onProof(proof), "AUTHENTICATION_FAILED", /cluster secret does not match/);
  });

  test("a server with another secret (an impostor) is refused by the client", async () => {
    const client = new ClientHandshake("cluster", null);
    const impostor = new ServerAuth(OTHER).handshake(true);
    const challenge = impostor.onHello(client.hello);
    client.prove(challenge, await clusterCredentials(SECRET).keysFor(challenge));
    // The best the impostor can send: an accept computed with its own secret's ServerKey.
    const forged = createHmac("sha256", proofKeys(OTHER.key("handshake")).serverKey).update("server").update(transcript(client.hello, challenge)).digest();
    expectCode(() => client.finish({ proof: forged }), "AUTHENTICATION_FAILED", /could not prove/);
    expectCode(() => client.finish({ proof: new Uint8Array(32) }), "AUTHENTICATION_FAILED");
  });

  test("a recorded proof does not pass a later handshake (fresh server nonce)", async () => {
    const auth = new ServerAuth(SECRET);
    const credentials = clusterCredentials(SECRET);
    const client = new ClientHandshake("cluster", null);
    const first = await run(client, auth.handshake(true), (c) => credentials.keysFor(c));
    // An eavesdropper replays the same hello and proof on a new connection.
    const second = auth.handshake(true);
    const challenge = second.onHello(client.hello);
    expect(Buffer.from(challenge.nonce).equals(Buffer.from(first.challenge.nonce))).toBe(false);
    expectCode(() => second.onProof(first.proof), "AUTHENTICATION_FAILED");
  });

  test("messages out of order or malformed are refused", () => {
    const server = new ServerAuth(SECRET).handshake(true);
    expectCode(() => server.onProof({ proof: new Uint8Array(32) }), "INVALID_REQUEST");
    expectCode(() => server.onHello({ mechanism: "cluster", user: null, nonce: new Uint8Array(5) } as HelloMessage), "INVALID_REQUEST");
    const client = new ClientHandshake("cluster", null);
    expectCode(() => client.finish({ proof: new Uint8Array(32) }), "INVALID_REQUEST");
    expectCode(() => client.prove({ nonce: new Uint8Array(3), salt: new Uint8Array(0), kdf: null }, proofKeys(SECRET.key("handshake"))), "AUTHENTICATION_FAILED");
  });
});

describe("handshake as a user", () => {
  test("the right password logs in as that user", async () => {
    const auth = await usersAuth();
    const credentials = userCredentials("alice", "s3cret-password");
    const { verdict, clientKeys } = await run(new ClientHandshake("user", "alice"), auth.handshake(true), (c) => credentials.keysFor(c));
    expect(verdict.identity).toEqual({ kind: "user", name: "alice" });
    expect(clientKeys.send.equals(verdict.keys.receive)).toBe(true);
  });

  test("a wrong password and an unknown user fail alike; a port without users says so", async () => {
    const auth = await usersAuth();
    const attempt = async (user: string, password: string) => {
      const server = auth.handshake(true);
      const client = new ClientHandshake("user", user);
      const challenge = server.onHello(client.hello);
      const proof = client.prove(challenge, await userCredentials(user, password).keysFor(challenge));
      return { challenge, verify: () => server.onProof(proof) };
    };
    expectCode((await attempt("alice", "wrong")).verify, "AUTHENTICATION_FAILED", /unknown user or wrong password/);
    const bob = await attempt("bob", "whatever");
    expectCode(bob.verify, "AUTHENTICATION_FAILED", /unknown user or wrong password/);
    // A port taking members only, or a server without a users file, says so at once.
    expectCode(() => auth.handshake(false).onHello(new ClientHandshake("user", "alice").hello), "AUTHENTICATION_FAILED", /only cluster members/);
    expectCode(() => new ServerAuth(SECRET).handshake(true).onHello(new ClientHandshake("user", "alice").hello), "AUTHENTICATION_FAILED", /without --users-file/);
    // An unknown user's salt is stable (a restart or a second try does not reveal that the user does not exist).
    const again = await attempt("bob", "whatever");
    expect(Buffer.from(again.challenge.salt).equals(Buffer.from(bob.challenge.salt))).toBe(true);
    expect(bob.challenge.kdf).toEqual(DEFAULT_KDF);
  });

  test("a users-file entry does not log in by itself (it holds StoredKey, not ClientKey)", async () => {
    const auth = await usersAuth();
    const entry = auth.users!.get("alice")!.password;
    const server = auth.handshake(true);
    const client = new ClientHandshake("user", "alice");
    const challenge = server.onHello(client.hello);
    // Someone with the file tries its keys as if they were the password's.
    const stolen = { clientKey: entry.keys.storedKey, storedKey: entry.keys.storedKey, serverKey: entry.keys.serverKey };
    expectCode(() => server.onProof(client.prove(challenge, stolen)), "AUTHENTICATION_FAILED");
  });

  test("password hashes parse and reject garbage without echoing it", async () => {
    const hash = await hashPassword("pw", FAST_KDF);
    expect(parsePasswordHash(hash, "x").kdf).toEqual(FAST_KDF);
    expectCode(() => parsePasswordHash("plaintext-password", "users.json: alice"), "INVALID_CONFIG", /^users\.json: alice: not a password hash/);
    try {
      parsePasswordHash("scrypt:3:8:1:c2FsdA==:AAAA:AAAA", "f");
    } catch (error) {
      expect((error as Error).message).not.toContain("c2FsdA");
    }
  });
});
