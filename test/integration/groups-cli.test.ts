/** `kafka-clone groups` with the compiled binary: list, describe (text and JSON, with lag), reset-offsets and delete, and their refusals. */
import { describe, expect, test } from "bun:test";
import type { DescribeGroupResponse, GroupSummary } from "../../src/protocol/api";
import { runCli, startStandaloneBroker } from "./harness";
import { GroupMember, waitForStable } from "./group-harness";

describe("groups command", () => {
  test("list, describe, reset-offsets and delete a group; members block resets and deletion", async () => {
    const broker = await startStandaloneBroker();
    const where = ["--broker", broker.address];
    const client = { bootstrap: [{ host: "127.0.0.1", port: broker.port }] };
    expect((await runCli(["topics", "create", "--topic", "t", "--partitions", "3", ...where])).exitCode).toBe(0);
    const lines = Array.from({ length: 300 }, (_, i) => `k${i}:v${i}`).join("\n");
    expect((await runCli(["produce", "--topic", "t", "--key-separator", ":", ...where], { stdin: lines })).exitCode).toBe(0);
    const first = await runCli(["consume", "--topic", "t", "--group", "g", "--from-beginning", "--max-messages", "120", ...where]);
    expect(first.exitCode).toBe(0);
    expect(first.stdout.trim().split("\n").length).toBe(120);

    const listed = await runCli(["groups", "list", ...where]);
    expect(listed.stdout.trim().split("\n")).toContain("g");
    expect(JSON.parse((await runCli(["groups", "list", "--json", ...where])).stdout) as GroupSummary[]).toEqual([{ groupId: "g", state: "Empty", members: 0, assignor: null }]);
    const describeJson = async () => JSON.parse((await runCli(["groups", "describe", "g", "--json", ...where])).stdout) as DescribeGroupResponse;
    const d = await describeJson();
    expect(d.partitions.reduce((s, p) => s + p.committedOffset!, 0)).toBe(120);
    expect(d.partitions.reduce((s, p) => s + p.logEndOffset!, 0)).toBe(300);
    for (const p of d.partitions) expect(p.lag).toBe(p.logEndOffset! - p.committedOffset!);
    const text = (await runCli(["groups", "describe", "g", ...where])).stdout;
    expect(text).toContain("Consumer group 'g' has no active members.");
    expect(text).toMatch(/GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID/);

    const member = new GroupMember("m", ["--topic", "t", "--group", "g", ...where]);
    await waitForStable(client, "g", 1);
    for (const args of [["groups", "reset-offsets", "g", "--topic", "t", "--to", "earliest"], ["groups", "delete", "g"]]) {
      const refused = await runCli([...args, ...where]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain("GROUP_NOT_EMPTY");
    }
    expect((await describeJson()).members.length).toBe(1);
    expect(await member.kill("SIGTERM")).toBe(0);
    expect((await describeJson()).partitions.reduce((s, p) => s + p.committedOffset!, 0)).toBe(300);

    expect((await runCli(["groups", "reset-offsets", "g", "--topic", "t", "--to", "offset", "10", ...where])).exitCode).toBe(0);
    expect((await describeJson()).partitions.map((p) => p.committedOffset)).toEqual((await describeJson()).partitions.map((p) => Math.min(10, p.logEndOffset!)));
    const dry = await runCli(["groups", "reset-offsets", "g", "--topic", "t", "--to", "latest", "--dry-run", ...where]);
    expect(dry.stdout).toContain("Dry run");
    expect((await describeJson()).partitions.every((p) => p.committedOffset! <= 10)).toBe(true);
    expect((await runCli(["groups", "reset-offsets", "g", "--topic", "t", "--to", "earliest", ...where])).exitCode).toBe(0);
    const again = await runCli(["consume", "--topic", "t", "--group", "g", "--timeout-ms", "1500", ...where]);
    expect(again.stdout.trim().split("\n").length).toBe(300);

    expect((await runCli(["groups", "delete", "g", ...where])).stdout).toContain("Deleted consumer group g.");
    for (const args of [["groups", "describe", "g"], ["groups", "delete", "g"]]) {
      const missing = await runCli([...args, ...where]);
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toContain("GROUP_NOT_FOUND");
    }
    expect((await runCli(["groups", "list", ...where])).stdout.trim()).toBe("");
  }, 60_000);

  test("bad arguments are clear errors", async () => {
    const broker = await startStandaloneBroker();
    const where = ["--broker", broker.address];
    await runCli(["topics", "create", "--topic", "t", ...where]);
    const cases: [string[], string][] = [
      [["groups", "reset-offsets", "g", "--topic", "t", "--to", "middle"], "--to must be earliest, latest or offset N"],
      [["groups", "reset-offsets", "g", "--topic", "t", "--to", "offset"], "--to offset needs a number"],
      [["consume", "--topic", "t", "--group", "g", "--partition", "0"], "--group cannot be combined with --partition"],
      [["consume", "--topic", "t", "--group", "g", "--assignor", "sticky"], "--assignor must name"],
      [["consume", "--topic", "missing", "--group", "g"], "TOPIC_NOT_FOUND"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...args, ...where]);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
  }, 30_000);
});
