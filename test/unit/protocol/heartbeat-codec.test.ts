import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { KafkaCloneError } from "../../../src/errors";
import {
  MAX_DATAGRAM_SIZE,
  MAX_VIEW_BROKERS,
  decodeDatagram,
  decodeHeartbeat,
  decodeHeartbeatAck,
  encodeHeartbeat,
  encodeHeartbeatAck,
  encodeHeartbeatChallenge,
  type BrokerInfo,
  type Heartbeat,
  type HeartbeatAck,
} from "../../../src/protocol/heartbeat-codec";
import { mulberry32 } from "../../seeded-random";

const packr = new Packr({ useRecords: false });

function heartbeat(over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    brokerId: 3,
    incarnation: 2 ** 53 - 1,
    startedAtMs: 1_700_000_000_000,
    seq: 42,
    role: "standby",
    epoch: 7,
    term: 9,
    clientHost: "127.0.0.1",
    clientPort: 9092,
    electionHost: "[::1]",
    electionPort: 0,
    ...over,
  };
}

function broker(id: number, over: Partial<BrokerInfo> = {}): BrokerInfo {
  return { id, clientHost: "h", clientPort: 1, electionHost: "e", electionPort: 65_535, role: "standby", alive: true, ...over };
}

function ack(over: Partial<HeartbeatAck> = {}): HeartbeatAck {
  return {
    zkIncarnation: 5,
    brokerId: 3,
    incarnation: 11,
    seq: 42,
    view: { activeBrokerId: 3, epoch: 7, electionNeeded: false, brokers: [broker(3, { role: "active" }), broker(1)] },
    ...over,
  };
}

/** A datagram with a hand-made body, bypassing the encoder's checks. */
function rawDatagram(body: unknown, kind = 1, tag: number[] = []): Uint8Array {
  const b = packr.pack(body);
  return new Uint8Array([0x4b, 0x48, 1, kind, b.length >> 8, b.length & 0xff, ...b, tag.length, ...tag]);
}

