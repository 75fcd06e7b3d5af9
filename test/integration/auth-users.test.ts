/**
 * Users and per-topic permissions on a broker with a secret and a users file
 * made by `kafka-clone users add` (the compiled binary): a writer, a
 * read-only user (who may also use groups app-*), and a stranger with
 * rights on another topic only. Refusals are AUTHORIZATION_FAILED naming the
 * user and what was refused; bad passwords AUTHENTICATION_FAILED; passwords
 * and the secret never appear in any output.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cleanUpAfterThisFile, startStandaloneBroker } from "./harness";
import { cli, makeSecret, OutputLog } from "./auth/secure-cluster";

cleanUpAfterThisFile();

const PASSWORDS = { writer: "writer-pass-1", reader: "reader-pass-2", stranger: "stranger-pass-3" };

describe("users and permissions", () => {
  test("read-only users cannot produce, users without access cannot consume, groups need a grant", async () => {
    const output = new OutputLog();
    const secret = makeSecret();
    const users = path.join(secret.dir, "users.json");
    const passwordFile = path.join(secret.dir, "writer-password");
    fs.writeFileSync(passwordFile, `${PASSWORDS.writer}\n`, { mode: 0o600 });

    const add = async (args: string[], env: Record<string, string> = {}) => {
      const result = await cli(output, ["users", "add", "--users-file", users, ...args], { env });
      expect([result.exitCode, result.stderr]).toEqual([0, ""]);
    };
    await add(["--user", "writer", "--read", "orders", "--write", "orders", "--admin", "orders", "--password-file", passwordFile]);
    await add(["--user", "reader", "--read", "orders", "--groups", "app-*"], { KAFKA_CLONE_PASSWORD: PASSWORDS.reader });
    await add(["--user", "stranger", "--read", "other", "--write", "other", "--admin", "other"], { KAFKA_CLONE_PASSWORD: PASSWORDS.stranger });
    expect(fs.statSync(users).mode & 0o777).toBe(0o600);
    const listed = await cli(output, ["users", "list", "--users-file", users]);
    expect(listed.stdout).toContain("reader\tread=orders\twrite=-\tadmin=-\tgroups=app-*");
    expect(fs.readFileSync(users, "utf8")).not.toContain(PASSWORDS.reader);

    const broker = output.server(await startStandaloneBroker(["--cluster-secret-file", secret.file, "--users-file", users, "--metrics-port", "0"]));
    const at = ["--broker", broker.address];
    const as = (user: keyof typeof PASSWORDS) => ({ env: { KAFKA_CLONE_USER: user, KAFKA_CLONE_PASSWORD: PASSWORDS[user] } });
    const lines = `${Array.from({ length: 100 }, (_, i) => `r${i}`).join("\n")}\n`;

    const written = await cli(output, ["produce", "--topic", "orders", "--create", "--partitions", "3", "--user", "writer", "--password-file", passwordFile, ...at], { stdin: lines });
    expect([written.exitCode, written.stderr]).toEqual([0, ""]);

    const readOnly = await cli(output, ["produce", "--topic", "orders", "--message", "nope", ...at], as("reader"));
    expect(readOnly.exitCode).toBe(1);
    expect(readOnly.stderr).toContain("AUTHORIZATION_FAILED: ");
    expect(readOnly.stderr).toContain("user reader may not write to topic orders");

    const read = await cli(output, ["consume", "--topic", "orders", "--from-beginning", "--max-messages", "100", "--timeout-ms", "10000", ...at], as("reader"));
    expect(read.exitCode).toBe(0);
    expect(new Set(read.stdout.trim().split("\n")).size).toBe(100);

    const inGroup = await cli(output, ["consume", "--topic", "orders", "--group", "app-1", "--from-beginning", "--max-messages", "100", "--timeout-ms", "10000", ...at], as("reader"));
    expect([inGroup.exitCode, inGroup.stdout.trim().split("\n").length]).toEqual([0, 100]);
    const otherGroup = await cli(output, ["consume", "--topic", "orders", "--group", "billing", "--timeout-ms", "3000", ...at], as("reader"));
    expect(otherGroup.exitCode).toBe(1);
    expect(otherGroup.stderr).toContain('user reader may not use consumer group "billing"');

    const strangerRead = await cli(output, ["consume", "--topic", "orders", "--from-beginning", "--timeout-ms", "3000", ...at], as("stranger"));
    expect(strangerRead.exitCode).toBe(1);
    expect(strangerRead.stderr).toContain("AUTHORIZATION_FAILED: user stranger has no access to topic orders");
    const strangerDelete = await cli(output, ["topics", "delete", "--topic", "orders", ...at], as("stranger"));
    expect(strangerDelete.stderr).toContain("AUTHORIZATION_FAILED: user stranger may not create or delete topic orders");
    const own = await cli(output, ["produce", "--topic", "other", "--create", "--message", "mine", ...at], as("stranger"));
    expect(own.exitCode).toBe(0);
    const strangerList = await cli(output, ["topics", "list", ...at], as("stranger"));
    expect(strangerList.stdout.trim().split("\n")).toEqual(["other"]);
    const memberList = await cli(output, ["topics", "list", "--cluster-secret-file", secret.file, ...at]);
    expect(memberList.stdout.trim().split("\n").filter((t) => !t.startsWith("__")).sort()).toEqual(["orders", "other"]);

    const wrongPassword = await cli(output, ["topics", "list", ...at], { env: { KAFKA_CLONE_USER: "reader", KAFKA_CLONE_PASSWORD: "not-it" } });
    expect([wrongPassword.exitCode, wrongPassword.stderr]).toEqual([1, expect.stringContaining('AUTHENTICATION_FAILED: authentication failed for user "reader": unknown user or wrong password')]);
    const unknown = await cli(output, ["topics", "list", ...at], { env: { KAFKA_CLONE_USER: "mallory", KAFKA_CLONE_PASSWORD: "x" } });
    expect(unknown.stderr).toContain('authentication failed for user "mallory": unknown user or wrong password');
    const noPassword = await cli(output, ["topics", "list", "--user", "reader", ...at]);
    expect([noPassword.exitCode, noPassword.stderr]).toEqual([2, expect.stringContaining("--user needs a password")]);

    // The metrics count the refused handshakes, and show no secret either.
    const metrics = await (await fetch(`http://127.0.0.1:${broker.ready.metricsPort}/metrics`)).text();
    const failures = Number(/^kafka_clone_authentication_failures_total (\d+)/m.exec(metrics)?.[1]);
    expect(failures).toBeGreaterThanOrEqual(2);
    for (const secretText of [...Object.values(PASSWORDS), secret.text]) expect(metrics).not.toContain(secretText);
    expect(output.leaks([...Object.values(PASSWORDS), secret.text])).toEqual([]);
  });
});
