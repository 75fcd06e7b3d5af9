import { defineCommand } from "citty";
import { Admin } from "../client/admin";
import { validateTopicName } from "../log/topic-name";
import type { TopicConfigOverrides } from "../protocol/api";
import { intFlag, optionalIntFlag } from "./args";
import { CLIENT_ARGS, clusterOptionsFrom } from "./client-args";
import { runOrExit } from "./output";
import { configurable, resolveArgs } from "./resolve-args";

const topicArg = { topic: { type: "string", description: "topic name", required: true } } as const;
const jsonArg = { json: { type: "boolean", description: "print JSON", default: false } } as const;

async function withAdmin(where: { broker?: string; zookeeper?: string }, body: (admin: Admin) => Promise<void>): Promise<void> {
  const admin = new Admin(clusterOptionsFrom(where));
  try {
    await body(admin);
  } finally {
    admin.close();
  }
}

const createArgs = configurable({
  ...topicArg,
  ...CLIENT_ARGS,
  partitions: { type: "string", description: "number of partitions", default: "1" },
  "segment-bytes": { type: "string", description: "segment size before a roll (broker default if omitted)" },
  "segment-ms": { type: "string", description: "segment age before a roll" },
  "retention-ms": { type: "string", description: "delete segments older than this (-1 = forever)" },
  "retention-bytes": { type: "string", description: "delete oldest segments past this partition size (-1 = unlimited)" },
  "if-not-exists": { type: "boolean", description: "succeed when the topic already exists", default: false },
} as const);

const create = defineCommand({
  meta: { name: "create", description: "Create a topic" },
  args: createArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, createArgs, "topics");
      const name = validateTopicName(a.topic);
      const partitions = intFlag(a.partitions, "partitions", { min: 1, max: 10_000 });
      const config: TopicConfigOverrides = {
        segmentBytes: optionalIntFlag(a["segment-bytes"], "segment-bytes", { min: 1024 }),
        segmentMs: optionalIntFlag(a["segment-ms"], "segment-ms", { min: 1 }),
        retentionMs: optionalIntFlag(a["retention-ms"], "retention-ms", { min: -1 }),
        retentionBytes: optionalIntFlag(a["retention-bytes"], "retention-bytes", { min: -1 }),
      };
      await withAdmin(a, async (admin) => {
        if (a["if-not-exists"]) {
          const created = await admin.ensureTopic(name, partitions, config);
          console.log(created ? `Created topic ${name}.` : `Topic ${name} already exists.`);
        } else {
          await admin.createTopic(name, partitions, config);
          console.log(`Created topic ${name}.`);
        }
      });
    }),
});

const listArgs = configurable({ ...CLIENT_ARGS, ...jsonArg } as const);
const list = defineCommand({
  meta: { name: "list", description: "List topics" },
  args: listArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, listArgs, "topics");
      await withAdmin(a, async (admin) => {
        const topics = await admin.listTopics();
        if (a.json) console.log(JSON.stringify(topics));
        else for (const topic of topics) console.log(topic.name);
      });
    }),
});

const describeArgs = configurable({ ...topicArg, ...CLIENT_ARGS, ...jsonArg } as const);
const describe = defineCommand({
  meta: { name: "describe", description: "Show a topic's partitions, offsets and settings" },
  args: describeArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, describeArgs, "topics");
      const name = validateTopicName(a.topic);
      await withAdmin(a, async (admin) => {
        const description = await admin.describeTopic(name);
        if (a.json) {
          console.log(JSON.stringify(description));
          return;
        }
        const c = description.config;
        console.log(`Topic: ${name}\tPartitionCount: ${description.partitions.length}\tsegment.bytes=${c.segmentBytes} segment.ms=${c.segmentMs} retention.ms=${c.retentionMs} retention.bytes=${c.retentionBytes}`);
        for (const p of description.partitions) {
          console.log(`\tPartition: ${p.partition}\tLogStartOffset: ${p.logStartOffset}\tHighWatermark: ${p.highWatermark}\tSizeBytes: ${p.sizeBytes}\tSegments: ${p.segments}`);
        }
      });
    }),
});

const deleteArgs = configurable({ ...topicArg, ...CLIENT_ARGS } as const);
const remove = defineCommand({
  meta: { name: "delete", description: "Delete a topic and its data" },
  args: deleteArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, deleteArgs, "topics");
      const name = validateTopicName(a.topic);
      await withAdmin(a, async (admin) => {
        await admin.deleteTopic(name);
        console.log(`Deleted topic ${name}.`);
      });
    }),
});

export const topicsCommand = defineCommand({
  meta: { name: "topics", description: "Create, list, describe and delete topics" },
  subCommands: { create, list, describe, delete: remove },
});
