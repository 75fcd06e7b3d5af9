import { describe, expect, test } from "bun:test";
import type { ClusterView, HeartbeatAck } from "../../../src/protocol/heartbeat-codec";
import { HeartbeatSender, randomIncarnation } from "../../../src/zookeeper/heartbeat-sender";

const identity = {
  brokerId: 2,
  incarnation: 99,
  startedAtMs: 5,
  clientHost: "c",
  clientPort: 1,
  electionHost: "e",
  electionPort: 2,
};
const view: ClusterView = { activeBrokerId: null, epoch: 0, electionNeeded: false, brokers: [] };
const ack = (seq: number, over: Partial<HeartbeatAck> = {}): HeartbeatAck => ({
  zkIncarnation: 1,
  brokerId: 2,
  incarnation: 99,
  seq,
  view,
  ...over,
});
const status = { role: "standby", epoch: 3, term: 4 } as const;

describe("heartbeat sender", () => {
  test("numbers heartbeats from 1 and carries identity and status", () => {
    const s = new HeartbeatSender(identity);
    expect(s.next(100, status)).toEqual({ ...identity, ...status, seq: 1 });
    expect(s.next(200, { ...status, role: "active" }).seq).toBe(2);
  });

  test("accepts acks in order and reports the heartbeat's send time", () => {
    const s = new HeartbeatSender(identity);
    for (let i = 1; i <= 3; i++) s.next(i * 100, status);
    expect(s.onAck(ack(2))).toMatchObject({ heartbeatSentAt: 200, zkRestarted: false });
    expect(s.onAck(ack(1))).toBeNull(); // reordered behind a newer ack
    expect(s.onAck(ack(2))).toBeNull(); // duplicate
    expect(s.onAck(ack(3))).toMatchObject({ heartbeatSentAt: 300 });
  });

  test("rejects acks for another broker, incarnation, or a heartbeat never sent", () => {
    const s = new HeartbeatSender(identity);
    s.next(100, status);
    expect(s.onAck(ack(1, { brokerId: 3 }))).toBeNull();
    expect(s.onAck(ack(1, { incarnation: 98 }))).toBeNull();
    expect(s.onAck(ack(7))).toBeNull();
    expect(s.onAck(ack(1))).not.toBeNull();
  });

  test("forgets old heartbeats beyond the outstanding window", () => {
    const s = new HeartbeatSender(identity, 4);
    for (let i = 1; i <= 10; i++) s.next(i, status);
    expect(s.onAck(ack(6))).toBeNull();
    expect(s.onAck(ack(7))).toMatchObject({ heartbeatSentAt: 7 });
  });

  test("notices a zookeeper restart", () => {
    const s = new HeartbeatSender(identity);
    s.next(1, status);
    s.next(2, status);
    expect(s.onAck(ack(1, { zkIncarnation: 1 }))!.zkRestarted).toBe(false);
    expect(s.onAck(ack(2, { zkIncarnation: 8 }))).toMatchObject({ zkRestarted: true, zkIncarnation: 8 });
  });

  test("random incarnations are safe integers", () => {
    for (let i = 0; i < 1000; i++) {
      const n = randomIncarnation();
      expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
    }
  });
});
