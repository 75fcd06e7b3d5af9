import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { partitionKey, readRecoveryCheckpoint, writeRecoveryCheckpoint } from "../../../src/log/recovery-checkpoint";
import { expectCode, TempDirs } from "./helpers";

const temp = new TempDirs();
afterEach(() => temp.cleanup());

describe("recovery checkpoint file", () => {
  test("round trips in Kafka's format and leaves no temporary file", () => {
    const file = path.join(temp.make(), "recovery-point-offset-checkpoint");
    const points = new Map([
      [partitionKey("orders", 0), 0],
      [partitionKey("orders", 12), 2 ** 40],
      [partitionKey("a.b-c_d", 3), 17],
    ]);
    writeRecoveryCheckpoint(file, points);
    expect(fs.readFileSync(file, "utf8")).toBe("0\n3\norders 0 0\norders 12 1099511627776\na.b-c_d 3 17\n");
    expect(readRecoveryCheckpoint(file)).toEqual(points);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["recovery-point-offset-checkpoint"]);
    writeRecoveryCheckpoint(file, new Map());
    expect(readRecoveryCheckpoint(file).size).toBe(0);
  });

  test("a missing file means no recovery points", () => {
    expect(readRecoveryCheckpoint(path.join(temp.make(), "nope")).size).toBe(0);
  });

  test("malformed files are CORRUPT_MESSAGE naming the file", async () => {
    const dir = temp.make();
    for (const [i, text] of ["1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n", "0\n1\nt 0 -1\n", "garbage", "0\n1\nt 0 1 extra\n"].entries()) {
      const file = path.join(dir, `cp-${i}`);
      fs.writeFileSync(file, text);
      const error = await expectCode(() => readRecoveryCheckpoint(file), "CORRUPT_MESSAGE");
      expect(error.message).toContain(file);
    }
  });
});
