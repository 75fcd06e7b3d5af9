/**
 * Produce: append each partition's frames as they arrived (no payload
 * decoding), then answer once they are durable (acks=all) or written (acks=1).
 * acks=0 gets no answer at all, as in Kafka.
 */
import { asKafkaCloneError } from "../../errors";
import type { ProducePartitionResult, ProduceResponse } from "../../protocol/api";
import { toWireError } from "../../protocol/envelope";
import { readProduceRequest } from "../../protocol/requests";
import { refuseInternalTopic } from "../groups/offset-records";
import type { RequestHandler } from "../request-handler";

export const handleProduce: RequestHandler = async ({ body, attachment }, broker) => {
  const request = readProduceRequest(body, attachment.length);
  refuseInternalTopic(request.topic, "written to");
  const { logs, epoch } = broker.requireActive();
  // A missing topic fails the whole request (TOPIC_NOT_FOUND), not each partition.
  logs.partitionCount(request.topic);
  const results: Promise<ProducePartitionResult>[] = [];
  let at = 0;
  for (const { partition, bytes } of request.partitions) {
    const frames = attachment.subarray(at, at + bytes);
    at += bytes;
    try {
      const log = logs.partition(request.topic, partition);
      const appended = log.append(frames, epoch);
      results.push(
        log.waitFor(appended.nextOffset, request.acks).then(
          () => ({ partition, baseOffsets: appended.baseOffsets }),
          (error) => ({ partition, error: toWireError(asKafkaCloneError(error)) }),
        ),
      );
    } catch (error) {
      results.push(Promise.resolve({ partition, error: toWireError(asKafkaCloneError(error)) }));
    }
  }
  if (request.acks === "0") return null;
  const response: ProduceResponse = { partitions: await Promise.all(results) };
  broker.confirmLeadership(epoch);
  return { body: response };
};
