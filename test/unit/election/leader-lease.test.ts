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
    expect(lease.epoch).toBeNull();
    expect(lease.lapsed).toBe(4);
  });

  test("a lapsed lease is regained by an ack naming this broker at its epoch, from a heartbeat sent less than leaseMs ago", () => {
    const lease = new LeaderLease(1, 300);
    lease.grant(4, 1000);
    expect(lease.holds(1400)).toBe(false);
    // too old to help: the zookeeper may declare this broker dead soon after it
    expect(lease.onAck(view(1, 4), 1050, 1400)).toBe("ignored");
    expect(lease.holds(1400)).toBe(false);
    expect(lease.onAck(view(1, 4), 1350, 1400)).toBe("regained");
    expect(lease.epoch).toBe(4);
    expect(lease.expiresAt).toBe(1650);
    expect(lease.holds(1649)).toBe(true);
    expect(lease.holds(1650)).toBe(false);
  });

  test("a lapsed lease ends for good on any other view, and a revoked one never comes back", () => {
    for (const v of [view(2, 5), view(null, 4), view(1, 5), view(null, 5)]) {
      const lease = new LeaderLease(1, 300);
      lease.grant(4, 1000);
      expect(lease.holds(1300)).toBe(false);
      expect(lease.onAck(v, 1290, 1310)).toBe("revoked");
      expect(lease.lapsed).toBeNull();
      expect(lease.onAck(view(1, 4), 1300, 1320)).toBe("ignored");
      expect(lease.holds(1320)).toBe(false);
    }
    const revoked = new LeaderLease(1, 300);
    revoked.grant(4, 1000);
    revoked.revoke();
    expect(revoked.onAck(view(1, 4), 1100, 1110)).toBe("ignored");
    expect(revoked.holds(1110)).toBe(false);
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
