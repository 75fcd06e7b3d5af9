/**
 * Creating a topic while the same name is being deleted (found by the
 * client-port fuzzer: two connections, deleteTopic and createTopic of one
 * name): the new topic's directory was renamed over the old one's place and
 * then thrown away with it, leaving a topic whose files were gone. Now the
 * create is refused until the deletion is done, and works after it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { LogManager } from "../../../src/log/log-manager";
import { encodeBatch } from "../../../src/log/record-codec";
import { expectCode, silentLogger, TempDirs } from "./helpers";

const temp = new TempDirs();
const managers: LogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close().catch(() => {});
  temp.cleanup();
});

describe("deleting and creating one topic name at once", () => {
  test("a create during the deletion is refused; after it, the new topic is whole", async () => {
    const dir = temp.make();
    const manager = LogManager.open(dir, { checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, logger: silentLogger });
    managers.push(manager);
    manager.createTopic("t", 2);
    const deletion = manager.deleteTopic("t");
    const refused = await expectCode(() => manager.createTopic("t", 1), "TOPIC_ALREADY_EXISTS");
    expect(refused.message).toContain("still being deleted");
    await deletion;
    manager.createTopic("t", 1);
    expect(fs.readdirSync(path.join(dir, "topics", "t"))).toContain("0");
    const log = manager.partition("t", 0);
    const { nextOffset } = log.append(encodeBatch([{ value: new TextEncoder().encode("after") }]), 1);
    await log.waitFor(nextOffset, "all");
    expect(log.highWatermark).toBe(1);
    await manager.deleteTopic("t");
    expect(fs.existsSync(path.join(dir, "topics", "t"))).toBe(false);
  });
});
