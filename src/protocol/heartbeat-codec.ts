/**
 * UDP heartbeat datagrams: broker → zookeeper heartbeats and zookeeper →
 * broker acks carrying the cluster view.
 *
 * Layout (big-endian):
 *   0  "KH" magic            2 bytes
 *   2  version (1)           1 byte
 *   3  kind (1 hb, 2 ack,    1 byte
 *            3 challenge)
 *   4  body length N         u16
 *   6  body                  N bytes, one MessagePack map with string keys
 *   6+N auth tag length M    u8
 *   7+N auth tag             M bytes over bytes [0, 6+N): a CRC-32, or with a cluster
 *                            secret an HMAC (src/auth/heartbeat-hmac.ts)
 * The datagram must end exactly after the auth tag.
 *
 * Decoding untrusted bytes throws only KafkaCloneError(INVALID_REQUEST), and
 * every field is type- and range-checked. Unknown map keys are ignored so a
 * newer peer may add fields within the same version.
 */
import { Packr, Unpackr } from "msgpackr";
import { KafkaCloneError } from "../errors";
import { assertMsgpackBounds } from "./msgpack-bounds";
import { MAX_TERM_OR_EPOCH } from "./wire-values";

export const HEARTBEAT_VERSION = 1;
/** The largest IPv4 UDP payload; the encoder refuses anything bigger. */
export const MAX_DATAGRAM_SIZE = 65_507;
export const MAX_HOST_LENGTH = 255;
export const MAX_VIEW_BROKERS = 64;
export const MAX_AUTH_TAG_LENGTH = 64;
const MAGIC_0 = 0x4b;
const MAGIC_1 = 0x48;
const PREFIX_SIZE = 6;
const KIND_HEARTBEAT = 1;
const KIND_ACK = 2;
const KIND_CHALLENGE = 3;

export type BrokerRole = "active" | "standby";

export interface BrokerAddresses {
  clientHost: string;
  clientPort: number;
  electionHost: string;
  electionPort: number;
}

export interface Heartbeat extends BrokerAddresses {
  brokerId: number;
  /** random, chosen at process start; with startedAtMs it orders restarts */
  incarnation: number;
  /** wall-clock ms at process start (ordering only, never used as a timeout) */
  startedAtMs: number;
  /** increments per datagram within one incarnation */
  seq: number;
  role: BrokerRole;
  /** the leader epoch the broker holds, or the highest it has seen */
  epoch: number;
  /** the highest election term the broker has seen */
  term: number;
  /**
   * With a cluster secret: the zookeeper incarnation this heartbeat is for
   * (learnt from a challenge). A zookeeper accepts only heartbeats meant for
   * itself, so ones recorded before it (re)started cannot be replayed to it.
   */
  zk?: number;
}

export interface BrokerInfo extends BrokerAddresses {
  id: number;
  role: BrokerRole;
  alive: boolean;
}

export interface ClusterView {
  activeBrokerId: number | null;
  /** the highest leader epoch the zookeeper knows (the active one's, if any) */
  epoch: number;
  electionNeeded: boolean;
  brokers: BrokerInfo[];
}

export interface HeartbeatAck {
  zkIncarnation: number;
  /** echoed from the heartbeat being acknowledged */
  brokerId: number;
  incarnation: number;
  seq: number;
  view: ClusterView;
}

/**
 * With a cluster secret: the zookeeper's answer to an authentic heartbeat not
 * meant for it (see Heartbeat.zk). It refreshes nothing; the broker binds its
 * next heartbeats to `zkIncarnation`.
 */
export interface HeartbeatChallenge {
  zkIncarnation: number;
  /** echoed from the heartbeat being answered */
  brokerId: number;
  incarnation: number;
  seq: number;
}

export type DecodedDatagram =
  | { kind: "heartbeat"; message: Heartbeat; signed: Uint8Array; authTag: Uint8Array }
  | { kind: "ack"; message: HeartbeatAck; signed: Uint8Array; authTag: Uint8Array }
  | { kind: "challenge"; message: HeartbeatChallenge; signed: Uint8Array; authTag: Uint8Array };

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });

/** Throws INVALID_ARGUMENT for a bad field, FRAME_TOO_LARGE past MAX_DATAGRAM_SIZE. */
export function encodeHeartbeat(hb: Heartbeat, authTag?: Uint8Array): Uint8Array {
  return frame(KIND_HEARTBEAT, packr.pack(normalize(() => readHeartbeat(asMap(hb)))), authTag);
}

