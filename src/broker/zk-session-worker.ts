/**
 * The broker's zookeeper session, on its own thread so a busy event loop
 * never delays a heartbeat: UDP heartbeats out, acks in, epoch claims over
 * TCP, and the leader lease. Clocks of different threads do not share an
 * origin, so every lease time is taken on this thread; the main thread only
 * reads the held epoch from shared memory.
 *
 * With a cluster secret, heartbeats carry an HMAC and are bound to the
 * zookeeper's incarnation (a challenge names it; see
 * src/auth/heartbeat-hmac.ts), and the TCP connection authenticates first.
 */
import type { udp } from "bun";
import { ClusterSecret } from "../auth/cluster-secret";
import { type Credentials, clusterCredentials } from "../auth/credentials";
import { heartbeatHmac } from "../auth/heartbeat-hmac";
import { handshakeWith } from "../auth/secure-connect";
import { asKafkaCloneError } from "../errors";
import { LeaderLease, defaultLeaseMs } from "../election/leader-lease";
import { RpcConnection } from "../net/rpc-connection";
import { ZK_API, type ZkClaimResponse, type ZkViewResponse } from "../protocol/api";
import { CRC_TAGGER, type DatagramTagger, openDatagram, sealHeartbeat } from "../zookeeper/heartbeat-checksum";
import { HeartbeatSender, type BrokerStatus } from "../zookeeper/heartbeat-sender";
import { MainThreadWatch } from "./main-thread-watch";
import { publishLease } from "./shared-lease";
import type { FromZkSession, ToZkSession } from "./zk-session-messages";

declare const self: Worker;

const mainThread = new MainThreadWatch(performance.now());

const LEASE_CHECK_MS = 5;
const post = (message: FromZkSession) => self.postMessage(message);

let init: Extract<ToZkSession, { type: "init" }> | null = null;
let sender: HeartbeatSender | null = null;
let lease: LeaderLease | null = null;
let leaseBuffer: SharedArrayBuffer | null = null;
/** The epoch already reported as lapsed, so a lapse is reported once. */
let reportedLapse: number | null = null;
/** A regained epoch not published until the main thread confirmed it (it checks the data directory's epoch). */
let unconfirmed: number | null = null;
let status: BrokerStatus = { role: "standby", epoch: 0, term: 0 };
let rpc: RpcConnection | null = null;
let udpSocket: udp.Socket<"buffer"> | null = null;
let tagger: DatagramTagger = CRC_TAGGER;
let credentials: Credentials | undefined;
let markConnected: () => void = () => {};
/** Claims wait for this: the lease needs the zookeeper's session timeout first. */
const connected = new Promise<void>((resolve) => (markConnected = resolve));
const timers: ReturnType<typeof setInterval>[] = [];

self.onmessage = (event: MessageEvent<ToZkSession>) => {
  const message = event.data;
  mainThread.heard(performance.now());
  switch (message.type) {
    case "init":
      void start(message);
      break;
    case "status":
      status = { role: message.role, epoch: message.epoch, term: message.term };
      break;
    case "claim":
      void claim(message.requestId, message.epoch);
      break;
    case "revoke":
      lease?.revoke();
      unconfirmed = null;
      publish();
      break;
    case "confirm-regained":
      if (unconfirmed === message.epoch) unconfirmed = null;
      publish();
      break;
    case "clock":
      post({ type: "clock", sentAt: message.sentAt, workerNow: performance.now() });
      break;
    case "stop":
      for (const timer of timers) clearInterval(timer);
      udpSocket?.close();
      rpc?.close();
      process.exit(0);
  }
};

async function start(message: Extract<ToZkSession, { type: "init" }>): Promise<void> {
  init = message;
  if (message.secret) {
    const secret = ClusterSecret.fromWorkerExport(message.secret);
    tagger = heartbeatHmac(secret);
    credentials = clusterCredentials(secret);
  }
  sender = new HeartbeatSender(message.identity, 64, message.secret !== undefined);
  leaseBuffer = message.lease;
  udpSocket = await Bun.udpSocket({
    socket: {
      data: (_socket, data) => onAck(data),
      // ECONNREFUSED (ICMP port unreachable) while the zookeeper is down or restarting: keep heartbeating.
      error: (...args: unknown[]) => noteSendError(args.find((arg) => arg instanceof Error)),
    },
  });
  timers.push(setInterval(sendHeartbeat, message.heartbeatIntervalMs));
  timers.push(setInterval(checkLease, LEASE_CHECK_MS));
  sendHeartbeat();
  for (;;) {
    try {
      const { body } = await zookeeper().then((zk) => zk.request(ZK_API.view, {}, [], 2000));
      const sessionTimeoutMs = (body as ZkViewResponse).sessionTimeoutMs;
      const leaseMs = defaultLeaseMs(sessionTimeoutMs);
      lease = new LeaderLease(message.identity.brokerId, leaseMs);
      post({ type: "connected", sessionTimeoutMs, leaseMs });
      markConnected();
      return;
    } catch (error) {
      noteZookeeperError(error);
      await Bun.sleep(100);
    }
  }
}

