/**
 * The broker's side of the heartbeat protocol, pure: numbers heartbeats,
 * remembers when each recent one was sent, and accepts only acks that answer
 * one of them, in order. An ack reordered behind a newer one carries an older
 * view and is dropped.
 *
 * The send time of the acknowledged heartbeat (not the ack's arrival time) is
 * what renews the leader lease: the zookeeper refreshed this broker's liveness
 * no earlier than that instant.
 */
import type {
  BrokerAddresses,
  BrokerRole,
  ClusterView,
  Heartbeat,
  HeartbeatAck,
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

  constructor(
    readonly identity: BrokerIdentity,
    private readonly maxOutstanding = 64,
  ) {}

  next(now: number, status: BrokerStatus): Heartbeat {
    this.seq++;
    this.sentAt.set(this.seq, now);
    if (this.sentAt.size > this.maxOutstanding) this.sentAt.delete(this.sentAt.keys().next().value!);
    return { ...this.identity, seq: this.seq, ...status };
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
