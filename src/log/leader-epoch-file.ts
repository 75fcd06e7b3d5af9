/** `leader-epoch`: the epoch of the current writer of a data directory. */
import fs from "node:fs";
import path from "node:path";
import { KafkaCloneError } from "../errors";
import { writeFileAtomically } from "./atomic-file";

export const LEADER_EPOCH_FILE = "leader-epoch";

export function readLeaderEpoch(dataDir: string): number {
  const file = path.join(dataDir, LEADER_EPOCH_FILE);
  if (!fs.existsSync(file)) return 0;
  const text = fs.readFileSync(file, "utf8").trim();
  const epoch = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(epoch)) {
    throw new KafkaCloneError("CORRUPT_MESSAGE", `${file}: expected a non-negative integer, found ${JSON.stringify(text.slice(0, 40))}`);
  }
  return epoch;
}

export function writeLeaderEpoch(dataDir: string, epoch: number): void {
  writeFileAtomically(path.join(dataDir, LEADER_EPOCH_FILE), `${epoch}\n`);
}
