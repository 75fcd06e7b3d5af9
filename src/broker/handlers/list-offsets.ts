import type { ListOffsetsResponse } from "../../protocol/api";
import { readListOffsetsRequest } from "../../protocol/requests";
import type { RequestHandler } from "../request-handler";

export const handleListOffsets: RequestHandler = ({ body }, broker) => {
  const request = readListOffsetsRequest(body);
  const { logs } = broker.requireActive();
  const response: ListOffsetsResponse = {
    partitions: request.partitions.map(({ partition, spec }) => {
      const log = logs.partition(request.topic, partition);
      if (spec === "earliest") return { partition, offset: log.logStartOffset };
      if (spec === "latest") return { partition, offset: log.highWatermark };
      return { partition, offset: log.offsetForTimestamp(spec.timestamp) };
    }),
  };
  return { body: response };
};
