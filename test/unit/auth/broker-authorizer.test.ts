/**
 * The broker's per-request authorization over a real authenticated loopback
 * connection, with stand-in handlers: what users may call, what they are
 * refused (AUTHORIZATION_FAILED naming user and topic or group), and how
 * lists are narrowed; members pass unchecked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { authorizeHandlers } from "../../../src/auth/broker-authorizer";
import { ClusterSecret } from "../../../src/auth/cluster-secret";
import { clusterCredentials, userCredentials, type Credentials } from "../../../src/auth/credentials";
import { hashPassword } from "../../../src/auth/password-hash";
import { acceptAuthenticated } from "../../../src/auth/secure-accept";
import { handshakeWith } from "../../../src/auth/secure-connect";
import { ServerAuth } from "../../../src/auth/server-auth";
import { parseUsers } from "../../../src/auth/users-file";
import { KafkaCloneError } from "../../../src/errors";
import { createLogger } from "../../../src/logger";
import type { FramedConnection } from "../../../src/net/framed-connection";
import { RpcConnection } from "../../../src/net/rpc-connection";
import { type RpcHandler, RpcDispatcher } from "../../../src/net/rpc-server";
import { listenTcp, type TcpServer } from "../../../src/net/tcp";
import { API } from "../../../src/protocol/api";

const SECRET = ClusterSecret.fromText("authorizer test cluster secret", "test");
const logger = createLogger("test");
const calls: string[] = [];
let server: TcpServer;

type Session = { connection: FramedConnection };
const answer = (api: string, body: unknown): RpcHandler<Session> => () => {
  calls.push(api);
  return { body };
};

const topics = [{ name: "orders", partitions: 3 }, { name: "payments", partitions: 1 }, { name: "logs.web", partitions: 2 }];
const HANDLERS: Record<string, RpcHandler<Session>> = {
  [API.metadata]: answer(API.metadata, { brokerId: 1, role: "active", activeBroker: null, epoch: 1, brokers: [], topics }),
  [API.listTopics]: answer(API.listTopics, { topics }),
  [API.produce]: answer(API.produce, { partitions: [] }),
  [API.subscribe]: answer(API.subscribe, { subscriptionId: 1, partitions: [] }),
  [API.createTopic]: answer(API.createTopic, {}),
  [API.fetchOffsets]: answer(API.fetchOffsets, { offsets: [{ topic: "orders", partition: 0, offset: 5, metadata: "", commitTimestamp: 0 }, { topic: "payments", partition: 0, offset: 9, metadata: "", commitTimestamp: 0 }] }),
  [API.listGroups]: answer(API.listGroups, { groups: [{ groupId: "g-1", state: "Empty", members: 0, assignor: null }, { groupId: "other", state: "Empty", members: 0, assignor: null }] }),
  [API.joinGroup]: answer(API.joinGroup, {}),
  future: answer("future", {}),
};

beforeAll(async () => {
  const hash = await hashPassword("pw", { N: 1024, r: 8, p: 1 });
  const users = parseUsers(JSON.stringify({ users: { carol: { password: hash, read: ["orders", "logs.*"], write: ["logs.*"], groups: ["g-*"] } } }), "users.json");
  const auth = new ServerAuth(SECRET, users);
  const dispatcher = new RpcDispatcher<Session>(authorizeHandlers(HANDLERS, auth), { openSession: (connection) => ({ connection }) }, logger);
  server = listenTcp({
    host: "127.0.0.1",
    port: 0,
    maxFrameBytes: 1024 * 1024,
    accept: (connection) => acceptAuthenticated(connection, { auth, allowUsers: true, name: "test broker", logger }, () => dispatcher.accept(connection)),
  });
});

afterAll(() => server.stop());

async function as(credentials: Credentials): Promise<RpcConnection> {
  return RpcConnection.connect({ host: "127.0.0.1", port: server.port, secure: handshakeWith(credentials) });
}

async function refused(connection: RpcConnection, api: string, body: unknown): Promise<string> {
  const before = calls.length;
  try {
    await connection.request(api, body);
  } catch (error) {
    expect((error as KafkaCloneError).code).toBe("AUTHORIZATION_FAILED");
    expect(calls.length).toBe(before); // the handler never ran
    return (error as Error).message;
  }
  throw new Error(`${api} was allowed`);
}

const produce = (topic: string) => ({ topic, acks: "all", partitions: [] });
const subscribe = (topic: string) => ({ subscriptionId: 1, topic, partitions: [], credit: 1000, outOfRange: "error" });
const join = (groupId: string, topicNames: string[]) => ({ groupId, memberId: null, clientId: "c", topics: topicNames, assignors: ["range"], sessionTimeoutMs: 1000, rebalanceTimeoutMs: 1000 });

describe("broker authorization", () => {
  test("a user is checked per topic and group, and lists show only what it may use", async () => {
    const carol = await as(userCredentials("carol", "pw"));
    expect(((await carol.request(API.listTopics, {})).body as { topics: { name: string }[] }).topics.map((t) => t.name)).toEqual(["orders", "logs.web"]);
    expect(((await carol.request(API.metadata, {})).body as { topics: { name: string }[] }).topics.map((t) => t.name)).toEqual(["orders", "logs.web"]);
    expect(await refused(carol, API.metadata, { topics: ["payments"] })).toBe("user carol has no access to topic payments");
    await carol.request(API.produce, produce("logs.web"));
    expect(await refused(carol, API.produce, produce("orders"))).toBe("user carol may not write to topic orders");
    await carol.request(API.subscribe, subscribe("orders"));
    expect(await refused(carol, API.subscribe, subscribe("payments"))).toBe("user carol may not read topic payments");
    expect(await refused(carol, API.createTopic, { name: "orders", partitions: 1, config: {} })).toBe("user carol may not create or delete topic orders");
    await carol.request(API.joinGroup, join("g-1", ["orders"]));
    expect(await refused(carol, API.joinGroup, join("other", ["orders"]))).toBe('user carol may not use consumer group "other"');
    expect(await refused(carol, API.joinGroup, join("g-1", ["orders", "payments"]))).toBe("user carol may not read topic payments");
    const offsets = (await carol.request(API.fetchOffsets, { groupId: "g-1" })).body as { offsets: { topic: string }[] };
    expect(offsets.offsets.map((o) => o.topic)).toEqual(["orders"]);
    expect(((await carol.request(API.listGroups, {})).body as { groups: { groupId: string }[] }).groups.map((g) => g.groupId)).toEqual(["g-1"]);
    expect(await refused(carol, "future", {})).toBe("user carol may not use future");
    carol.close();
  });

  test("a cluster member passes unchecked and sees everything", async () => {
    const member = await as(clusterCredentials(SECRET));
    await member.request(API.produce, produce("payments"));
    await member.request("future", {});
    expect(((await member.request(API.listTopics, {})).body as { topics: unknown[] }).topics.length).toBe(3);
    member.close();
  });
});
