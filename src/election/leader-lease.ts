/**
 * The active broker's lease, pure. The broker may acknowledge writes only
 * while `holds(now)`.
 *
 * - grant(epoch, claimSentAt) when the zookeeper accepts the claim: valid
 *   until claimSentAt + leaseMs (the registry counts an accepted claim as a
 *   heartbeat, so it cannot declare this broker dead before then).
 * - Each ack to this broker's own heartbeat that names it active at the same
 *   epoch extends the lease to heartbeatSentAt + leaseMs. Any other view
 *   (someone else active, a newer epoch, no active) revokes it. Acks to
 *   heartbeats sent at or before the claim predate it and are ignored.
 * - leaseMs must be shorter than the zookeeper's session timeout, so the
 *   lease ends before the zookeeper can let another broker claim.
 * - Expiry (silence from the zookeeper) is not revocation: the lease lapses,
 *   nothing may be acknowledged, but the epoch is remembered. An ack that
 *   still names this broker active at that epoch, to a heartbeat sent less
 *   than leaseMs ago, regains it (a restarted zookeeper rebuilt its view from this
 *   broker's heartbeat; nobody can have claimed a newer epoch, or the view
 *   would say so), until heartbeatSentAt + leaseMs. Any other view ends the
 *   lapse for good ("revoked").
 */
import { KafkaCloneError } from "../errors";
import type { ClusterView } from "../protocol/heartbeat-codec";

export type LeaseAckResult = "renewed" | "regained" | "revoked" | "ignored";

/** 60% of the session timeout: two lost acks at a 100 ms interval still renew in time. */
export function defaultLeaseMs(sessionTimeoutMs: number): number {
  return Math.floor(sessionTimeoutMs * 0.6);
}

export class LeaderLease {
  private heldEpoch: number | null = null;
  private lapsedEpoch: number | null = null;
  private grantedAt = 0;
  private until = 0;

  constructor(
    private readonly brokerId: number,
    private readonly leaseMs: number,
  ) {
    if (!(leaseMs > 0)) throw new KafkaCloneError("INVALID_CONFIG", `lease of ${leaseMs} ms must be positive`);
  }

  get epoch(): number | null {
    return this.heldEpoch;
  }

  get expiresAt(): number {
    return this.until;
  }

  /** The epoch whose lease lapsed for want of acks and may still be regained, or null. */
  get lapsed(): number | null {
    return this.lapsedEpoch;
  }

  grant(epoch: number, claimSentAt: number): void {
    this.heldEpoch = epoch;
    this.lapsedEpoch = null;
    this.grantedAt = claimSentAt;
    this.until = claimSentAt + this.leaseMs;
  }

  onAck(view: ClusterView, heartbeatSentAt: number, now: number): LeaseAckResult {
    if (!this.holds(now) && this.lapsedEpoch !== null) return this.onAckWhileLapsed(view, heartbeatSentAt, now);
    if (this.heldEpoch === null || heartbeatSentAt <= this.grantedAt) return "ignored";
    if (view.activeBrokerId !== this.brokerId || view.epoch !== this.heldEpoch) {
      this.revoke();
      return "revoked";
    }
    this.until = Math.max(this.until, heartbeatSentAt + this.leaseMs);
    return "renewed";
  }

  /** Whether the broker may still act as the active one at `now`. */
  holds(now: number): boolean {
    if (this.heldEpoch !== null && now >= this.until) {
      this.lapsedEpoch = this.heldEpoch;
      this.heldEpoch = null;
    }
    return this.heldEpoch !== null;
  }

  revoke(): void {
    this.heldEpoch = null;
    this.lapsedEpoch = null;
  }

  private onAckWhileLapsed(view: ClusterView, heartbeatSentAt: number, now: number): LeaseAckResult {
    if (heartbeatSentAt <= this.grantedAt) return "ignored";
    if (view.activeBrokerId !== this.brokerId || view.epoch !== this.lapsedEpoch) {
      this.revoke();
      return "revoked";
    }
    // The zookeeper cannot declare this broker dead before heartbeatSentAt + its session timeout.
    if (heartbeatSentAt + this.leaseMs <= now) return "ignored";
    this.heldEpoch = this.lapsedEpoch;
    this.lapsedEpoch = null;
    this.until = heartbeatSentAt + this.leaseMs;
    return "regained";
  }
}
