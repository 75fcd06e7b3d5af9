/**
 * Heartbeats and acks travel with a tag of their signed bytes in the
 * datagram's auth-tag slot, and a datagram without a matching one is dropped.
 * Without a cluster secret the tag is a CRC-32; with one it is an HMAC
 * (src/auth/heartbeat-hmac.ts), which catches corruption too and makes
 * datagrams unforgeable.
 *
 * Without a check one flipped bit could be a valid datagram that lies: a larger
 * startedAtMs or incarnation looks like a restart and locks out the broker's
 * genuine heartbeats as an "old incarnation" for good; a larger seq makes
 * them "stale"; a larger epoch retires the active broker; another brokerId
 * invents a broker. UDP's own checksum is 16 bits and optional on IPv4.
 */
import { timingSafeEqual } from "node:crypto";
import { KafkaCloneError } from "../errors";
import {
  type DecodedDatagram,
  decodeDatagram,
  encodeHeartbeat,
  encodeHeartbeatAck,
  encodeHeartbeatChallenge,
  type Heartbeat,
  type HeartbeatAck,
  type HeartbeatChallenge,
} from "../protocol/heartbeat-codec";

/** Computes and checks the auth tag of a datagram's signed bytes. */
export interface DatagramTagger {
  tag(signed: Uint8Array): Uint8Array;
  /** The error code for a datagram whose tag does not match (corruption or forgery). */
  readonly failure: "INVALID_REQUEST" | "AUTHENTICATION_FAILED";
  /** "checksum" or "HMAC", for messages. */
  readonly name: string;
}

const CRC_BYTES = 4;

export const CRC_TAGGER: DatagramTagger = {
  tag(signed) {
    const tag = new Uint8Array(CRC_BYTES);
    new DataView(tag.buffer).setUint32(0, Bun.hash.crc32(signed) >>> 0);
    return tag;
  },
  failure: "INVALID_REQUEST",
  name: "checksum",
};

/** The datagram's signed bytes: an untagged datagram minus its final tag-length byte. */
function seal(encode: (tag?: Uint8Array) => Uint8Array, tagger: DatagramTagger): Uint8Array {
  const untagged = encode();
  return encode(tagger.tag(untagged.subarray(0, untagged.length - 1)));
}

export function sealHeartbeat(hb: Heartbeat, tagger = CRC_TAGGER): Uint8Array {
  return seal((tag) => encodeHeartbeat(hb, tag), tagger);
}

export function sealHeartbeatAck(ack: HeartbeatAck, tagger = CRC_TAGGER): Uint8Array {
  return seal((tag) => encodeHeartbeatAck(ack, tag), tagger);
}

export function sealHeartbeatChallenge(challenge: HeartbeatChallenge, tagger: DatagramTagger): Uint8Array {
  return seal((tag) => encodeHeartbeatChallenge(challenge, tag), tagger);
}

/** Any intact datagram; throws INVALID_REQUEST (or AUTHENTICATION_FAILED for a bad HMAC). */
export function openDatagram(bytes: Uint8Array, tagger = CRC_TAGGER): DecodedDatagram {
  const datagram = decodeDatagram(bytes);
  const expected = tagger.tag(datagram.signed);
  const tag = datagram.authTag;
  if (tag.length !== expected.length || !timingSafeEqual(tag, expected)) {
    throw new KafkaCloneError(tagger.failure, tag.length === 0 ? `datagram has no ${tagger.name}` : `datagram ${tagger.name} mismatch`);
  }
  return datagram;
}

/** Throws INVALID_REQUEST for anything but an intact heartbeat. */
export function openHeartbeat(bytes: Uint8Array, tagger = CRC_TAGGER): Heartbeat {
  const datagram = openDatagram(bytes, tagger);
  if (datagram.kind !== "heartbeat") throw new KafkaCloneError("INVALID_REQUEST", `expected a heartbeat, got a ${datagram.kind}`);
  return datagram.message;
}

/** Throws INVALID_REQUEST for anything but an intact ack. */
export function openHeartbeatAck(bytes: Uint8Array, tagger = CRC_TAGGER): HeartbeatAck {
  const datagram = openDatagram(bytes, tagger);
  if (datagram.kind !== "ack") throw new KafkaCloneError("INVALID_REQUEST", `expected a heartbeat ack, got a ${datagram.kind}`);
  return datagram.message;
}
