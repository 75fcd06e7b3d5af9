/**
 * Per-request authorization on a broker's client port when it has a users
 * file: each request of a user is checked against the user's permissions
 * (permissions.ts) before its handler runs, and lists (topics, groups,
 * committed offsets) are filtered to what the user may see. Cluster members
 * (the cluster secret) may do everything. A refusal is AUTHORIZATION_FAILED
 * naming the user, the operation and the topic or group.
 *
 * An api without a rule here is refused to users: a new request type is
 * closed until someone decides who may use it.
 */
import { KafkaCloneError } from "../errors";
import type { FramedConnection } from "../net/framed-connection";
import type { RpcHandler, RpcReply } from "../net/rpc-server";
import { API, type FetchOffsetsResponse, type MetadataResponse, type TopicSummary } from "../protocol/api";
import {
  readCommitOffsetsRequest,
  readCreateTopicRequest,
  readFetchOffsetsRequest,
  readGroupRequest,
  readJoinGroupRequest,
  readListOffsetsRequest,
  readMemberRequest,
  readMetadataRequest,
  readProduceRequest,
  readSubscribeRequest,
  readSyncGroupRequest,
  readTopicName,
} from "../protocol/requests";
import { peerIdentity } from "./secure-accept";
import type { ServerAuth } from "./server-auth";
import type { TopicOperation, UserPermissions } from "./permissions";

interface Check {
  user: string;
  may: UserPermissions;
}

type Filter = (body: unknown, check: Check) => unknown;

interface Rule {
  /** Throws AUTHORIZATION_FAILED when the request is not allowed. */
  check(body: unknown, attachment: Uint8Array, c: Check): void;
  /** Narrows the answer to what the user may see. */
  filter?: Filter;
}

const VERB: Record<TopicOperation, string> = { read: "read", write: "write to", admin: "create or delete" };

function topic(c: Check, operation: TopicOperation, name: string): void {
  if (!c.may.may(operation, name)) throw new KafkaCloneError("AUTHORIZATION_FAILED", `user ${c.user} may not ${VERB[operation]} topic ${name}`);
}

function visible(c: Check, name: string): void {
  if (!c.may.maySee(name)) throw new KafkaCloneError("AUTHORIZATION_FAILED", `user ${c.user} has no access to topic ${name}`);
}

function group(c: Check, groupId: string): void {
  if (!c.may.mayUseGroup(groupId)) throw new KafkaCloneError("AUTHORIZATION_FAILED", `user ${c.user} may not use consumer group ${JSON.stringify(groupId)}`);
}

const ANYONE: Rule = { check: () => {} };

const RULES: Readonly<Record<string, Rule>> = {
  [API.metadata]: {
    check: (body, _, c) => readMetadataRequest(body).topics?.forEach((name) => visible(c, name)),
    filter: (body, c) => ({ ...(body as MetadataResponse), topics: (body as MetadataResponse).topics.filter((t) => c.may.maySee(t.name)) }),
  },
  [API.listTopics]: {
    check: () => {},
    filter: (body, c) => ({ topics: (body as { topics: TopicSummary[] }).topics.filter((t) => c.may.maySee(t.name)) }),
  },
  [API.describeTopic]: { check: (body, _, c) => visible(c, readTopicName(body)) },
  [API.createTopic]: { check: (body, _, c) => topic(c, "admin", readCreateTopicRequest(body).name) },
  [API.deleteTopic]: { check: (body, _, c) => topic(c, "admin", readTopicName(body)) },
  [API.produce]: { check: (body, attachment, c) => topic(c, "write", readProduceRequest(body, attachment.length).topic) },
  [API.subscribe]: { check: (body, _, c) => topic(c, "read", readSubscribeRequest(body).topic) },
  [API.credit]: ANYONE,
  [API.unsubscribe]: ANYONE,
  [API.listOffsets]: {
    check: (body, _, c) => {
      const name = readListOffsetsRequest(body).topic;
      if (!c.may.may("read", name) && !c.may.may("write", name)) topic(c, "read", name);
    },
  },
  [API.joinGroup]: {
    check: (body, _, c) => {
      const request = readJoinGroupRequest(body);
      group(c, request.groupId);
      for (const name of request.topics) topic(c, "read", name);
    },
  },
  [API.syncGroup]: {
    check: (body, _, c) => {
      const request = readSyncGroupRequest(body);
      group(c, request.groupId);
      for (const owned of request.owned) topic(c, "read", owned.topic);
    },
  },
  [API.heartbeat]: { check: (body, _, c) => group(c, readMemberRequest(body).groupId) },
  [API.leaveGroup]: { check: (body, _, c) => group(c, readMemberRequest(body).groupId) },
  [API.commitOffsets]: {
    check: (body, _, c) => {
      const request = readCommitOffsetsRequest(body);
      group(c, request.groupId);
      for (const offset of request.offsets) topic(c, "read", offset.topic);
    },
  },
  [API.fetchOffsets]: {
    check: (body, _, c) => {
      const request = readFetchOffsetsRequest(body);
      group(c, request.groupId);
      for (const listed of request.topics ?? []) topic(c, "read", listed.topic);
    },
    filter: (body, c) => ({ offsets: (body as FetchOffsetsResponse).offsets.filter((o) => c.may.may("read", o.topic)) }),
  },
  [API.listGroups]: {
    check: () => {},
    filter: (body, c) => ({ groups: (body as { groups: { groupId: string }[] }).groups.filter((g) => c.may.mayUseGroup(g.groupId)) }),
  },
  [API.describeGroup]: { check: (body, _, c) => group(c, readGroupRequest(body)) },
  [API.deleteGroup]: { check: (body, _, c) => group(c, readGroupRequest(body)) },
};

function filtered(reply: RpcReply | null, filter: Filter, c: Check): RpcReply | null {
  return reply === null ? null : { ...reply, body: filter(reply.body, c) };
}

/** `handlers` with every user's request checked first (members pass unchecked). */
export function authorizeHandlers<Session extends { connection: FramedConnection }>(
  handlers: Readonly<Record<string, RpcHandler<Session>>>,
  auth: ServerAuth,
): Record<string, RpcHandler<Session>> {
  return Object.fromEntries(
    Object.entries(handlers).map(([api, handler]) => {
      const rule = Object.hasOwn(RULES, api) ? RULES[api] : undefined;
      const guarded: RpcHandler<Session> = (body, attachment, session) => {
        const identity = peerIdentity(session.connection);
        if (identity?.kind === "member") return handler(body, attachment, session);
        if (identity === null) throw new KafkaCloneError("AUTHENTICATION_FAILED", "the connection is not authenticated");
        if (rule === undefined) throw new KafkaCloneError("AUTHORIZATION_FAILED", `user ${identity.name} may not use ${api}`);
        const c: Check = { user: identity.name, may: auth.permissionsOf(identity)! };
        rule.check(body, attachment, c);
        const result = handler(body, attachment, session);
        const filter = rule.filter;
        if (!filter) return result;
        return result instanceof Promise ? result.then((reply) => filtered(reply, filter, c)) : filtered(result, filter, c);
      };
      return [api, guarded];
    }),
  );
}
