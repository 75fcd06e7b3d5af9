import { API } from "../protocol/api";
import { handleListOffsets } from "./handlers/list-offsets";
import { handleMetadata } from "./handlers/metadata";
import { handleProduce } from "./handlers/produce";
import { handleCredit, handleSubscribe, handleUnsubscribe } from "./handlers/subscribe";
import { handleCreateTopic, handleDeleteTopic, handleDescribeTopic, handleListTopics } from "./handlers/topic-admin";
import type { RequestHandler } from "./request-handler";

export const CLIENT_HANDLERS: Readonly<Record<string, RequestHandler>> = {
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
};
