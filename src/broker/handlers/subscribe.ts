/** Push subscriptions: subscribe, grant credit, unsubscribe. */
import { KafkaCloneError } from "../../errors";
import type { PartitionLog } from "../../log/partition-log";
import type { OutOfRangePolicy, StartPosition, SubscribeResponse } from "../../protocol/api";
import { readCreditRequest, readSubscribeRequest, readSubscriptionId } from "../../protocol/requests";
import type { RequestHandler } from "../request-handler";
import { Subscription } from "../subscription";

export function resolveStart(log: PartitionLog, start: StartPosition, outOfRange: OutOfRangePolicy): number {
  switch (start.type) {
    case "earliest":
      return log.logStartOffset;
    case "latest":
      return log.highWatermark;
    case "timestamp":
      return log.offsetForTimestamp(start.timestamp) ?? log.highWatermark;
    case "offset": {
      if (start.offset >= log.logStartOffset && start.offset <= log.highWatermark) return start.offset;
      if (outOfRange === "earliest") return log.logStartOffset;
      if (outOfRange === "latest") return log.highWatermark;
      throw new KafkaCloneError(
        "OFFSET_OUT_OF_RANGE",
        `offset ${start.offset} is outside ${log.topic}-${log.partition}'s range [${log.logStartOffset}, ${log.highWatermark}]`,
      );
    }
  }
}

export const handleSubscribe: RequestHandler = ({ body, session }, broker) => {
  const request = readSubscribeRequest(body);
  const { logs, epoch } = broker.requireActive();
  const count = logs.partitionCount(request.topic);
  const wanted = request.partitions.length > 0 ? request.partitions : [...Array(count).keys()].map((partition) => ({ partition, start: { type: "latest" } as StartPosition }));
  const starts = wanted.map(({ partition, start }) => {
    const log = logs.partition(request.topic, partition);
    return { log, offset: resolveStart(log, start, request.outOfRange) };
  });
  if (session.subscriptions.has(request.subscriptionId)) {
    throw new KafkaCloneError("INVALID_REQUEST", `subscription ${request.subscriptionId} already exists on this connection`);
  }
  const subscription = new Subscription(request.subscriptionId, session, request.credit, () => {
    try {
      broker.confirmLeadership(epoch);
      return true;
    } catch {
      return false;
    }
  });
  for (const { log, offset } of starts) subscription.addPartition(log, offset);
  session.subscriptions.set(subscription.id, subscription);
  subscription.schedulePump();
  const response: SubscribeResponse = {
    subscriptionId: subscription.id,
    partitions: starts.map(({ log, offset }) => ({
      partition: log.partition,
      offset,
      logStartOffset: log.logStartOffset,
      highWatermark: log.highWatermark,
    })),
  };
  return { body: response };
};

export const handleCredit: RequestHandler = ({ body, session }) => {
  const { subscriptionId, bytes } = readCreditRequest(body);
  session.subscriptions.get(subscriptionId)?.grant(bytes);
  return { body: {} };
};

export const handleUnsubscribe: RequestHandler = ({ body, session }) => {
  const id = readSubscriptionId(body);
  session.subscriptions.get(id)?.close();
  session.subscriptions.delete(id);
  return { body: {} };
};
