import { defineCommand } from "citty";
import { Consumer, type ConsumerRecord } from "../client/consumer";
import { KafkaCloneError } from "../errors";
import { validateTopicName } from "../log/topic-name";
import type { StartPosition } from "../protocol/api";
import { choiceFlag, intFlag, optionalIntFlag } from "./args";
import { configurable, resolveArgs } from "./resolve-args";
import { CLIENT_ARGS, clusterOptionsFrom } from "./client-args";
import { GROUP_ARGS, startGroupSource } from "./consume-group";
import { applyLoggingArgs, LOGGING_ARGS } from "./logging-args";
import { runOrExit } from "./output";

const args = configurable({
  topic: { type: "string", description: "topic to read", required: true },
  ...CLIENT_ARGS,
  "from-beginning": { type: "boolean", description: "start at the earliest offset (default: only new records); with --group, only where the group has no commit", default: false },
  offset: { type: "string", description: "start at this offset" },
  "from-time": { type: "string", description: "start at the first record at or after this ISO-8601 time" },
  partition: { type: "string", description: "read only this partition" },
  "max-messages": { type: "string", description: "exit after this many records" },
  "timeout-ms": { type: "string", description: "exit after this long without a record" },
  format: { type: "string", description: "value, kv (key<TAB>value) or json", default: "value" },
  ...GROUP_ARGS,
  ...LOGGING_ARGS,
} as const);

const FORMATS = ["value", "kv", "json"] as const;
const text = new TextDecoder();

export const consumeCommand = defineCommand({
  meta: { name: "consume", description: "Print a topic's records as they arrive" },
  args,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, args, "consume");
      const topic = validateTopicName(a.topic);
      const format = choiceFlag(a.format, "format", FORMATS);
      const maxMessages = optionalIntFlag(a["max-messages"], "max-messages", { min: 1 });
      const timeoutMs = optionalIntFlag(a["timeout-ms"], "timeout-ms", { min: 1 });
      applyLoggingArgs(a);
      const source = a.group === undefined ? await startPlainSource(a, topic) : await startGroupSource(a, topic, clusterOptionsFrom(a));

      const out = Bun.stdout.writer();
      let count = 0;
      let idleTimer: ReturnType<typeof setTimeout> | null = null;
      const printed = new Map<string, number>();
      let finishing = false;
      const finish = async (exitCode: number) => {
        if (finishing) return;
        finishing = true;
        if (idleTimer) clearTimeout(idleTimer);
        await out.flush();
        await source.finish(printed);
        process.stderr.write(`Processed a total of ${count} messages\n`);
        process.exit(exitCode);
      };
      const armIdle = () => {
        if (timeoutMs === undefined) return;
        if (idleTimer) clearTimeout(idleTimer);
        idleTimer = setTimeout(() => void finish(0), timeoutMs);
      };
      process.once("SIGINT", () => void finish(0));
      process.once("SIGTERM", () => void finish(0));
      armIdle();
      for await (const batch of source.batches()) {
        for (const record of batch) {
          out.write(render(record, format));
          printed.set(`${record.topic}:${record.partition}`, record.offset + 1);
          if (++count === maxMessages) await finish(0);
        }
        await out.flush();
        armIdle();
      }
      await finish(0);
    }),
});

async function startPlainSource(
  a: { broker?: string; zookeeper?: string; partition?: string; "from-beginning"?: boolean; offset?: string; "from-time"?: string },
  topic: string,
) {
  const partition = optionalIntFlag(a.partition, "partition");
  const consumer = new Consumer({
    ...clusterOptionsFrom(a),
    topic,
    partitions: partition === undefined ? undefined : [partition],
    start: startPosition(a),
  });
  await consumer.start();
  return { batches: () => consumer.batches(), finish: async () => consumer.close() };
}

function startPosition(a: { "from-beginning"?: boolean; offset?: string; "from-time"?: string }): StartPosition {
  const chosen = [a["from-beginning"] ? "--from-beginning" : null, a.offset !== undefined ? "--offset" : null, a["from-time"] !== undefined ? "--from-time" : null].filter(Boolean);
  if (chosen.length > 1) throw new KafkaCloneError("INVALID_ARGUMENT", `choose one of ${chosen.join(", ")}`);
  if (a["from-beginning"]) return { type: "earliest" };
  if (a.offset !== undefined) return { type: "offset", offset: intFlag(a.offset, "offset") };
  if (a["from-time"] !== undefined) {
    const timestamp = Date.parse(a["from-time"]);
    if (Number.isNaN(timestamp)) throw new KafkaCloneError("INVALID_ARGUMENT", `--from-time must be an ISO-8601 time, got ${JSON.stringify(a["from-time"])}`);
    return { type: "timestamp", timestamp };
  }
  return { type: "latest" };
}

function show(bytes: Uint8Array | null): string {
  return bytes === null ? "null" : text.decode(bytes);
}

function render(record: ConsumerRecord, format: (typeof FORMATS)[number]): string {
  if (format === "value") return `${show(record.value)}\n`;
  if (format === "kv") return `${show(record.key)}\t${show(record.value)}\n`;
  return `${JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : text.decode(record.key),
    value: record.value === null ? null : text.decode(record.value),
    headers: Object.fromEntries(record.headers.map(([name, value]) => [name, text.decode(value)])),
  })}\n`;
}
