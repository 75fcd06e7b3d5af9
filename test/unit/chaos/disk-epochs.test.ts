import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { stampBatch } from "../../../src/log/batch-frame";
import { encodeBatch } from "../../../src/log/record-codec";
import { epochRegressions, epochsOnDisk } from "../../chaos/disk-epochs";

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function frame(offset: number, epoch: number): Uint8Array {
  const bytes = encodeBatch([{ value: new TextEncoder().encode(`r${offset}`) }]);
  stampBatch(bytes, 0, offset, epoch);
  return bytes;
}

function segment(dir: string, base: number, frames: Uint8Array[], tail = new Uint8Array()): void {
  fs.writeFileSync(path.join(dir, `${String(base).padStart(20, "0")}.log`), Buffer.concat([...frames, tail]));
}

describe("leader epochs on disk", () => {
  test("spans in offset order across segments; a deposed leader's frames past a segment's end and a torn tail are skipped", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-epochs-"));
    dirs.push(dataDir);
    const dir = path.join(dataDir, "topics", "t", "0");
    fs.mkdirSync(dir, { recursive: true });
    // The old leader (epoch 1) wrote offset 2 into its segment after the new one (epoch 2) began its own at 2.
    segment(dir, 0, [frame(0, 1), frame(1, 1), frame(2, 1)]);
    segment(dir, 2, [frame(2, 2), frame(3, 2)], new Uint8Array([0, 0, 1, 0, 9, 9]));
    const spans = epochsOnDisk(dataDir, "t");
    expect(spans.get(0)!.map((s) => [s.baseOffset, s.epoch])).toEqual([[0, 1], [1, 1], [2, 2], [3, 2]]);
    expect(epochRegressions(spans)).toEqual([]);
  });

  test("a lower epoch after a higher one along a partition is a regression", () => {
    const spans = (epochs: number[]) => new Map([[0, epochs.map((epoch, i) => ({ baseOffset: i, recordCount: 1, epoch }))]]);
    expect(epochRegressions(spans([1, 1, 2, 5, 5]))).toEqual([]);
    expect(epochRegressions(spans([1, 3, 2]))).toEqual(["partition 0: offset 2 written at epoch 2, after offset 1 at epoch 3"]);
  });
});
