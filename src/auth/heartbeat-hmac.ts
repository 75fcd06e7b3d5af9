/**
 * Heartbeat datagrams in a cluster with a secret: the auth-tag slot carries
 * HMAC-SHA256 (first 16 bytes) of the datagram's signed bytes under the
 * secret's heartbeat key, in place of the CRC-32 (heartbeat-checksum.ts).
 * Without the secret nobody can make a heartbeat, ack or challenge the other
 * side accepts.
 *
 * Replays of authentic datagrams are refused by what they carry:
 *   - heartbeats: per broker, (startedAtMs, incarnation, seq) must grow
 *     (registry.ts), so one already seen refreshes nothing; and each names
 *     the zookeeper incarnation it is meant for (`zk`), so heartbeats
 *     recorded before a zookeeper (re)started are not accepted by the new
 *     one, whose table is empty. A heartbeat for another zookeeper gets a
 *     challenge naming the current incarnation; the broker binds its next
 *     heartbeat to it and sends it at once.
 *   - acks and challenges echo the broker's incarnation (random per process)
 *     and a seq it sent recently and that is newer than the last one
 *     accepted (heartbeat-sender.ts), so an old one is dropped.
 * An attacker on the path can still delay or drop datagrams (a denial of
 * service it could cause anyway); a delayed heartbeat cannot extend a
 * leader's lease, which counts from the heartbeat's send time.
 */
import { createHmac } from "node:crypto";
import type { DatagramTagger } from "../zookeeper/heartbeat-checksum";
import type { ClusterSecret } from "./cluster-secret";

export const HEARTBEAT_TAG_BYTES = 16;

export function heartbeatHmac(secret: ClusterSecret): DatagramTagger {
  const key = secret.key("heartbeat");
  return {
    tag: (signed) => createHmac("sha256", key).update(signed).digest().subarray(0, HEARTBEAT_TAG_BYTES),
    failure: "AUTHENTICATION_FAILED",
    name: "HMAC",
  };
}
