/**
 * The seeded fault schedule: which faults, in which order, held how long,
 * with how long a quiet spell before each. Victims are chosen when a fault
 * runs ("the active broker" is whoever the zookeeper names then), so a seed
 * replays the same sequence of faults with the same parameters.
 */
import { Random } from "./random";

export type FaultKind =
  /** kill -9 of the active broker; it restarts (as a standby) after holdMs. */
  | "kill-active"
  /** SIGSTOP of the active broker for longer than the session timeout: another takes over, then SIGCONT. */
  | "pause-active-long"
  /** SIGSTOP of the active broker for less than the session timeout, then SIGCONT. */
  | "pause-active-short"
  /** kill -9 of the zookeeper; a new one on the same port after holdMs. */
  | "restart-zookeeper"
  /** SIGSTOP of the zookeeper for holdMs, then SIGCONT. */
  | "pause-zookeeper"
  /** kill -9 of the active broker, then of its successor as soon as the zookeeper names it (after brokerHoldMs); both restart after holdMs. */
  | "kill-active-twice"
  /** One broker (any role) stopped with `signal`, restarted after holdMs. */
  | "restart-broker"
  /** One broker (any role) paused for holdMs. */
  | "pause-broker"
  /** The zookeeper killed or paused (zookeeperSignal), then the active broker killed or paused (signal); the zookeeper back after holdMs, the broker brokerHoldMs later. */
  | "zookeeper-and-active"
  /** Network (namespaces only): the active broker's link to the zookeeper cut (both ways, silently) for holdMs. */
  | "partition-active"
  /** Network: the active broker cut off from everyone (zookeeper, clients, other brokers) for holdMs. */
  | "isolate-active"
  /** Network: one broker (any role) cut off from the zookeeper for holdMs. */
  | "partition-broker";

export interface Fault {
  index: number;
  kind: FaultKind;
  /** Quiet time before the fault, after the cluster recovered from the previous one. */
  gapMs: number;
  holdMs: number;
  /** restart-broker: which broker, and how it is stopped. */
  brokerId?: number;
  signal?: "SIGKILL" | "SIGTERM" | "SIGSTOP";
  zookeeperSignal?: "SIGKILL" | "SIGSTOP";
  /** zookeeper-and-active: how long the active broker stays down or paused, from the zookeeper's return. */
  brokerHoldMs?: number;
  /** The next fault follows without waiting for the cluster to recover from this one (only for its quiet spell). */
  overlap: boolean;
}

const WEIGHTS: readonly (readonly [FaultKind, number])[] = [
  ["kill-active", 3],
  ["pause-active-long", 3],
  ["pause-active-short", 2],
  ["restart-zookeeper", 2],
  ["pause-zookeeper", 1],
  ["restart-broker", 2],
  ["pause-broker", 1],
  ["kill-active-twice", 1],
  ["zookeeper-and-active", 2],
];
const NETWORK_WEIGHTS: readonly (readonly [FaultKind, number])[] = [
  ["partition-active", 3],
  ["isolate-active", 2],
  ["partition-broker", 1],
];

/**
 * `count` faults from `seed`, for a cluster of `brokerIds` whose zookeeper
 * declares a broker dead after `sessionTimeoutMs`; with `network`, network
 * partitions too (a seed replays only in the same mode).
 */
export function faultSchedule(seed: number, count: number, brokerIds: readonly number[], sessionTimeoutMs: number, network = false): Fault[] {
  const random = new Random(seed);
  const faults: Fault[] = [];
  const weights = network ? [...WEIGHTS, ...NETWORK_WEIGHTS] : WEIGHTS;
  for (let index = 1; index <= count; index++) {
    const kind = random.weighted(weights);
    const gapMs = random.int(300, 2500);
    const fault: Fault = { index, kind, gapMs, holdMs: 0, overlap: false };
    switch (kind) {
      case "kill-active":
        fault.holdMs = random.int(100, 3000);
        break;
      case "pause-active-long":
        fault.holdMs = random.int(sessionTimeoutMs + 1, sessionTimeoutMs * 6);
        break;
      case "pause-active-short":
        fault.holdMs = random.int(Math.round(sessionTimeoutMs * 0.1), sessionTimeoutMs - 1);
        break;
      case "restart-zookeeper":
        fault.holdMs = random.int(50, 3000);
        break;
      case "pause-zookeeper":
        fault.holdMs = random.int(Math.round(sessionTimeoutMs * 0.2), sessionTimeoutMs * 6);
        break;
      case "pause-broker":
        fault.brokerId = random.pick(brokerIds);
        fault.holdMs = random.int(Math.round(sessionTimeoutMs * 0.1), sessionTimeoutMs * 6);
        break;
      case "kill-active-twice":
        fault.brokerHoldMs = random.int(0, 500);
        fault.holdMs = random.int(100, 2000);
        break;
      case "restart-broker":
        fault.brokerId = random.pick(brokerIds);
        fault.signal = random.pick(["SIGKILL", "SIGTERM"] as const);
        fault.holdMs = random.int(100, 2000);
        break;
      case "partition-active":
      case "isolate-active":
        fault.holdMs = random.int(Math.round(sessionTimeoutMs * 0.2), sessionTimeoutMs * 6);
        break;
      case "partition-broker":
        fault.brokerId = random.pick(brokerIds);
        fault.holdMs = random.int(Math.round(sessionTimeoutMs * 0.2), sessionTimeoutMs * 6);
        break;
      case "zookeeper-and-active":
        fault.zookeeperSignal = random.pick(["SIGKILL", "SIGSTOP"] as const);
        fault.signal = random.pick(["SIGKILL", "SIGSTOP"] as const);
        fault.holdMs = random.int(100, 2500);
        fault.brokerHoldMs = random.int(0, sessionTimeoutMs * 4);
        break;
    }
    fault.overlap = random.next() < 0.25;
    faults.push(fault);
  }
  return faults;
}

export function describeFault(fault: Fault): string {
  return describeKind(fault) + (fault.overlap ? " (next fault without waiting for recovery)" : "");
}

function describeKind(fault: Fault): string {
  switch (fault.kind) {
    case "restart-broker":
      return `#${fault.index} after ${fault.gapMs} ms: ${fault.signal} broker ${fault.brokerId}, restart after ${fault.holdMs} ms`;
    case "pause-broker":
      return `#${fault.index} after ${fault.gapMs} ms: SIGSTOP broker ${fault.brokerId} for ${fault.holdMs} ms`;
    case "partition-broker":
      return `#${fault.index} after ${fault.gapMs} ms: broker ${fault.brokerId} cut off from the zookeeper for ${fault.holdMs} ms`;
    case "zookeeper-and-active":
      return `#${fault.index} after ${fault.gapMs} ms: ${fault.zookeeperSignal} the zookeeper, ${fault.signal} the active broker; zookeeper back after ${fault.holdMs} ms, broker ${fault.brokerHoldMs} ms later`;
    case "kill-active-twice":
      return `#${fault.index} after ${fault.gapMs} ms: kill -9 the active broker, then its successor ${fault.brokerHoldMs} ms after it is named; both back after ${fault.holdMs} ms`;
    default:
      return `#${fault.index} after ${fault.gapMs} ms: ${fault.kind} for ${fault.holdMs} ms`;
  }
}
