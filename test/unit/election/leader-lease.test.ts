import { describe, expect, test } from "bun:test";
import { LeaderLease, defaultLeaseMs } from "../../../src/election/leader-lease";
import type { ClusterView } from "../../../src/protocol/heartbeat-codec";

const view = (activeBrokerId: number | null, epoch: number): ClusterView => ({
  activeBrokerId,
  epoch,
  electionNeeded: activeBrokerId === null,
  brokers: [],
});

describe("leader lease", () => {
  test("nothing is held before a grant", () => {
    const lease = new LeaderLease(1, 300);
    expect(lease.holds(0)).toBe(false);
    expect(lease.onAck(view(1, 1), 10, 10)).toBe("ignored");
  });

  test("a grant lasts leaseMs from when the claim was sent", () => {
    const lease = new LeaderLease(1, 300);
    lease.grant(4, 1000);
    expect(lease.epoch).toBe(4);
    expect(lease.holds(1299)).toBe(true);
    expect(lease.holds(1300)).toBe(false);
    // sticky: a later ack cannot bring it back
    expect(lease.onAck(view(1, 4), 1250, 1301)).toBe("ignored");
    expect(lease.holds(1301)).toBe(false);
  });

  test("acks naming this broker at its epoch renew from the heartbeat's send time", () => {
    const lease = new LeaderLease(1, 300);
    lease.grant(4, 1000);
    expect(lease.onAck(view(1, 4), 1100, 1150)).toBe("renewed");
    expect(lease.expiresAt).toBe(1400);
    expect(lease.onAck(view(1, 4), 1050, 1160)).toBe("renewed");
    expect(lease.expiresAt).toBe(1400);
    expect(lease.holds(1399)).toBe(true);
    expect(lease.holds(1400)).toBe(false);
  });

  test("acks to heartbeats sent before the claim are ignored", () => {
    const lease = new LeaderLease(1, 300);
    lease.grant(4, 1000);
    expect(lease.onAck(view(null, 3), 990, 1010)).toBe("ignored");
    expect(lease.onAck(view(null, 3), 1000, 1010)).toBe("ignored");
    expect(lease.holds(1010)).toBe(true);
  });

  test("any other view revokes", () => {
    for (const v of [view(2, 5), view(null, 4), view(1, 5), view(1, 3)]) {
      const lease = new LeaderLease(1, 300);
      lease.grant(4, 1000);
      expect(lease.onAck(v, 1100, 1110)).toBe("revoked");
      expect(lease.holds(1110)).toBe(false);
    }
  });

  test("config", () => {
    expect(() => new LeaderLease(1, 0)).toThrow("lease");
    expect(defaultLeaseMs(500)).toBe(300);
  });
});