let zookeeperErrors = 0;

/** Why the zookeeper's TCP port does not answer, logged now and then (a wrong cluster secret shows up here). */
function noteZookeeperError(error: unknown): void {
  if (zookeeperErrors++ % 50 !== 0) return;
  const failure = asKafkaCloneError(error);
  const level = failure.code === "AUTHENTICATION_FAILED" ? "warn" : "info";
  post({ type: "log", level, message: "cannot reach the zookeeper yet", fields: { error: failure.describe(), attempts: zookeeperErrors } });
}

function sendHeartbeat(): void {
  if (!init || !sender || !udpSocket) return;
  const { mayHeartbeat, change } = mainThread.check(performance.now());
  if (change === "withheld") {
    post({ type: "log", level: "warn", message: "the main thread has not answered for seconds: withholding heartbeats so another broker can take over" });
  } else if (change === "resumed") {
    post({ type: "log", level: "info", message: "the main thread answers again: heartbeats resumed" });
  }
  if (!mayHeartbeat) return;
  const heartbeat = sender.next(performance.now(), status);
  try {
    udpSocket.send(sealHeartbeat(heartbeat, tagger), init.zookeeper.port, init.zookeeper.host);
  } catch (error) {
    noteSendError(error);
  }
}

let sendErrors = 0;

/** Heartbeats are best effort; errors are counted and logged now and then, never fatal. */
function noteSendError(error: unknown): void {
  if (sendErrors++ % 100 === 0) {
    const reason = error instanceof Error ? error.message : String(error);
    post({ type: "log", level: "warn", message: "heartbeat socket error (is the zookeeper running?)", fields: { error: reason, total: sendErrors } });
  }
}

function onAck(data: Uint8Array): void {
  let accepted;
  try {
    const datagram = openDatagram(data, tagger);
    if (datagram.kind === "challenge") {
      // A zookeeper we are not bound to yet (it started or restarted): bind, and heartbeat at once.
      if (sender?.onChallenge(datagram.message)) sendHeartbeat();
      return;
    }
    if (datagram.kind !== "ack") return;
    accepted = sender?.onAck(datagram.message);
  } catch {
    return;
  }
  if (!accepted) return;
  if (lease) {
    const before = lease.epoch ?? lease.lapsed;
    const outcome = lease.onAck(accepted.view, accepted.heartbeatSentAt, performance.now());
    if (outcome === "revoked" && before !== null) {
      post({ type: "lease-lost", epoch: before, reason: "the zookeeper's view no longer names this broker active" });
    } else if (outcome === "regained") {
      reportedLapse = null;
      unconfirmed = lease.epoch;
      post({ type: "lease-regained", epoch: lease.epoch! });
    }
    publish();
  }
  post({ type: "view", view: accepted.view, zkRestarted: accepted.zkRestarted });
}

function checkLease(): void {
  if (!lease) return;
  lease.holds(performance.now());
  const lapsed = lease.lapsed;
  if (lapsed !== null && reportedLapse !== lapsed) {
    reportedLapse = lapsed;
    post({ type: "lease-lapsed", epoch: lapsed });
  }
  publish();
}

function publish(): void {
  if (!leaseBuffer) return;
  const epoch = lease?.epoch ?? null;
  publishLease(leaseBuffer, epoch !== null && epoch !== unconfirmed ? epoch : null, lease?.expiresAt ?? 0);
}

async function claim(requestId: number, epoch: number): Promise<void> {
  await connected;
  const sentAt = performance.now();
  try {
    const zk = await zookeeper();
    const { body } = await zk.request(ZK_API.claim, { brokerId: init!.identity.brokerId, epoch }, [], 1000);
    const result = body as ZkClaimResponse;
    if (result.accepted) {
      lease!.grant(epoch, sentAt);
      reportedLapse = null;
      unconfirmed = null;
      publish();
    }
    post({ type: "claim-result", requestId, accepted: result.accepted, epoch, reason: result.reason, view: result.view });
  } catch (error) {
    post({ type: "claim-result", requestId, accepted: false, epoch, reason: (error as Error).message });
  }
}

async function zookeeper(): Promise<RpcConnection> {
  if (rpc && !rpc.isClosed) return rpc;
  rpc = await RpcConnection.connect({
    host: init!.zookeeper.host,
    port: init!.zookeeper.port,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    secure: handshakeWith(credentials, 2000),
  });
  return rpc;
}
