/** Messages between the broker's main thread and its zookeeper-session worker. */
import type { BrokerStatus, BrokerIdentity } from "../zookeeper/heartbeat-sender";
import type { ClusterView } from "../protocol/heartbeat-codec";

export type ToZkSession =
  | {
      type: "init";
      zookeeper: { host: string; port: number };
      identity: BrokerIdentity;
      heartbeatIntervalMs: number;
      /** Int32Array view: [0] = the epoch whose lease is held right now, 0 when none. */
      lease: SharedArrayBuffer;
    }
  | ({ type: "status" } & BrokerStatus)
  | { type: "claim"; requestId: number; epoch: number }
  | { type: "revoke" }
  | { type: "stop" };

export type FromZkSession =
  | { type: "connected"; sessionTimeoutMs: number; leaseMs: number }
  | { type: "view"; view: ClusterView; zkRestarted: boolean }
  | { type: "claim-result"; requestId: number; accepted: boolean; epoch: number; reason?: string; view?: ClusterView }
  | { type: "lease-lost"; epoch: number; reason: string }
  | { type: "log"; level: "info" | "warn"; message: string; fields?: Record<string, unknown> };

export const LEASE_EPOCH_SLOT = 0;
