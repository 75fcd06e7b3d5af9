/**
 * The users file (`--users-file`, JSON), read by brokers and optionally the
 * zookeeper; `kafka-clone users add` writes it:
 *
 *   { "users": {
 *       "alice": { "password": "scrypt:…", "read": ["orders", "logs.*"], "write": ["orders"],
 *                  "admin": [], "groups": ["alice-*"] } } }
 *
 * Names: 1-64 of [A-Za-z0-9._@-]. Lists default to empty (nothing allowed);
 * see permissions.ts for what each grants. Any other key is an error, so a
 * misspelt "wirte" is not silently a user who may not write.
 */
import fs from "node:fs";
import { KafkaCloneError } from "../errors";
import { parsePasswordHash, type PasswordHash } from "./password-hash";
import { type PermissionLists, UserPermissions } from "./permissions";

export const USER_NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
const LIST_KEYS = ["read", "write", "admin", "groups"] as const;
const MAX_PATTERN_LENGTH = 255;

export interface UserEntry {
  name: string;
  /** The stored text of the password hash (written back unchanged). */
  passwordHash: string;
  password: PasswordHash;
  permissions: UserPermissions;
}

export type Users = ReadonlyMap<string, UserEntry>;

export function checkUserName(name: string, what = "user name"): string {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `${what} must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -`);
  }
  return name;
}

function invalid(file: string, message: string): KafkaCloneError {
  return new KafkaCloneError("INVALID_CONFIG", `${file}: ${message}`);
}

function readPatterns(value: unknown, where: string, file: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(file, `${where} must be a list of name patterns`);
  return value.map((pattern, i) => {
    if (typeof pattern !== "string" || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH || /[\u0000-\u001f\u007f]/.test(pattern)) {
      throw invalid(file, `${where}[${i}] must be a pattern of 1 to ${MAX_PATTERN_LENGTH} visible characters`);
    }
    return pattern;
  });
}

export function parseUsers(text: string, file: string): Map<string, UserEntry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `not valid JSON: ${(error as Error).message}`);
  }
  const root = parsed as { users?: unknown };
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.keys(parsed).some((k) => k !== "users")) {
    throw invalid(file, 'expected {"users": {"<name>": {...}}}');
  }
  const table = root.users ?? {};
  if (typeof table !== "object" || table === null || Array.isArray(table)) throw invalid(file, '"users" must be a table of users');
  const users = new Map<string, UserEntry>();
  for (const [name, value] of Object.entries(table)) {
    if (!USER_NAME_PATTERN.test(name)) throw invalid(file, `user name ${JSON.stringify(name.slice(0, 70))} must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -`);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(file, `user ${name} must be a table`);
    const entry = value as Record<string, unknown>;
    const unknown = Object.keys(entry).filter((key) => key !== "password" && !(LIST_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) throw invalid(file, `user ${name} has unknown keys ${unknown.join(", ")} (known: password, ${LIST_KEYS.join(", ")})`);
    if (typeof entry.password !== "string") throw invalid(file, `user ${name} has no password hash (see kafka-clone users add)`);
    const lists = Object.fromEntries(LIST_KEYS.map((key) => [key, readPatterns(entry[key], `user ${name}: ${key}`, file)])) as unknown as PermissionLists;
    users.set(name, {
      name,
      passwordHash: entry.password,
      password: parsePasswordHash(entry.password, `${file}: user ${name}: password`),
      permissions: new UserPermissions(lists),
    });
  }
  return users;
}

export function readUsersFile(file: string): Map<string, UserEntry> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `cannot read the users file ${file}: ${(error as Error).message}`);
  }
  return parseUsers(text, file);
}

/** The file's text for `users` (the inverse of parseUsers). */
export function formatUsers(users: Iterable<UserEntry>): string {
  const table: Record<string, unknown> = {};
  for (const user of [...users].sort((a, b) => a.name.localeCompare(b.name))) {
    table[user.name] = { password: user.passwordHash, ...user.permissions.lists() };
  }
  return `${JSON.stringify({ users: table }, null, 2)}\n`;
}

/** Replaces the users file (owner read/write only: it holds password hashes). */
export function writeUsersFile(file: string, users: Iterable<UserEntry>): void {
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, formatUsers(users), { mode: 0o600 });
  fs.renameSync(temp, file);
}
