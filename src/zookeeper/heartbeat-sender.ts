/**
 * The broker's side of the heartbeat protocol, pure: numbers heartbeats,
 * remembers when each recent one was sent, and accepts only acks that answer
 * one of them, in order. An ack reordered behind a newer one carries an older
 * view and is dropped.
 *
 * The send time of the acknowledged heartbeat (not the ack's arrival time) is
 * what renews the leader lease: the zookeeper refreshed this broker's liveness
 * no earlier than that instant.
 *
 * With a cluster secret heartbeats are bound to a zookeeper incarnation (see
 * src/auth/heartbeat-hmac.ts): a challenge answering one of the recent
 * heartbeats, newer than the last challenge, names the incarnation to use.
 */
import type {
  BrokerAddresses,
  BrokerRole,
  ClusterView,
  Heartbeat,
  HeartbeatAck,
  HeartbeatChallenge,
} from "../protocol/heartbeat-codec";

export interface BrokerIdentity extends BrokerAddresses {
  brokerId: number;
  incarnation: number;
  startedAtMs: number;
}

export interface BrokerStatus {
  role: BrokerRole;
  epoch: number;
  term: number;
}

export interface AcceptedAck {
  view: ClusterView;
  /** monotonic time at which the acknowledged heartbeat was sent */
  heartbeatSentAt: number;
  zkIncarnation: number;
  /** the ack comes from a different zookeeper process than the previous one */
  zkRestarted: boolean;
}

/** A random non-negative 53-bit integer, chosen once per process start. */
export function randomIncarnation(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0]! & 0x1f_ffff) * 2 ** 32 + words[1]!;
}

export class HeartbeatSender {
  private seq = 0;
  private lastAckedSeq = 0;
  private zkIncarnation: number | null = null;
  private readonly sentAt = new Map<number, number>();
  /** The zookeeper incarnation heartbeats are meant for (0 = none yet); used only when binding. */
  private zkBinding = 0;
  private lastChallengedSeq = 0;

  constructor(
    readonly identity: BrokerIdentity,
    private readonly maxOutstanding = 64,
    /** Bind heartbeats to a zookeeper incarnation (a cluster with a secret). */
    private readonly bindToZookeeper = false,
  ) {}

  next(now: number, status: BrokerStatus): Heartbeat {
    this.seq++;
    this.sentAt.set(this.seq, now);
    if (this.sentAt.size > this.maxOutstanding) this.sentAt.delete(this.sentAt.keys().next().value!);
    return { ...this.identity, seq: this.seq, ...status, ...(this.bindToZookeeper ? { zk: this.zkBinding } : {}) };
  }

  /**
   * A challenge for one of this incarnation's recent heartbeats, newer than
   * the previous one: bind to its zookeeper. True when the binding changed
   * (send a heartbeat now rather than at the next interval).
   */
  onChallenge(challenge: HeartbeatChallenge): boolean {
    if (!this.bindToZookeeper) return false;
    if (challenge.brokerId !== this.identity.brokerId || challenge.incarnation !== this.identity.incarnation) return false;
    if (challenge.seq <= this.lastChallengedSeq || !this.sentAt.has(challenge.seq)) return false;
    this.lastChallengedSeq = challenge.seq;
    if (challenge.zkIncarnation === this.zkBinding) return false;
    this.zkBinding = challenge.zkIncarnation;
    return true;
  }

  /** Returns null for an ack that is not for this incarnation, unknown, or older than one already accepted. */
  onAck(ack: HeartbeatAck): AcceptedAck | null {
    if (ack.brokerId !== this.identity.brokerId || ack.incarnation !== this.identity.incarnation) return null;
    if (ack.seq <= this.lastAckedSeq) return null;
    const heartbeatSentAt = this.sentAt.get(ack.seq);
    if (heartbeatSentAt === undefined) return null;
    this.lastAckedSeq = ack.seq;
    for (const seq of this.sentAt.keys()) {
      if (seq > ack.seq) break;
      this.sentAt.delete(seq);
    }
    const zkRestarted = this.zkIncarnation !== null && this.zkIncarnation !== ack.zkIncarnation;
    this.zkIncarnation = ack.zkIncarnation;
    return { view: ack.view, heartbeatSentAt, zkIncarnation: ack.zkIncarnation, zkRestarted };
  }
}
