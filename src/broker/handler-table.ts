import { API } from "../protocol/api";
import { handleDeleteGroup, handleDescribeGroup, handleListGroups } from "./handlers/group-admin";
import { handleHeartbeat, handleJoinGroup, handleLeaveGroup, handleSyncGroup } from "./handlers/group-membership";
import { handleCommitOffsets, handleFetchOffsets } from "./handlers/group-offsets";
import { handleListOffsets } from "./handlers/list-offsets";
import { handleMetadata } from "./handlers/metadata";
import { handleProduce } from "./handlers/produce";
import { handleCredit, handleSubscribe, handleUnsubscribe } from "./handlers/subscribe";
import { handleCreateTopic, handleDeleteTopic, handleDescribeTopic, handleListTopics } from "./handlers/topic-admin";
import type { RpcHandler } from "../net/rpc-server";
import type { ClientSession } from "./client-session";
import type { BrokerServices, RequestHandler } from "./request-handler";

const CLIENT_HANDLERS: Readonly<Record<string, RequestHandler>> = {
  [API.metadata]: handleMetadata,
  [API.createTopic]: handleCreateTopic,
  [API.deleteTopic]: handleDeleteTopic,
  [API.listTopics]: handleListTopics,
  [API.describeTopic]: handleDescribeTopic,
  [API.produce]: handleProduce,
  [API.subscribe]: handleSubscribe,
  [API.credit]: handleCredit,
  [API.unsubscribe]: handleUnsubscribe,
  [API.listOffsets]: handleListOffsets,
  [API.joinGroup]: handleJoinGroup,
  [API.syncGroup]: handleSyncGroup,
  [API.heartbeat]: handleHeartbeat,
  [API.leaveGroup]: handleLeaveGroup,
  [API.commitOffsets]: handleCommitOffsets,
  [API.fetchOffsets]: handleFetchOffsets,
  [API.listGroups]: handleListGroups,
  [API.describeGroup]: handleDescribeGroup,
  [API.deleteGroup]: handleDeleteGroup,
};

/** The client port's handlers, bound to one broker. */
export function clientHandlers(broker: BrokerServices): Record<string, RpcHandler<ClientSession>> {
  return Object.fromEntries(
    Object.entries(CLIENT_HANDLERS).map(([api, handler]) => [
      api,
      (body: unknown, attachment: Uint8Array, session: ClientSession) => handler({ body, attachment, session }, broker),
    ]),
  );
}
