import { defineCommand } from "citty";
import { GroupAdmin, type ResetTarget } from "../client/group-admin";
import { KafkaCloneError } from "../errors";
import { validateTopicName } from "../log/topic-name";
import { intFlag } from "./args";
import { CLIENT_ARGS, clusterOptionsFrom } from "./client-args";
import { renderGroupDescription, renderReset } from "./group-tables";
import { runOrExit } from "./output";
import { configurable, resolveArgs } from "./resolve-args";

const groupArg = { group: { type: "positional", description: "the consumer group", required: true } } as const;
const jsonArg = { json: { type: "boolean", description: "print JSON", default: false } } as const;

async function withGroupAdmin(where: { broker?: string; zookeeper?: string }, body: (admin: GroupAdmin) => Promise<void>): Promise<void> {
  const admin = new GroupAdmin(clusterOptionsFrom(where));
  try {
    await body(admin);
  } finally {
    admin.close();
  }
}

const listArgs = configurable({ ...CLIENT_ARGS, ...jsonArg } as const);
const list = defineCommand({
  meta: { name: "list", description: "List consumer groups (with members or commits)" },
  args: listArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, listArgs, "groups");
      await withGroupAdmin(a, async (admin) => {
        const groups = await admin.listGroups();
        if (a.json) console.log(JSON.stringify(groups));
        else for (const group of groups) console.log(group.groupId);
      });
    }),
});

const describeArgs = configurable({ ...groupArg, ...CLIENT_ARGS, ...jsonArg } as const);
const describe = defineCommand({
  meta: { name: "describe", description: "Show a group's state, members, and per partition the committed offset, log end and lag" },
  args: describeArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, describeArgs, "groups");
      await withGroupAdmin(a, async (admin) => {
        const description = await admin.describeGroup(a.group);
        console.log(a.json ? JSON.stringify(description) : renderGroupDescription(description));
      });
    }),
});

const resetArgs = configurable({
  ...groupArg,
  ...CLIENT_ARGS,
  topic: { type: "string", description: "the topic whose offsets move (all its partitions)", required: true },
  to: { type: "string", description: "earliest, latest, or offset N", required: true },
  "dry-run": { type: "boolean", description: "print the new offsets without committing them", default: false },
  ...jsonArg,
} as const);

function resetTarget(to: string, positionals: readonly string[]): ResetTarget {
  if (to === "earliest" || to === "latest") return { type: to };
  if (to === "offset") {
    const value = positionals[1];
    if (value === undefined) throw new KafkaCloneError("INVALID_ARGUMENT", "--to offset needs a number: --to offset N");
    return { type: "offset", offset: intFlag(value, "to offset") };
  }
  throw new KafkaCloneError("INVALID_ARGUMENT", `--to must be earliest, latest or offset N, got ${JSON.stringify(to)}`);
}

const resetOffsets = defineCommand({
  meta: { name: "reset-offsets", description: "Move a group's committed offsets for a topic (the group must have no members)" },
  args: resetArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, resetArgs, "groups");
      const positionals = (a._ ?? []).map(String);
      const target = resetTarget(a.to, positionals);
      if (positionals.length > (target.type === "offset" ? 2 : 1)) {
        throw new KafkaCloneError("INVALID_ARGUMENT", `unexpected argument ${JSON.stringify(positionals.at(-1))}`);
      }
      const topic = validateTopicName(a.topic);
      await withGroupAdmin(a, async (admin) => {
        const plan = await admin.resetOffsets(a.group, topic, target, a["dry-run"]);
        console.log(a.json ? JSON.stringify(plan) : renderReset(a.group, plan, a["dry-run"]));
      });
    }),
});

const deleteArgs = configurable({ ...groupArg, ...CLIENT_ARGS } as const);
const remove = defineCommand({
  meta: { name: "delete", description: "Delete a group's committed offsets (the group must have no members)" },
  args: deleteArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, deleteArgs, "groups");
      await withGroupAdmin(a, async (admin) => {
        await admin.deleteGroup(a.group);
        console.log(`Deleted consumer group ${a.group}.`);
      });
    }),
});

export const groupsCommand = defineCommand({
  meta: { name: "groups", description: "List, describe, reset and delete consumer groups" },
  subCommands: { list, describe, "reset-offsets": resetOffsets, delete: remove },
});
