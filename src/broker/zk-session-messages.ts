/** Messages between the broker's main thread and its zookeeper-session worker. */
import type { BrokerStatus, BrokerIdentity } from "../zookeeper/heartbeat-sender";
import type { ClusterView } from "../protocol/heartbeat-codec";

export type ToZkSession =
  | {
      type: "init";
      zookeeper: { host: string; port: number };
      identity: BrokerIdentity;
      heartbeatIntervalMs: number;
      /** The held epoch and its expiry, for the main thread (see shared-lease.ts). */
      lease: SharedArrayBuffer;
      /** The cluster secret's bytes, when the cluster uses one (heartbeat HMACs, the zookeeper handshake). */
      secret?: Uint8Array;
    }
  | ({ type: "status" } & BrokerStatus)
  /** The main thread checked the data directory: a regained lease may be published. */
  | { type: "confirm-regained"; epoch: number }
  /** A clock ping: the worker answers with its own clock reading. */
  | { type: "clock"; sentAt: number }
  | { type: "claim"; requestId: number; epoch: number }
  | { type: "revoke" }
  | { type: "stop" };

export type FromZkSession =
  | { type: "connected"; sessionTimeoutMs: number; leaseMs: number }
  | { type: "view"; view: ClusterView; zkRestarted: boolean }
  | { type: "claim-result"; requestId: number; accepted: boolean; epoch: number; reason?: string; view?: ClusterView }
  /** The lease is gone for good: the zookeeper's view names someone else, or a newer epoch. */
  | { type: "lease-lost"; epoch: number; reason: string }
  /** No ack renewed the lease in time: nothing may be acknowledged, but the zookeeper may still confirm this broker. */
  | { type: "lease-lapsed"; epoch: number }
  /** After a lapse, the zookeeper's view names this broker active at the same epoch again. */
  | { type: "lease-regained"; epoch: number }
  | { type: "clock"; sentAt: number; workerNow: number }
  | { type: "log"; level: "info" | "warn"; message: string; fields?: Record<string, unknown> };
