import { readMetadataRequest } from "../../protocol/requests";
import type { RequestHandler } from "../request-handler";

export const handleMetadata: RequestHandler = ({ body }, broker) => {
  const request = readMetadataRequest(body);
  return { body: broker.metadata(request.topics) };
};
