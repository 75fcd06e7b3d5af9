import { describe, expect, test } from "bun:test";
import { ClusterSecret } from "../../../src/auth/cluster-secret";
import { hashPassword } from "../../../src/auth/password-hash";
import { matchesPattern, UserPermissions } from "../../../src/auth/permissions";
import { formatUsers, parseUsers } from "../../../src/auth/users-file";
import { KafkaCloneError } from "../../../src/errors";

const FAST_KDF = { N: 1024, r: 8, p: 1 };

function errorOf(run: () => unknown): KafkaCloneError {
  try {
    run();
  } catch (error) {
    return error as KafkaCloneError;
  }
  throw new Error("expected an error");
}

describe("permission patterns", () => {
  test("* matches any run of characters; everything else is literal", () => {
    expect(matchesPattern("orders", "orders")).toBe(true);
    expect(matchesPattern("orders", "orders2")).toBe(false);
    expect(matchesPattern("logs.*", "logs.app")).toBe(true);
    expect(matchesPattern("logs.*", "logs.")).toBe(true);
    expect(matchesPattern("logs.*", "logsXapp")).toBe(false); // "." is not a regex wildcard
    expect(matchesPattern("team-*-events", "team-a-b-events")).toBe(true);
    expect(matchesPattern("team-*-events", "team-events")).toBe(false);
    expect(matchesPattern("*", "anything")).toBe(true);
    expect(matchesPattern("a+b", "aab")).toBe(false);
    expect(matchesPattern("(x)", "(x)")).toBe(true);
  });

  test("read, write, admin and groups are separate grants", () => {
    const p = new UserPermissions({ read: ["orders", "logs.*"], write: ["orders"], admin: ["scratch-*"], groups: ["alice-*"] });
    expect(p.may("read", "logs.web")).toBe(true);
    expect(p.may("write", "logs.web")).toBe(false);
    expect(p.may("write", "orders")).toBe(true);
    expect(p.may("admin", "orders")).toBe(false);
    expect(p.maySee("scratch-1")).toBe(true);
    expect(p.maySee("payments")).toBe(false);
    expect(p.mayUseGroup("alice-app")).toBe(true);
    expect(p.mayUseGroup("bob-app")).toBe(false);
    const nothing = new UserPermissions({ read: [], write: [], admin: [], groups: [] });
    expect(nothing.maySee("orders") || nothing.mayUseGroup("g")).toBe(false);
  });
});

describe("users file", () => {
  test("parses users, defaults lists to nothing, and writes back what it read", async () => {
    const hash = await hashPassword("pw-alice", FAST_KDF);
    const text = JSON.stringify({ users: { alice: { password: hash, read: ["orders"], write: ["orders"] }, bob: { password: hash } } });
    const users = parseUsers(text, "users.json");
    expect([...users.keys()]).toEqual(["alice", "bob"]);
    expect(users.get("alice")!.permissions.may("write", "orders")).toBe(true);
    expect(users.get("bob")!.permissions.lists()).toEqual({ read: [], write: [], admin: [], groups: [] });
    const again = parseUsers(formatUsers(users.values()), "users.json");
    expect(again.get("alice")!.permissions.lists()).toEqual(users.get("alice")!.permissions.lists());
    expect(again.get("alice")!.passwordHash).toBe(hash);
  });

  test("mistakes are INVALID_CONFIG errors naming the file and the user, never the hash", async () => {
    const hash = await hashPassword("pw", FAST_KDF);
    const cases: [unknown, RegExp][] = [
      [{ users: { alice: { password: hash, wirte: ["x"] } } }, /user alice has unknown keys wirte/],
      [{ users: { "bad name!": { password: hash } } }, /user name "bad name!"/],
      [{ users: { alice: { read: ["x"] } } }, /user alice has no password hash/],
      [{ users: { alice: { password: "hunter2" } } }, /alice: password: not a password hash/],
      [{ users: { alice: { password: hash, read: "orders" } } }, /read must be a list/],
      [{ users: { alice: { password: hash, read: [""] } } }, /read\[0\] must be a pattern/],
      [{ people: {} }, /expected \{"users"/],
    ];
    for (const [content, message] of cases) {
      const error = errorOf(() => parseUsers(JSON.stringify(content), "users.json"));
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.message).toMatch(/^users\.json: /);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain("hunter2");
    }
    expect(errorOf(() => parseUsers("{", "users.json")).message).toMatch(/not valid JSON/);
  });
});

describe("cluster secret", () => {
  test("never shows its bytes, drops one trailing newline, refuses short secrets without echoing them", () => {
    const secret = ClusterSecret.fromText("abcdefghijklmnopqrstuvwxyz\n", "test");
    expect(String(secret)).toBe("[redacted]");
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
    expect(Bun.inspect(secret)).not.toContain("abcdef");
    expect(Buffer.from(secret.exportForWorker()).toString()).toBe("abcdefghijklmnopqrstuvwxyz");
    expect(secret.key("heartbeat").equals(ClusterSecret.fromText("abcdefghijklmnopqrstuvwxyz", "t").key("heartbeat"))).toBe(true);
    expect(secret.key("heartbeat").equals(secret.key("handshake"))).toBe(false);
    // Handed to the zookeeper-session worker, a secret that still ends in a newline keeps it (only one was trimmed).
    const twoNewlines = ClusterSecret.fromText("abcdefghijklmnopqrstuvwxyz\n\n", "test");
    expect(ClusterSecret.fromWorkerExport(twoNewlines.exportForWorker()).key("heartbeat").equals(twoNewlines.key("heartbeat"))).toBe(true);
    const short = errorOf(() => ClusterSecret.fromText("tiny-secret", "--cluster-secret"));
    expect(short.code).toBe("INVALID_ARGUMENT");
    expect(short.message).toContain("--cluster-secret");
    expect(short.message).not.toContain("tiny-secret");
    expect(errorOf(() => ClusterSecret.fromFile("/nonexistent/secret")).message).toMatch(/cannot read the cluster secret file \/nonexistent\/secret \(ENOENT\)/);
  });
});
