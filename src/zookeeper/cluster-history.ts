/**
 * What the zookeeper remembers of the cluster's past, from its registry's
 * events: elections asked for, changes of active broker, and how long the
 * cluster went without one at the latest failover.
 */
import type { ZkFailover } from "../protocol/api";
import type { RegistryEvent } from "./registry";

export interface FailoverRecord extends Omit<ZkFailover, "agoMs"> {
  at: number;
}

export class ClusterHistory {
  elections = 0;
  leaderChanges = 0;
  lastFailover: FailoverRecord | null = null;
  private lost: { id: number; at: number } | null = null;

  constructor(private readonly onFailover: (failover: FailoverRecord) => void = () => {}) {}

  /** `now` is the monotonic time the events were collected at. */
  observe(events: readonly RegistryEvent[], now: number): void {
    for (const event of events) {
      if (event.type === "election-needed") this.elections++;
      else if (event.type === "active-lost") this.lost = { id: event.id, at: now };
      else if (event.type === "active-changed") {
        this.leaderChanges++;
        if (this.lost === null) continue;
        this.lastFailover = { fromBrokerId: this.lost.id, toBrokerId: event.id, epoch: event.epoch, leaderlessMs: Math.round(now - this.lost.at), at: now };
        this.lost = null;
        this.onFailover(this.lastFailover);
      }
    }
  }

  failover(now: number): ZkFailover | null {
    if (this.lastFailover === null) return null;
    const { at, ...rest } = this.lastFailover;
    return { ...rest, agoMs: Math.round(now - at) };
  }
}
