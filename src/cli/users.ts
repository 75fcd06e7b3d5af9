/**
 * `kafka-clone users add|remove|list`: edits the users file that brokers
 * read with --users-file (src/auth/users-file.ts). The password comes from
 * --password-file or KAFKA_CLONE_PASSWORD and is stored only as a salted
 * scrypt verifier; it is never printed.
 */
import { defineCommand } from "citty";
import fs from "node:fs";
import { hashPassword, parsePasswordHash } from "../auth/password-hash";
import { UserPermissions } from "../auth/permissions";
import { checkUserName, readUsersFile, type UserEntry, writeUsersFile } from "../auth/users-file";
import { KafkaCloneError } from "../errors";
import { PASSWORD_ENV } from "./auth-args";
import { runOrExit } from "./output";
import { configurable, resolveArgs } from "./resolve-args";

const FILE_ARG = { "users-file": { type: "string", description: "the users file (JSON; created by add if missing)", required: true } } as const;
const USER_ARG = { user: { type: "string", description: "the user name (1-64 of A-Z a-z 0-9 . _ @ -)", required: true } } as const;
const LIST_ARGS = {
  read: { type: "string", description: "topics the user may read, comma-separated patterns (* = any characters)", default: "" },
  write: { type: "string", description: "topics the user may produce to", default: "" },
  admin: { type: "string", description: "topics the user may create and delete", default: "" },
  groups: { type: "string", description: "consumer groups the user may use", default: "" },
} as const;

function load(file: string, mustExist: boolean): Map<string, UserEntry> {
  if (!mustExist && !fs.existsSync(file)) return new Map();
  return readUsersFile(file);
}

function patterns(text: string | undefined): string[] {
  return (text ?? "").split(",").map((p) => p.trim()).filter((p) => p.length > 0);
}

const addArgs = configurable({
  ...FILE_ARG,
  ...USER_ARG,
  ...LIST_ARGS,
  "password-file": { type: "string", description: `a file holding the password (or ${PASSWORD_ENV})` },
} as const);

const add = defineCommand({
  meta: { name: "add", description: `Add a user, or replace one's password and permissions; the password from --password-file or ${PASSWORD_ENV}` },
  args: addArgs,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, addArgs, "users");
      const name = checkUserName(a.user, "--user");
      const file = a["users-file"];
      const users = load(file, false);
      const password = passwordOf(a["password-file"]);
      const passwordHash = await hashPassword(password);
      const permissions = new UserPermissions({ read: patterns(a.read), write: patterns(a.write), admin: patterns(a.admin), groups: patterns(a.groups) });
      const existed = users.has(name);
      users.set(name, { name, passwordHash, password: parsePasswordHash(passwordHash, name), permissions });
      writeUsersFile(file, users.values());
      process.stdout.write(`${existed ? "updated" : "added"} user ${name} in ${file}\n`);
    }),
});

/** As a client's --user reads it: a file or the environment, never a flag (flags show in `ps`). */
function passwordOf(file: string | undefined): string {
  let password = process.env[PASSWORD_ENV] ?? "";
  if (file !== undefined && file !== "") {
    try {
      password = fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      throw new KafkaCloneError("INVALID_ARGUMENT", `cannot read the password file ${file} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
    }
  }
  if (password.length === 0) throw new KafkaCloneError("INVALID_ARGUMENT", `a password is needed: --password-file or ${PASSWORD_ENV}`);
  return password;
}

const removeArgs = configurable({ ...FILE_ARG, ...USER_ARG } as const);

const remove = defineCommand({
  meta: { name: "remove", description: "Remove a user (brokers read the file when they start)" },
  args: removeArgs,
  run: (context) =>
    runOrExit(() => {
      const a = resolveArgs(context, removeArgs, "users");
      const users = load(a["users-file"], true);
      if (!users.delete(a.user)) throw new KafkaCloneError("INVALID_ARGUMENT", `${a["users-file"]} has no user ${a.user}`);
      writeUsersFile(a["users-file"], users.values());
      process.stdout.write(`removed user ${a.user} from ${a["users-file"]}\n`);
    }),
});

const listArgs = configurable({ ...FILE_ARG, json: { type: "boolean", description: "one JSON object per user", default: false } } as const);

const list = defineCommand({
  meta: { name: "list", description: "Show every user and their permissions (never the password hashes)" },
  args: listArgs,
  run: (context) =>
    runOrExit(() => {
      const a = resolveArgs(context, listArgs, "users");
      for (const user of load(a["users-file"], true).values()) {
        const lists = user.permissions.lists();
        const show = (items: string[]) => (items.length === 0 ? "-" : items.join(","));
        process.stdout.write(
          a.json
            ? `${JSON.stringify({ user: user.name, ...lists })}\n`
            : `${user.name}\tread=${show(lists.read)}\twrite=${show(lists.write)}\tadmin=${show(lists.admin)}\tgroups=${show(lists.groups)}\n`,
        );
      }
    }),
});

export const usersCommand = defineCommand({
  meta: { name: "users", description: "Manage the users file: users who connect with a password, and the topics and groups each may use" },
  subCommands: { add, remove, list },
});
