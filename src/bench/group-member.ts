/**
 * One consumer process of `bench groups` (`kafka-clone bench group-member
 * <host:port> <topic> <group|->`): a GroupConsumer — or, with group "-", a
 * plain Consumer of every partition from the earliest offset — that reads and
 * reports on stdout, one JSON line each, with absolute times in ms:
 *   {e:"joining"|"joined"|"leaving"|"left", t}, {e:"assigned"|"revoked"|"lost", keys, t},
 *   {e:"count", n, last}   records so far and when the last one arrived (every 50 ms while reading).
 * A line "leave" on stdin makes it leave the group and exit.
 */
import { parseHostPort } from "../client/addresses";
import { Consumer, type ConsumerRecord } from "../client/consumer";
import { GroupConsumer, type GroupEvent } from "../client/group-consumer";

const now = () => performance.timeOrigin + performance.now();
const report = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);
const keysOf = (event: Extract<GroupEvent, { partitions: unknown }>) => event.partitions.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`));

export async function runGroupMember(address: string, topic: string, group: string): Promise<void> {
  const bootstrap = [parseHostPort(address, "address")];
  let count = 0;
  let last = 0;
  let reported = 0;
  const ticker = setInterval(() => {
    if (count === reported) return;
    reported = count;
    report({ e: "count", n: count, last });
  }, 50);

  let source: { batches(): AsyncGenerator<ConsumerRecord[]>; close(): Promise<void> | void };
  report({ e: "joining", t: now() });
  if (group === "-") {
    const consumer = new Consumer({ bootstrap, topic, start: { type: "earliest" } });
    await consumer.start();
    source = consumer;
  } else {
    const consumer = new GroupConsumer({
      bootstrap,
      groupId: group,
      topics: [topic],
      resetTo: "earliest",
      onEvent: (event) => {
        if (event.type === "joined") report({ e: "joined", t: now() });
        else if (event.type === "assigned" || event.type === "revoked" || event.type === "lost") report({ e: event.type, keys: keysOf(event), t: now() });
      },
    });
    await consumer.start();
    source = consumer;
  }

  void (async () => {
    for await (const line of console) {
      if (line.trim() !== "leave") continue;
      report({ e: "leaving", t: now() });
      await source.close();
      clearInterval(ticker);
      report({ e: "count", n: count, last });
      report({ e: "left", t: now() });
      process.exit(0);
    }
  })();

  for await (const batch of source.batches()) {
    count += batch.length;
    last = now();
  }
}
