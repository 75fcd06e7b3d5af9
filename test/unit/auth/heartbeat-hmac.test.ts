import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { ClusterSecret } from "../../../src/auth/cluster-secret";
import { heartbeatHmac } from "../../../src/auth/heartbeat-hmac";
import { ServerAuth } from "../../../src/auth/server-auth";
import { KafkaCloneError } from "../../../src/errors";
import type { DecodedDatagram, Heartbeat } from "../../../src/protocol/heartbeat-codec";
import { openDatagram, openHeartbeat, sealHeartbeat, sealHeartbeatChallenge } from "../../../src/zookeeper/heartbeat-checksum";
import { HeartbeatSender } from "../../../src/zookeeper/heartbeat-sender";
import { ZookeeperServer } from "../../../src/zookeeper/zookeeper-server";

const SECRET = ClusterSecret.fromText("heartbeat secret of the test cluster", "test");
const HMAC = heartbeatHmac(SECRET);
const identity = { brokerId: 3, incarnation: 1234, startedAtMs: 1000, clientHost: "127.0.0.1", clientPort: 9092, electionHost: "127.0.0.1", electionPort: 9093 };
const status = { role: "standby", epoch: 0, term: 0 } as const;
const heartbeat = (seq: number, zk?: number): Heartbeat => ({ ...identity, seq, ...status, ...(zk === undefined ? {} : { zk }) });

function codeOf(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return (error as KafkaCloneError).code;
  }
}

describe("heartbeat HMAC", () => {
  test("an HMAC-sealed heartbeat opens with the secret and only with it", () => {
    const sealed = sealHeartbeat(heartbeat(1), HMAC);
    expect(openHeartbeat(sealed, HMAC)).toEqual(heartbeat(1));
    expect(codeOf(() => openHeartbeat(sealed, heartbeatHmac(ClusterSecret.fromText("another secret, same length!", "t"))))).toBe("AUTHENTICATION_FAILED");
    expect(codeOf(() => openHeartbeat(sealHeartbeat(heartbeat(1)), HMAC))).toBe("AUTHENTICATION_FAILED"); // a CRC from a broker without the secret
    expect(codeOf(() => openHeartbeat(sealed))).toBe("INVALID_REQUEST"); // and an HMAC is no CRC
    for (let bit = 0; bit < sealed.length * 8; bit += 3) {
      const flipped = Uint8Array.from(sealed);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(codeOf(() => openHeartbeat(flipped, HMAC))).not.toBeNull();
    }
  });

  test("the sender binds to the zookeeper a fresh challenge names, and ignores replayed or foreign ones", () => {
    const sender = new HeartbeatSender(identity, 64, true);
    expect(sender.next(1, status).zk).toBe(0);
    const challenge = { zkIncarnation: 77, brokerId: 3, incarnation: 1234, seq: 1 };
    expect(sender.onChallenge({ ...challenge, incarnation: 9 })).toBe(false); // another incarnation of this broker
    expect(sender.onChallenge({ ...challenge, seq: 5 })).toBe(false); // a heartbeat never sent
    expect(sender.onChallenge(challenge)).toBe(true);
    expect(sender.next(2, status).zk).toBe(77);
    expect(sender.onChallenge({ ...challenge, zkIncarnation: 66 })).toBe(false); // replayed seq
    expect(sender.onChallenge({ ...challenge, seq: 2, zkIncarnation: 88 })).toBe(true); // the zookeeper restarted
    expect(sender.next(3, status).zk).toBe(88);
    // Without a secret nothing binds and heartbeats look as they always did.
    const plain = new HeartbeatSender(identity);
    plain.next(1, status);
    expect(plain.onChallenge(challenge)).toBe(false);
    expect("zk" in plain.next(2, status)).toBe(false);
  });
});

describe("a zookeeper with a secret", () => {
  const running: ZookeeperServer[] = [];
  let socket: udp.Socket<"uint8array"> | null = null;
  const received: DecodedDatagram[] = [];
  afterEach(() => {
    for (const zk of running.splice(0)) zk.stop();
    socket?.close();
    socket = null;
    received.length = 0;
  });

  async function start(port = 0): Promise<ZookeeperServer> {
    const zk = new ZookeeperServer({ host: "127.0.0.1", port, sessionTimeoutMs: 60_000, auth: new ServerAuth(SECRET) });
    await zk.start();
    running.push(zk);
    socket ??= await Bun.udpSocket({ hostname: "127.0.0.1", binaryType: "uint8array", socket: { data: (_s, data) => void received.push(openDatagram(data, HMAC)) } });
    return zk;
  }

  async function exchange(zk: ZookeeperServer, datagram: Uint8Array): Promise<DecodedDatagram | null> {
    const before = received.length;
    socket!.send(datagram, zk.port, "127.0.0.1");
    const deadline = performance.now() + 300; // a dropped datagram gets no answer: wait a little for none
    while (received.length === before && performance.now() < deadline) await Bun.sleep(5);
    return received[before] ?? null;
  }

  const registered = (zk: ZookeeperServer) => zk.status().brokers.map((b) => b.id);

  test("registers a broker only from heartbeats bound to itself; replays refresh nothing, even after a restart", async () => {
    const zk = await start();
    // Unbound: a challenge naming this zookeeper, and no registration.
    const challenge = await exchange(zk, sealHeartbeat(heartbeat(1), HMAC));
    expect(challenge?.kind).toBe("challenge");
    expect(registered(zk)).toEqual([]);
    const zkIncarnation = (challenge!.message as { zkIncarnation: number }).zkIncarnation;
    expect(zk.status().zkIncarnation).toBe(zkIncarnation);
    // Bound: accepted and acked.
    const bound = sealHeartbeat(heartbeat(2, zkIncarnation), HMAC);
    expect((await exchange(zk, bound))?.kind).toBe("ack");
    expect(registered(zk)).toEqual([3]);
    const acceptedBefore = zk.status().counters.heartbeatsAccepted!;
    // The same datagram again: stale, no ack, nothing refreshed.
    expect(await exchange(zk, bound)).toBeNull();
    expect(zk.status().counters.heartbeatsAccepted).toBe(acceptedBefore);
    // Forged (no secret, another secret): dropped.
    expect(await exchange(zk, sealHeartbeat(heartbeat(9, zkIncarnation)))).toBeNull();
    expect(await exchange(zk, sealHeartbeat({ ...heartbeat(10, zkIncarnation), brokerId: 4 }, heartbeatHmac(ClusterSecret.fromText("not the cluster's secret...", "t"))))).toBeNull();
    expect(registered(zk)).toEqual([3]);

    // A new zookeeper on the same port (a restart): the recorded heartbeat is challenged, never registered.
    const port = zk.port;
    zk.stop();
    const restarted = await start(port);
    const answer = await exchange(restarted, bound);
    expect(answer?.kind).toBe("challenge");
    expect(registered(restarted)).toEqual([]);
    expect(restarted.status().counters.challengedHeartbeats).toBe(1);
  });

  test("a challenge is HMAC-sealed too: a broker without the secret cannot open it", () => {
    const sealed = sealHeartbeatChallenge({ zkIncarnation: 1, brokerId: 3, incarnation: 1234, seq: 1 }, HMAC);
    expect(openDatagram(sealed, HMAC).kind).toBe("challenge");
    expect(codeOf(() => openDatagram(sealed))).toBe("INVALID_REQUEST");
  });
});
