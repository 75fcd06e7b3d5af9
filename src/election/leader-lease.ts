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
 * - Expiry is sticky: once lapsed, the lease stays lost until a new grant.
 */
import { KafkaCloneError } from "../errors";
import type { ClusterView } from "../protocol/heartbeat-codec";

export type LeaseAckResult = "renewed" | "revoked" | "ignored";

/** 60% of the session timeout: two lost acks at a 100 ms interval still renew in time. */
export function defaultLeaseMs(sessionTimeoutMs: number): number {
  return Math.floor(sessionTimeoutMs * 0.6);
}

export class LeaderLease {
  private heldEpoch: number | null = null;
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

  grant(epoch: number, claimSentAt: number): void {
    this.heldEpoch = epoch;
    this.grantedAt = claimSentAt;
    this.until = claimSentAt + this.leaseMs;
  }

  onAck(view: ClusterView, heartbeatSentAt: number, now: number): LeaseAckResult {
    if (!this.holds(now) || heartbeatSentAt <= this.grantedAt) return "ignored";
    if (view.activeBrokerId !== this.brokerId || view.epoch !== this.heldEpoch) {
      this.revoke();
      return "revoked";
    }
    this.until = Math.max(this.until, heartbeatSentAt + this.leaseMs);
    return "renewed";
  }

  /** Whether the broker may still act as the active one at `now`. */
  holds(now: number): boolean {
    if (this.heldEpoch !== null && now >= this.until) this.revoke();
    return this.heldEpoch !== null;
  }

  revoke(): void {
    this.heldEpoch = null;
  }
}
