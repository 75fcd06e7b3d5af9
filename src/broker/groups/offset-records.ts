/**
 * Records of the internal topic `__consumer_offsets`: one per committed
 * offset, keyed by group / topic / partition (MessagePack `[version, group,
 * topic, partition]`), so the latest record of a key is its commit. The value
 * is `[version, offset, metadata, commitTimestamp]`; a null value (tombstone)
 * deletes the key, as when a group is deleted.
 */
import { Packr } from "msgpackr";
import { KafkaCloneError } from "../../errors";

export const OFFSETS_TOPIC = "__consumer_offsets";
const VERSION = 1;
const packr = new Packr({ useRecords: false, mapsAsObjects: false });

export interface CommitKey {
  groupId: string;
  topic: string;
  partition: number;
}

export interface CommitValue {
  offset: number;
  metadata: string;
  commitTimestamp: number;
}

/** Internal topics belong to the broker: clients may read them, never write or delete them. */
export function refuseInternalTopic(topic: string, action: string): void {
  if (topic === OFFSETS_TOPIC) throw new KafkaCloneError("INVALID_TOPIC", `${topic} is internal to the broker and cannot be ${action} by clients`);
}

/** The in-memory key of a commit: group, topic and partition (none of which holds a NUL). */
export function commitMapKey(key: CommitKey): string {
  return `${key.groupId}\u0000${key.topic}\u0000${key.partition}`;
}

export function encodeCommitKey(key: CommitKey): Uint8Array {
  return new Uint8Array(packr.pack([VERSION, key.groupId, key.topic, key.partition]));
}

export function encodeCommitValue(value: CommitValue): Uint8Array {
  return new Uint8Array(packr.pack([VERSION, value.offset, value.metadata, value.commitTimestamp]));
}

/** Null for a key this version does not understand (a newer format, or not a commit). */
export function decodeCommitKey(bytes: Uint8Array): CommitKey | null {
  const item = unpackSafely(bytes);
  if (!Array.isArray(item) || item[0] !== VERSION || item.length !== 4) return null;
  const [, groupId, topic, partition] = item as unknown[];
  if (typeof groupId !== "string" || typeof topic !== "string" || !Number.isSafeInteger(partition) || (partition as number) < 0) return null;
  return { groupId, topic, partition: partition as number };
}

export function decodeCommitValue(bytes: Uint8Array): CommitValue | null {
  const item = unpackSafely(bytes);
  if (!Array.isArray(item) || item[0] !== VERSION || item.length !== 4) return null;
  const [, offset, metadata, commitTimestamp] = item as unknown[];
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || typeof metadata !== "string" || !Number.isSafeInteger(commitTimestamp)) return null;
  return { offset: offset as number, metadata, commitTimestamp: commitTimestamp as number };
}

function unpackSafely(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch {
    return undefined;
  }
}
