import { describe, expect, test } from "bun:test";
import { encodeHeartbeat, type Heartbeat, type HeartbeatAck } from "../../../src/protocol/heartbeat-codec";
import { openHeartbeat, openHeartbeatAck, sealHeartbeat, sealHeartbeatAck } from "../../../src/zookeeper/heartbeat-checksum";

const hb: Heartbeat = {
  brokerId: 3,
  incarnation: 123456789,
  startedAtMs: 1_760_000_000_000,
  seq: 42,
  role: "active",
  epoch: 7,
  term: 9,
  clientHost: "127.0.0.1",
  clientPort: 9092,
  electionHost: "127.0.0.1",
  electionPort: 9192,
};

const ack: HeartbeatAck = {
  zkIncarnation: 99,
  brokerId: 3,
  incarnation: 123456789,
  seq: 42,
  view: {
    activeBrokerId: 3,
    epoch: 7,
    electionNeeded: false,
    brokers: [{ id: 3, role: "active", alive: true, clientHost: "127.0.0.1", clientPort: 9092, electionHost: "127.0.0.1", electionPort: 9192 }],
  },
};

describe("heartbeat checksums", () => {
  test("sealed datagrams open to what was sealed", () => {
    expect(openHeartbeat(sealHeartbeat(hb))).toEqual(hb);
    expect(openHeartbeatAck(sealHeartbeatAck(ack))).toEqual(ack);
  });

  test("every single flipped bit is rejected, in heartbeats and in acks", () => {
    for (const [sealed, open] of [[sealHeartbeat(hb), openHeartbeat], [sealHeartbeatAck(ack), openHeartbeatAck]] as const) {
      for (let bit = 0; bit < sealed.length * 8; bit++) {
        const garbled = sealed.slice();
        garbled[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => open(garbled)).toThrow();
      }
    }
  });

  test("a datagram without a checksum, a truncated one or the other kind is rejected", () => {
    expect(() => openHeartbeat(encodeHeartbeat(hb))).toThrow("no checksum");
    const sealed = sealHeartbeat(hb);
    for (let length = 0; length < sealed.length; length++) expect(() => openHeartbeat(sealed.subarray(0, length))).toThrow();
    expect(() => openHeartbeatAck(sealed)).toThrow();
    expect(() => openHeartbeat(sealHeartbeatAck(ack))).toThrow();
  });
});
