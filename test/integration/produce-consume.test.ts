import { describe, expect, test } from "bun:test";
import { partitionForKey } from "../../src/client/partitioner";
import { cleanUpAfterThisFile, runCli, spawnCli, startStandaloneBroker, waitUntil } from "./harness";

cleanUpAfterThisFile();

interface JsonRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

function parseJsonLines(text: string): JsonRecord[] {
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as JsonRecord);
}

describe("produce and consume with the compiled binary", () => {
  test("10,000 piped lines come back identical and in order within each partition", async () => {
    const broker = await startStandaloneBroker();
    const lines = Array.from({ length: 10_000 }, (_, i) => `line-${i}-${"x".repeat(i % 50)}`);
    const create = await runCli(["topics", "create", "--topic", "lines", "--partitions", "4", "--broker", broker.address]);
    expect(create.exitCode).toBe(0);
    const produced = await runCli(["produce", "--topic", "lines", "--broker", broker.address], { stdin: `${lines.join("\n")}\n` });
    expect(produced.stderr).toBe("");
    expect(produced.exitCode).toBe(0);

    const consumed = await runCli([
      "consume", "--topic", "lines", "--broker", broker.address, "--from-beginning",
      "--max-messages", "10000", "--timeout-ms", "10000", "--format", "json",
    ]);
    expect(consumed.exitCode).toBe(0);
    const records = parseJsonLines(consumed.stdout);
    expect(records.length).toBe(10_000);
    expect(records.map((r) => r.value).sort()).toEqual([...lines].sort());
    const inputOrder = new Map(lines.map((line, i) => [line, i]));
    for (let p = 0; p < 4; p++) {
      const mine = records.filter((r) => r.partition === p);
      mine.forEach((record, i) => expect(record.offset).toBe(i));
      const positions = mine.map((r) => inputOrder.get(r.value)!);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  });

  test("keyed records land on the partition Kafka's murmur2 picks, every time", async () => {
    const broker = await startStandaloneBroker();
    await runCli(["topics", "create", "--topic", "keyed", "--partitions", "6", "--broker", broker.address]);
    const keys = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const input = [...keys, ...keys].map((key, i) => `${key}:v${i}`).join("\n");
    const produced = await runCli(["produce", "--topic", "keyed", "--key-separator", ":", "--verbose", "--broker", broker.address], { stdin: input });
    expect(produced.exitCode).toBe(0);
    const acks = produced.stdout.trim().split("\n").map((line) => JSON.parse(line) as { partition: number; offset: number });
    expect(acks.length).toBe(100);

    const consumed = await runCli([
      "consume", "--topic", "keyed", "--broker", broker.address, "--from-beginning",
      "--max-messages", "100", "--timeout-ms", "10000", "--format", "json",
    ]);
    const records = parseJsonLines(consumed.stdout);
    expect(records.length).toBe(100);
    const encoder = new TextEncoder();
    for (const record of records) {
      expect(record.partition).toBe(partitionForKey(encoder.encode(record.key!), 6));
    }
    for (let i = 0; i < 50; i++) expect(acks[i]!.partition).toBe(acks[i + 50]!.partition);
  });

  test("a consumer started first receives records produced later (push)", async () => {
    const broker = await startStandaloneBroker();
    await runCli(["topics", "create", "--topic", "live", "--partitions", "2", "--broker", broker.address]);
    const consumer = spawnCli(["consume", "--topic", "live", "--broker", broker.address, "--max-messages", "3", "--timeout-ms", "20000"]);
    let output = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of consumer.stdout) output += decoder.decode(chunk);
    })();
    // The consumer starts at the latest offset, so records sent before it subscribed are not
    // expected: keep producing one at a time until it has printed three.
    let round = 0;
    await waitUntil(async () => {
      round++;
      await runCli(["produce", "--topic", "live", "--broker", broker.address, "--message", `hello-${round}`]);
      return output.split("\n").filter(Boolean).length >= 3;
    }, 20_000, "the live consumer to print 3 records");
    await consumer.exited;
    await reading;
    const seen = output.split("\n").filter(Boolean);
    expect(seen.length).toBe(3);
    for (const value of seen) expect(value).toMatch(/^hello-\d+$/);
    expect(consumer.exitCode).toBe(0);
  });

  test("a consumer resumes from a given offset", async () => {
    const broker = await startStandaloneBroker();
    await runCli(["topics", "create", "--topic", "resume", "--broker", broker.address]);
    const input = Array.from({ length: 100 }, (_, i) => `r${i}`).join("\n");
    expect((await runCli(["produce", "--topic", "resume", "--broker", broker.address], { stdin: input })).exitCode).toBe(0);
    const consumed = await runCli([
      "consume", "--topic", "resume", "--broker", broker.address, "--partition", "0", "--offset", "42",
      "--max-messages", "58", "--timeout-ms", "10000",
    ]);
    expect(consumed.exitCode).toBe(0);
    expect(consumed.stdout.trim().split("\n")).toEqual(Array.from({ length: 58 }, (_, i) => `r${i + 42}`));
  });

  test("a missing topic is a clear TOPIC_NOT_FOUND unless --create", async () => {
    const broker = await startStandaloneBroker();
    const missing = await runCli(["produce", "--topic", "nope", "--broker", broker.address, "--message", "x"]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain("TOPIC_NOT_FOUND");
    const created = await runCli(["produce", "--topic", "nope", "--create", "--partitions", "3", "--broker", broker.address, "--message", "x", "--verbose"]);
    expect(created.exitCode).toBe(0);
    expect(JSON.parse(created.stdout.trim())).toMatchObject({ offset: 0 });
    const described = await runCli(["topics", "describe", "--topic", "nope", "--json", "--broker", broker.address]);
    expect(JSON.parse(described.stdout).partitions.length).toBe(3);
  });

  test("bad flags and names are clear errors", async () => {
    const broker = await startStandaloneBroker();
    const typo = await runCli(["topics", "create", "--topic", "t", "--partitons", "3", "--broker", broker.address]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain("unknown option --partitons");
    const badName = await runCli(["topics", "create", "--topic", "../etc", "--broker", broker.address]);
    expect(badName.exitCode).not.toBe(0);
    expect(badName.stderr).toContain("INVALID_TOPIC");
    const badAcks = await runCli(["produce", "--topic", "t", "--acks", "2", "--broker", broker.address, "--message", "x"]);
    expect(badAcks.stderr).toContain("--acks must be one of all, 1, 0");
  });
});