export function encodeHeartbeatAck(ack: HeartbeatAck, authTag?: Uint8Array): Uint8Array {
  const view = asMap(ack.view);
  view.set("brokers", ack.view.brokers.map(asMap));
  const normalized = normalize(() => readAck(asMap(ack).set("view", view)));
  return frame(KIND_ACK, packr.pack(normalized), authTag);
}

export function encodeHeartbeatChallenge(challenge: HeartbeatChallenge, authTag?: Uint8Array): Uint8Array {
  return frame(KIND_CHALLENGE, packr.pack(normalize(() => readChallenge(asMap(challenge)))), authTag);
}

export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  const d = decodeDatagram(bytes);
  if (d.kind !== "heartbeat") throw invalid(`expected a heartbeat, got a${d.kind === "ack" ? "n" : ""} ${d.kind}`);
  return d.message;
}

export function decodeHeartbeatAck(bytes: Uint8Array): HeartbeatAck {
  const d = decodeDatagram(bytes);
  if (d.kind !== "ack") throw invalid(`expected a heartbeat ack, got a ${d.kind}`);
  return d.message;
}

export function decodeDatagram(bytes: Uint8Array): DecodedDatagram {
  if (!(bytes instanceof Uint8Array)) throw invalid("datagram is not bytes");
  if (bytes.length > MAX_DATAGRAM_SIZE) throw invalid(`datagram of ${bytes.length} bytes is too large`);
  if (bytes.length < PREFIX_SIZE + 1) throw invalid("datagram is too short");
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) throw invalid("bad magic");
  if (bytes[2] !== HEARTBEAT_VERSION) throw invalid(`unsupported heartbeat version ${bytes[2]}`);
  const kind = bytes[3];
  const bodyLength = (bytes[4] << 8) | bytes[5];
  const bodyEnd = PREFIX_SIZE + bodyLength;
  if (bodyEnd + 1 > bytes.length) throw invalid("body runs past the end of the datagram");
  const tagLength = bytes[bodyEnd];
  if (tagLength > MAX_AUTH_TAG_LENGTH) throw invalid("auth tag is too long");
  if (bodyEnd + 1 + tagLength !== bytes.length) throw invalid("datagram length does not match its fields");
  const signed = bytes.subarray(0, bodyEnd);
  const authTag = bytes.subarray(bodyEnd + 1);
  const body = unpackMap(bytes.subarray(PREFIX_SIZE, bodyEnd));
  if (kind === KIND_HEARTBEAT) return { kind: "heartbeat", message: readHeartbeat(body), signed, authTag };
  if (kind === KIND_ACK) return { kind: "ack", message: readAck(body), signed, authTag };
  if (kind === KIND_CHALLENGE) return { kind: "challenge", message: readChallenge(body), signed, authTag };
  throw invalid(`unknown datagram kind ${kind}`);
}

function frame(kind: number, body: Uint8Array, authTag: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (authTag.length > MAX_AUTH_TAG_LENGTH) throw invalid("auth tag is too long");
  const size = PREFIX_SIZE + body.length + 1 + authTag.length;
  if (body.length > 0xffff || size > MAX_DATAGRAM_SIZE) {
    throw new KafkaCloneError("FRAME_TOO_LARGE", `heartbeat datagram of ${size} bytes is too large`);
  }
  const out = new Uint8Array(size);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = HEARTBEAT_VERSION;
  out[3] = kind;
  out[4] = body.length >>> 8;
  out[5] = body.length & 0xff;
  out.set(body, PREFIX_SIZE);
  out[PREFIX_SIZE + body.length] = authTag.length;
  out.set(authTag, PREFIX_SIZE + body.length + 1);
  return out;
}

function asMap(o: object): Map<unknown, unknown> {
  return new Map<unknown, unknown>(Object.entries(o));
}

// The sender runs its message through the decoder's readers, so a bad value is
// caught where it is made and only known fields go on the wire.
function normalize<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new KafkaCloneError("INVALID_ARGUMENT", (error as Error).message);
  }
}

