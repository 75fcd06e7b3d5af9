/** Topic administration: create, delete, list, describe. */
import { readCreateTopicRequest, readTopicName } from "../../protocol/requests";
import { refuseInternalTopic } from "../groups/offset-records";
import type { RequestHandler } from "../request-handler";

export const handleCreateTopic: RequestHandler = ({ body }, broker) => {
  const request = readCreateTopicRequest(body);
  const { logs } = broker.requireActive();
  return { body: logs.createTopic(request.name, request.partitions, request.config) };
};

export const handleDeleteTopic: RequestHandler = async ({ body }, broker) => {
  const name = readTopicName(body);
  refuseInternalTopic(name, "deleted");
  const { logs } = broker.requireActive();
  await logs.deleteTopic(name);
  return { body: {} };
};

export const handleListTopics: RequestHandler = (_, broker) => {
  const { logs } = broker.requireActive();
  return { body: { topics: logs.listTopics().map((name) => ({ name, partitions: logs.partitionCount(name) })) } };
};

export const handleDescribeTopic: RequestHandler = ({ body }, broker) => {
  const name = readTopicName(body);
  const { logs } = broker.requireActive();
  return { body: logs.describeTopic(name) };
};
