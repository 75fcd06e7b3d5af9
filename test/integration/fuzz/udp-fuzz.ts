/**
 * Garbage heartbeat datagrams for the zookeeper's UDP port: noise, byte-level
 * mutations of intact (checksummed) heartbeats and acks — some from a broker
 * that does not exist, some impersonating a real one with a later start, a
 * higher sequence number or epoch — and heartbeats whose checksum is right
 * but one field is invalid (wrong type, out of range, missing). None of them
 * may register a broker or disturb a real one.
 *
 * The datagram layout and the CRC-32 in the auth-tag slot are rebuilt here
 * (see heartbeat-codec.ts, heartbeat-checksum.ts); the fuzz test's positive
 * control (an intact fake heartbeat does register) catches any drift.
 */
import { Packr } from "msgpackr";
import type { Heartbeat } from "../../../src/protocol/heartbeat-codec";
import { int, mutate, type MutationOptions, noise, pick, type Random } from "./mutations";

const packr = new Packr({ useRecords: false });
const KIND_HEARTBEAT = 1;
const KIND_ACK = 2;

/** "KH" | version 1 | kind | u16 body length | body | tag length 4 | CRC-32 of everything before the tag length. */
export function sealDatagram(kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + body.length + 1 + 4);
  out.set([0x4b, 0x48, 1, kind, (body.length >>> 8) & 0xff, body.length & 0xff]);
  out.set(body, 6);
  out[6 + body.length] = 4;
  new DataView(out.buffer).setUint32(7 + body.length, Bun.hash.crc32(out.subarray(0, 6 + body.length)) >>> 0);
  return out;
}

export function sealedHeartbeat(hb: Heartbeat | Record<string, unknown>): Uint8Array {
  return sealDatagram(KIND_HEARTBEAT, packr.pack(hb));
}

export function fakeHeartbeat(brokerId: number, overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    brokerId,
    incarnation: 12345,
    startedAtMs: Date.now(),
    seq: 1,
    role: "standby",
    epoch: 0,
    term: 0,
    clientHost: "127.0.0.1",
    clientPort: 1,
    electionHost: "127.0.0.1",
    electionPort: 2,
    ...overrides,
  };
}

const datagramMutations: MutationOptions = { maxFrameBytes: 65_507, u16LengthFields: [4] };

/** Invalid values for each heartbeat field. */
const INVALID: Record<string, unknown[]> = {
  brokerId: [0, -1, "1", 1.5, 2 ** 53, null],
  incarnation: [-1, "x", 1.5, Number.NaN],
  startedAtMs: [-5, 2 ** 53 + 2, "now", true],
  seq: [-1, 0.5, [], {}],
  role: ["leader", "", 1, null],
  epoch: [-1, "2", 1e300],
  term: [-1, 2 ** 64, "t"],
  clientHost: ["", "has space", "x".repeat(256), 7, "tab\there"],
  clientPort: [65_536, -1, "80", 1.25],
  electionHost: ["", "\u0000", "é"],
  electionPort: [70_000, -2, null],
};

/**
 * One garbage datagram. `realBrokerId` is a broker that is alive: mutated
 * copies of heartbeats in its name (a restart, a higher seq or epoch) test
 * that corruption cannot impersonate it.
 */
export function udpCase(random: Random, fakeBrokerId: number, realBrokerId: number): Uint8Array {
  const kind = random();
  if (kind < 0.15) return random() < 0.9 ? noise(random) : noise(random).subarray(0, 0);
  if (kind < 0.75) {
    const impersonate = random() < 0.5;
    const hb = impersonate
      ? fakeHeartbeat(realBrokerId, { startedAtMs: Date.now() + 60_000, incarnation: int(random, 2 ** 31), seq: 2 ** 40, epoch: 1000, role: "active" })
      : fakeHeartbeat(fakeBrokerId, { seq: int(random, 1000) });
    const valid = random() < 0.9 ? sealedHeartbeat(hb) : sealDatagram(KIND_ACK, packr.pack({ zkIncarnation: 1, brokerId: hb.brokerId, incarnation: 1, seq: 1, view: {} }));
    // Keep mutating until the bytes changed: an unmutated intact heartbeat is not garbage.
    let mutated = valid;
    while (mutated.length === valid.length && mutated.every((b, i) => b === valid[i])) mutated = mutate(random, valid, datagramMutations, [valid]);
    return mutated;
  }
  // Intact checksum, one invalid field (or a field missing).
  const hb: Record<string, unknown> = { ...fakeHeartbeat(fakeBrokerId, { seq: int(random, 1000) }) };
  const field = pick(random, Object.keys(INVALID));
  if (random() < 0.2) delete hb[field];
  else hb[field] = pick(random, INVALID[field]!);
  return sealedHeartbeat(hb);
}

/** A valid-looking ack for `brokerId` whose view names `activeId` active at `epoch` (before mutation). */
function ackFor(brokerId: number, activeId: number, epoch: number): Record<string, unknown> {
  const broker = { id: activeId, role: "active", alive: true, clientHost: "127.0.0.1", clientPort: 1, electionHost: "127.0.0.1", electionPort: 2 };
  return { zkIncarnation: 1, brokerId, incarnation: 1, seq: 1, view: { activeBrokerId: activeId, epoch, electionNeeded: false, brokers: [broker] } };
}

/**
 * Garbage for a broker's own heartbeat socket (where the zookeeper's acks
 * arrive): noise, corrupted intact acks whose view would depose it (another
 * broker active at a far higher epoch), and checksummed acks with one
 * invalid field. Even intact, these acks echo no heartbeat the broker sent
 * (wrong incarnation), so this checks the decoding of untrusted datagrams;
 * a forged ack that does echo one is for cluster authentication to refuse.
 */
export function ackCase(random: Random, brokerId: number): Uint8Array {
  const kind = random();
  if (kind < 0.15) return noise(random);
  const ack = ackFor(brokerId, brokerId + 100, 1_000_000);
  if (kind < 0.75) {
    const valid = sealDatagram(KIND_ACK, packr.pack(ack));
    let mutated = valid;
    while (mutated.length === valid.length && mutated.every((b, i) => b === valid[i])) mutated = mutate(random, valid, datagramMutations, [valid]);
    return mutated;
  }
  const view = ack.view as Record<string, unknown>;
  const target = random() < 0.5 ? ack : view;
  const field = pick(random, Object.keys(target));
  target[field] = pick(random, [-1, "x", null, 2 ** 53, [], { nested: true }, 1.5]);
  return sealDatagram(KIND_ACK, packr.pack(ack));
}