function readHeartbeat(m: Map<unknown, unknown>): Heartbeat {
  return {
    brokerId: brokerId(m, "brokerId"),
    incarnation: count(m, "incarnation"),
    startedAtMs: count(m, "startedAtMs"),
    seq: count(m, "seq"),
    role: role(m, "role"),
    epoch: count(m, "epoch", MAX_TERM_OR_EPOCH),
    term: count(m, "term", MAX_TERM_OR_EPOCH),
    ...addresses(m),
    ...(m.get("zk") === undefined ? {} : { zk: count(m, "zk") }),
  };
}

function readChallenge(m: Map<unknown, unknown>): HeartbeatChallenge {
  return { zkIncarnation: count(m, "zkIncarnation"), brokerId: brokerId(m, "brokerId"), incarnation: count(m, "incarnation"), seq: count(m, "seq") };
}

function readAck(m: Map<unknown, unknown>): HeartbeatAck {
  const v = field(m, "view");
  if (!(v instanceof Map)) throw invalid("view is not a map");
  const list = field(v, "brokers");
  if (!Array.isArray(list)) throw invalid("brokers is not an array");
  if (list.length > MAX_VIEW_BROKERS) throw invalid("too many brokers in the view");
  const seen = new Set<number>();
  const brokers = list.map((item: unknown): BrokerInfo => {
    if (!(item instanceof Map)) throw invalid("broker entry is not a map");
    const id = brokerId(item, "id");
    if (seen.has(id)) throw invalid(`broker ${id} is listed twice`);
    seen.add(id);
    return { id, role: role(item, "role"), alive: bool(item, "alive"), ...addresses(item) };
  });
  const active = field(v, "activeBrokerId");
  return {
    zkIncarnation: count(m, "zkIncarnation"),
    brokerId: brokerId(m, "brokerId"),
    incarnation: count(m, "incarnation"),
    seq: count(m, "seq"),
    view: {
      activeBrokerId: active === null ? null : brokerId(v, "activeBrokerId"),
      epoch: count(v, "epoch", MAX_TERM_OR_EPOCH),
      electionNeeded: bool(v, "electionNeeded"),
      brokers,
    },
  };
}

function addresses(m: Map<unknown, unknown>): BrokerAddresses {
  return {
    clientHost: host(m, "clientHost"),
    clientPort: port(m, "clientPort"),
    electionHost: host(m, "electionHost"),
    electionPort: port(m, "electionPort"),
  };
}

function unpackMap(body: Uint8Array): Map<unknown, unknown> {
  assertMsgpackBounds(body, "datagram body");
  let value: unknown;
  try {
    value = unpackr.unpack(body);
  } catch (error) {
    throw new KafkaCloneError("INVALID_REQUEST", "datagram body is not valid MessagePack", { cause: error });
  }
  if (!(value instanceof Map)) throw invalid("datagram body is not a map");
  return value;
}

function field(m: Map<unknown, unknown>, key: string): unknown {
  if (!m.has(key)) throw invalid(`missing field ${key}`);
  return m.get(key);
}

function count(m: Map<unknown, unknown>, key: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = field(m, key);
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw invalid(max === Number.MAX_SAFE_INTEGER ? `${key} must be a non-negative safe integer` : `${key} must be an integer, at least 0 and at most ${max}`);
  }
  return v;
}

function brokerId(m: Map<unknown, unknown>, key: string): number {
  const v = count(m, key);
  if (v < 1) throw invalid(`${key} must be a positive integer`);
  return v;
}

function port(m: Map<unknown, unknown>, key: string): number {
  const v = count(m, key);
  if (v > 65_535) throw invalid(`${key} must be a port number`);
  return v;
}

// Visible ASCII only: hostnames and IP literals (including "[::1]" and zone ids).
const HOST_PATTERN = /^[\x21-\x7e]+$/;

function host(m: Map<unknown, unknown>, key: string): string {
  const v = field(m, key);
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_HOST_LENGTH || !HOST_PATTERN.test(v)) {
    throw invalid(`${key} must be a host name of 1..${MAX_HOST_LENGTH} visible ASCII characters`);
  }
  return v;
}

function role(m: Map<unknown, unknown>, key: string): BrokerRole {
  const v = field(m, key);
  if (v !== "active" && v !== "standby") throw invalid(`${key} must be "active" or "standby"`);
  return v;
}

function bool(m: Map<unknown, unknown>, key: string): boolean {
  const v = field(m, key);
  if (typeof v !== "boolean") throw invalid(`${key} must be a boolean`);
  return v;
}

function invalid(message: string): KafkaCloneError {
  return new KafkaCloneError("INVALID_REQUEST", message);
}
