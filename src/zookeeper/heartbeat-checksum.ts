/**
 * Heartbeats and acks travel with a CRC-32 of their signed bytes in the
 * datagram's auth-tag slot, and a datagram without a matching one is dropped.
 *
 * Without it one flipped bit could be a valid datagram that lies: a larger
 * startedAtMs or incarnation looks like a restart and locks out the broker's
 * genuine heartbeats as an "old incarnation" for good; a larger seq makes
 * them "stale"; a larger epoch retires the active broker; another brokerId
 * invents a broker. UDP's own checksum is 16 bits and optional on IPv4.
 * (An HMAC would replace the CRC in the same slot and catch corruption too.)
 */
import { KafkaCloneError } from "../errors";
import {
  decodeDatagram,
  encodeHeartbeat,
  encodeHeartbeatAck,
  type Heartbeat,
  type HeartbeatAck,
} from "../protocol/heartbeat-codec";

const TAG_BYTES = 4;

function checksumTag(signed: Uint8Array): Uint8Array {
  const tag = new Uint8Array(TAG_BYTES);
  new DataView(tag.buffer).setUint32(0, Bun.hash.crc32(signed) >>> 0);
  return tag;
}

/** The datagram's signed bytes: an untagged datagram minus its final tag-length byte. */
function seal(encode: (tag?: Uint8Array) => Uint8Array): Uint8Array {
  const untagged = encode();
  return encode(checksumTag(untagged.subarray(0, untagged.length - 1)));
}

export function sealHeartbeat(hb: Heartbeat): Uint8Array {
  return seal((tag) => encodeHeartbeat(hb, tag));
}

export function sealHeartbeatAck(ack: HeartbeatAck): Uint8Array {
  return seal((tag) => encodeHeartbeatAck(ack, tag));
}

function checked(bytes: Uint8Array) {
  const datagram = decodeDatagram(bytes);
  const expected = checksumTag(datagram.signed);
  const tag = datagram.authTag;
  if (tag.length !== TAG_BYTES || tag.some((byte, i) => byte !== expected[i])) {
    throw new KafkaCloneError("INVALID_REQUEST", tag.length === 0 ? "datagram has no checksum" : "datagram checksum mismatch");
  }
  return datagram;
}

/** Throws INVALID_REQUEST for anything but an intact heartbeat. */
export function openHeartbeat(bytes: Uint8Array): Heartbeat {
  const datagram = checked(bytes);
  if (datagram.kind !== "heartbeat") throw new KafkaCloneError("INVALID_REQUEST", "expected a heartbeat, got an ack");
  return datagram.message;
}

/** Throws INVALID_REQUEST for anything but an intact ack. */
export function openHeartbeatAck(bytes: Uint8Array): HeartbeatAck {
  const datagram = checked(bytes);
  if (datagram.kind !== "ack") throw new KafkaCloneError("INVALID_REQUEST", "expected a heartbeat ack, got a heartbeat");
  return datagram.message;
}
