/**
 * ELECTION / ANSWER / COORDINATOR messages for the broker-to-broker TCP
 * transport: one MessagePack map {v: 1, type, term, from[, epoch]}. The
 * transport's frame codec adds length prefix and envelope.
 *
 * Decoding untrusted bytes throws only KafkaCloneError(INVALID_REQUEST).
 */
import { Packr, Unpackr } from "msgpackr";
import { KafkaCloneError } from "../errors";
import { assertMsgpackBounds } from "../protocol/msgpack-bounds";
import { MAX_TERM_OR_EPOCH } from "../protocol/wire-values";
import type { ElectionMessage } from "./election-types";

export const ELECTION_CODEC_VERSION = 1;
export const MAX_ELECTION_MESSAGE_SIZE = 256;

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });

export function encodeElectionMessage(message: ElectionMessage): Uint8Array {
  let normalized: ElectionMessage;
  try {
    normalized = read(new Map<unknown, unknown>([...Object.entries(message), ["v", ELECTION_CODEC_VERSION]]));
  } catch (error) {
    throw new KafkaCloneError("INVALID_ARGUMENT", (error as Error).message);
  }
  // A plain copy: msgpackr hands out a Buffer view into its reusable pool.
  return new Uint8Array(packr.pack({ v: ELECTION_CODEC_VERSION, ...normalized }));
}

export function decodeElectionMessage(bytes: Uint8Array): ElectionMessage {
  if (!(bytes instanceof Uint8Array)) throw invalid("election message is not bytes");
  if (bytes.length > MAX_ELECTION_MESSAGE_SIZE) throw invalid("election message is too large");
  assertMsgpackBounds(bytes, "election message");
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (error) {
    throw new KafkaCloneError("INVALID_REQUEST", "election message is not valid MessagePack", { cause: error });
  }
  if (!(value instanceof Map)) throw invalid("election message is not a map");
  return read(value);
}

function read(m: Map<unknown, unknown>): ElectionMessage {
  if (m.get("v") !== ELECTION_CODEC_VERSION) throw invalid("unsupported election message version");
  const type = m.get("type");
  const term = count(m, "term", MAX_TERM_OR_EPOCH);
  const from = count(m, "from");
  if (from < 1) throw invalid("from must be a positive broker id");
  switch (type) {
    case "ELECTION":
    case "ANSWER":
      return { type, term, from };
    case "COORDINATOR":
      return { type, term, from, epoch: count(m, "epoch", MAX_TERM_OR_EPOCH) };
    default:
      throw invalid("unknown election message type");
  }
}

function count(m: Map<unknown, unknown>, key: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = m.get(key);
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw invalid(max === Number.MAX_SAFE_INTEGER ? `${key} must be a non-negative safe integer` : `${key} must be an integer, at least 0 and at most ${max}`);
  }
  return v;
}

function invalid(message: string): KafkaCloneError {
  return new KafkaCloneError("INVALID_REQUEST", message);
}
