/** Committed offsets: commit (acknowledged once durable, like acks=all) and fetch. */
import { readCommitOffsetsRequest, readFetchOffsetsRequest } from "../../protocol/requests";
import type { RequestHandler } from "../request-handler";

export const handleCommitOffsets: RequestHandler = async ({ body }, broker) => {
  const request = readCommitOffsetsRequest(body);
  const { groups, epoch } = broker.requireActive();
  await groups.commit(request);
  broker.confirmLeadership(epoch);
  return { body: {} };
};

export const handleFetchOffsets: RequestHandler = ({ body }, broker) => {
  const request = readFetchOffsetsRequest(body);
  return { body: broker.requireActive().groups.fetch(request) };
};
