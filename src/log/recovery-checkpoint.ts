/**
 * `recovery-point-offset-checkpoint`, in Kafka's format: a version line, a
 * count line, then `topic partition offset` per line. Offsets below a
 * partition's recovery point are fsynced and never rescanned on open.
 */
import fs from "node:fs";
import { KafkaCloneError } from "../errors";
import { writeFileAtomically, writeFileAtomicallyAsync } from "./atomic-file";

export const RECOVERY_CHECKPOINT_FILE = "recovery-point-offset-checkpoint";
const VERSION = 0;

export type RecoveryPoints = Map<string, number>;

export function partitionKey(topic: string, partition: number): string {
  return `${topic} ${partition}`;
}

export function readRecoveryCheckpoint(file: string): RecoveryPoints {
  const points: RecoveryPoints = new Map();
  if (!fs.existsSync(file)) return points;
  const lines = fs.readFileSync(file, "utf8").split("\n").filter((line) => line.length > 0);
  const fail = (why: string): never => {
    throw new KafkaCloneError("CORRUPT_MESSAGE", `${file}: ${why}`);
  };
  if (lines[0] !== String(VERSION)) fail(`unknown version line ${JSON.stringify(lines[0] ?? "")}`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count !== lines.length - 2) fail(`count line says ${lines[1]}, file has ${lines.length - 2} entries`);
  for (const line of lines.slice(2)) {
    const match = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (!match) fail(`malformed line ${JSON.stringify(line)}`);
    points.set(partitionKey(match![1]!, Number(match![2])), Number(match![3]));
  }
  return points;
}

function formatCheckpoint(points: RecoveryPoints): string {
  const lines = [String(VERSION), String(points.size)];
  for (const [key, offset] of points) lines.push(`${key} ${offset}`);
  return `${lines.join("\n")}\n`;
}

export function writeRecoveryCheckpoint(file: string, points: RecoveryPoints): void {
  writeFileAtomically(file, formatCheckpoint(points));
}

export function writeRecoveryCheckpointAsync(file: string, points: RecoveryPoints): Promise<void> {
  return writeFileAtomicallyAsync(file, Buffer.from(formatCheckpoint(points)));
}