function expectInvalid(bytes: Uint8Array): void {
  let thrown: unknown;
  try {
    decodeDatagram(bytes);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(KafkaCloneError);
  expect((thrown as KafkaCloneError).code).toBe("INVALID_REQUEST");
}

describe("heartbeat codec", () => {
  test("heartbeat round-trips", () => {
    const hb = heartbeat();
    expect(decodeHeartbeat(encodeHeartbeat(hb))).toEqual(hb);
    expect(decodeHeartbeat(encodeHeartbeat(heartbeat({ role: "active", seq: 0, epoch: 0, term: 0 })))).toEqual(
      heartbeat({ role: "active", seq: 0, epoch: 0, term: 0 }),
    );
  });

  test("ack round-trips, including a view with no active broker", () => {
    expect(decodeHeartbeatAck(encodeHeartbeatAck(ack()))).toEqual(ack());
    const none = ack({ view: { activeBrokerId: null, epoch: 0, electionNeeded: true, brokers: [] } });
    expect(decodeHeartbeatAck(encodeHeartbeatAck(none))).toEqual(none);
  });

  test("the encoder drops unknown properties and rejects bad values", () => {
    const extra = { ...heartbeat(), secret: "x" } as Heartbeat;
    expect(decodeHeartbeat(encodeHeartbeat(extra))).toEqual(heartbeat());
    expect(() => encodeHeartbeat(heartbeat({ clientPort: 70_000 }))).toThrow(KafkaCloneError);
    expect(() => encodeHeartbeat(heartbeat({ brokerId: 0 }))).toThrow("brokerId");
  });

  test("the auth tag slot is carried and separated from the signed bytes", () => {
    const tag = new Uint8Array(32).fill(0xab);
    const bytes = encodeHeartbeat(heartbeat(), tag);
    const d = decodeDatagram(bytes);
    expect(d.authTag).toEqual(tag);
    expect(d.signed.length).toBe(bytes.length - 33);
    expect(decodeDatagram(encodeHeartbeat(heartbeat())).authTag.length).toBe(0);
    expect(() => encodeHeartbeat(heartbeat(), new Uint8Array(65))).toThrow(KafkaCloneError);
  });

  test("kind mismatch is rejected", () => {
    expect(() => decodeHeartbeat(encodeHeartbeatAck(ack()))).toThrow(KafkaCloneError);
    expect(() => decodeHeartbeatAck(encodeHeartbeat(heartbeat()))).toThrow(KafkaCloneError);
  });

  test("framing errors are rejected", () => {
    const good = encodeHeartbeat(heartbeat());
    expectInvalid(new Uint8Array(0));
    expectInvalid(good.subarray(0, good.length - 1));
    expectInvalid(new Uint8Array([...good, 0]));
    for (const [i, v] of [[0, 0], [1, 0], [2, 2], [3, 9], [4, 0xff]] as const) {
      const bad = good.slice();
      bad[i] = v;
      expectInvalid(bad);
    }
    expectInvalid(new Uint8Array(MAX_DATAGRAM_SIZE + 1));
    expectInvalid(rawDatagram(heartbeat(), 1, new Array(65).fill(1)));
  });

  test("every field is type and range checked", () => {
    const bad: Array<[keyof Heartbeat, unknown]> = [
      ["brokerId", 0], ["brokerId", -1], ["brokerId", 1.5], ["brokerId", "3"], ["brokerId", 2 ** 53],
      ["incarnation", -1], ["incarnation", null], ["startedAtMs", 1e300], ["seq", -1], ["seq", true],
      ["role", "leader"], ["role", 1], ["epoch", -2], ["term", 0.1], ["epoch", 2 ** 53 - 1], ["term", 2 ** 50 + 1],
      ["clientHost", ""], ["clientHost", "a".repeat(256)], ["clientHost", "a b"], ["clientHost", "a\n"],
      ["clientHost", 5], ["clientPort", 65_536], ["clientPort", -1], ["electionHost", "é"], ["electionPort", "1"],
    ];
    for (const [key, value] of bad) expectInvalid(rawDatagram({ ...heartbeat(), [key]: value }));
    const { term: _, ...missing } = heartbeat();
    expectInvalid(rawDatagram(missing));
    expectInvalid(rawDatagram([1, 2, 3]));
    expectInvalid(rawDatagram("hello"));
    expect(decodeHeartbeat(rawDatagram({ ...heartbeat(), future: [1] }))).toEqual(heartbeat());
  });

  test("ack views are validated", () => {
    const raw = (view: unknown) => rawDatagram({ ...ack(), view }, 2);
    const v = ack().view;
    expectInvalid(raw({ ...v, activeBrokerId: 0 }));
    expectInvalid(raw({ ...v, electionNeeded: 1 }));
    expectInvalid(raw({ ...v, brokers: {} }));
    expectInvalid(raw({ ...v, brokers: [broker(1), broker(1)] }));
    expectInvalid(raw({ ...v, brokers: [{ ...broker(1), alive: "yes" }] }));
    expectInvalid(raw({ ...v, brokers: [{ ...broker(1), role: "boss" }] }));
    expectInvalid(raw({ ...v, brokers: Array.from({ length: MAX_VIEW_BROKERS + 1 }, (_, i) => broker(i + 1)) }));
    expectInvalid(raw(null));
    expectInvalid(rawDatagram({ ...ack(), zkIncarnation: -1 }, 2));
  });

  test("a full view of long host names still fits one datagram", () => {
    const long = "h".repeat(255);
    const brokers = Array.from({ length: MAX_VIEW_BROKERS }, (_, i) => broker(i + 1, { clientHost: long, electionHost: long }));
    const big = ack({ view: { activeBrokerId: 1, epoch: 1, electionNeeded: false, brokers } });
    const bytes = encodeHeartbeatAck(big);
    expect(bytes.length).toBeLessThanOrEqual(MAX_DATAGRAM_SIZE);
    expect(decodeHeartbeatAck(bytes)).toEqual(big);
  });
});


describe("heartbeat codec fuzz", () => {
  const rand = mulberry32(0xc0ffee);
  const int = (n: number) => Math.floor(rand() * n);
  const junkValues: unknown[] = [null, true, -1, 0, 1, 2 ** 60, -(2 ** 60), 0.5, "", "x", "a b", [], {}, new Uint8Array(3), "__proto__"];
  const seeds = [encodeHeartbeat(heartbeat()), encodeHeartbeatAck(ack()), encodeHeartbeat(heartbeat(), new Uint8Array(8))];

  function decodeOrInvalid(bytes: Uint8Array): "ok" | "invalid" {
    try {
      const d = decodeDatagram(bytes);
      // Whatever decodes must re-encode to an equivalent message.
      const again =
        d.kind === "heartbeat" ? decodeHeartbeat(encodeHeartbeat(d.message))
        : d.kind === "ack" ? decodeHeartbeatAck(encodeHeartbeatAck(d.message))
        : decodeDatagram(encodeHeartbeatChallenge(d.message)).message;
      expect(again).toEqual(d.message as never);
      return "ok";
    } catch (error) {
      if (!(error instanceof KafkaCloneError) || error.code !== "INVALID_REQUEST") throw error;
      return "invalid";
    }
  }

  test("random bytes", () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(int(200));
      for (let j = 0; j < bytes.length; j++) bytes[j] = int(256);
      if (rand() < 0.5 && bytes.length > 6) bytes.set([0x4b, 0x48, 1, 1 + int(2), 0, int(bytes.length)]);
      decodeOrInvalid(bytes);
    }
  });

  test("mutated valid datagrams", () => {
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = seeds[int(seeds.length)]!.slice();
      const flips = 1 + int(4);
      for (let f = 0; f < flips; f++) bytes[int(bytes.length)] = rand() < 0.5 ? int(256) : bytes[int(bytes.length)]!;
      const cut = rand() < 0.2 ? bytes.subarray(0, int(bytes.length)) : bytes;
      if (decodeOrInvalid(cut) === "ok") ok++;
    }
    expect(ok).toBeGreaterThan(0);
  });

  test("well-framed bodies with wrong-typed fields", () => {
    for (let i = 0; i < 2000; i++) {
      const base: Record<string, unknown> = rand() < 0.5 ? { ...heartbeat() } : { ...ack(), view: { ...ack().view } };
      const target = "view" in base && rand() < 0.5 ? (base.view as Record<string, unknown>) : base;
      const keys = Object.keys(target);
      target[keys[int(keys.length)]!] = junkValues[int(junkValues.length)];
      if (rand() < 0.2) delete target[keys[int(keys.length)]!];
      decodeOrInvalid(rawDatagram(base, "view" in base ? 2 : 1));
    }
  });
});
