/**
 * A man in the middle between one broker and the zookeeper, for tests. The
 * broker is pointed at the proxy's port (`--zookeeper 127.0.0.1:<proxy>`) and
 * uses it for both of its zookeeper channels, so the proxy listens on one port
 * number for both:
 *   - UDP: heartbeats broker → zookeeper and acks zookeeper → broker pass
 *     through one socket, mangled as the current `faults` say;
 *   - TCP: the view/claim connections are piped through untouched.
 * Every genuine datagram is kept, so old ones can be replayed later.
 */
import type { Socket, TCPSocketListener, udp } from "bun";

export interface Faults {
  /** Forward genuine datagrams at all (false: the broker seems gone, though replays may go on). */
  forward: boolean;
  /** Extra copies of each genuine datagram. */
  duplicates: number;
  /** Hold each genuine datagram back and send it after the next one (pairs swap places). */
  reorder: boolean;
  /** Old datagrams of the same direction sent along with each genuine one. */
  replays: number;
  /** Corrupted copies sent along with each genuine one: one bit flipped (walking through the datagram), truncated, or junk. */
  garbled: number;
}

export const CLEAN: Faults = { forward: true, duplicates: 0, reorder: false, replays: 0, garbled: 0 };

interface Direction {
  sent: number;
  history: Uint8Array[];
  held: Uint8Array | null;
  flipAt: number;
}

interface Pipe {
  peer: Socket<Pipe> | null;
  pending: Uint8Array[];
  closed: boolean;
}

export class HeartbeatProxy {
  heartbeatFaults: Faults = { ...CLEAN };
  ackFaults: Faults = { ...CLEAN };
  private brokerAddress: { port: number; address: string } | null = null;
  private readonly toZk: Direction = { sent: 0, history: [], held: null, flipAt: 0 };
  private readonly toBroker: Direction = { sent: 0, history: [], held: null, flipAt: 0 };
  private replayTimer: ReturnType<typeof setInterval> | null = null;
  readonly counts = { heartbeatsIn: 0, acksIn: 0, heartbeatsOut: 0, acksOut: 0, garbledOut: 0, replayedOut: 0 };

  private constructor(
    private readonly zookeeper: { host: string; port: number },
    private readonly udpSocket: udp.Socket<"uint8array">,
    private readonly tcp: TCPSocketListener<Pipe>,
  ) {}

  get port(): number {
    return this.udpSocket.port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(zookeeper: { host: string; port: number }): Promise<HeartbeatProxy> {
    for (let attempt = 0; attempt < 20; attempt++) {
      let proxy: HeartbeatProxy | null = null;
      const udpSocket = await Bun.udpSocket({
        hostname: "127.0.0.1",
        binaryType: "uint8array",
        socket: {
          data: (_s, data, port, address) => proxy?.onDatagram(new Uint8Array(data), port, address),
          // ECONNREFUSED once the broker behind it is gone: expected.
          error: () => {},
        },
      });
      let tcp: TCPSocketListener<Pipe>;
      try {
        tcp = Bun.listen<Pipe>({
          hostname: "127.0.0.1",
          port: udpSocket.port,
          socket: {
            open: (socket) => proxy!.onTcpOpen(socket),
            data: (socket, data) => forwardTcp(socket.data.peer, socket.data, data),
            drain: (socket) => flushTcp(socket, socket.data),
            close: (socket) => closePipe(socket.data),
            error: (socket) => closePipe(socket.data),
          },
        });
      } catch {
        udpSocket.close();
        continue;
      }
      proxy = new HeartbeatProxy(zookeeper, udpSocket, tcp);
      return proxy;
    }
    throw new Error("no port free for both UDP and TCP");
  }

  /** While set, old heartbeats are also replayed to the zookeeper every `everyMs`, broker or no broker. */
  replayContinuously(everyMs: number, perTick: number): void {
    this.stopReplaying();
    this.replayTimer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.sendOld(this.toZk, this.zookeeper.port, this.zookeeper.host);
      for (let i = 0; i < perTick; i++) this.sendGarbled(this.toZk, this.pick(this.toZk), this.zookeeper.port, this.zookeeper.host);
    }, everyMs);
  }

  stopReplaying(): void {
    if (this.replayTimer) clearInterval(this.replayTimer);
    this.replayTimer = null;
  }

  stop(): void {
    this.stopReplaying();
    this.udpSocket.close();
    this.tcp.stop(true);
  }

  private onDatagram(data: Uint8Array, port: number, address: string): void {
    const fromZk = port === this.zookeeper.port && address === this.zookeeper.host;
    if (fromZk) {
      this.counts.acksIn++;
      if (this.brokerAddress) this.relay(this.toBroker, this.ackFaults, data, this.brokerAddress.port, this.brokerAddress.address);
      return;
    }
    this.counts.heartbeatsIn++;
    this.brokerAddress = { port, address };
    this.relay(this.toZk, this.heartbeatFaults, data, this.zookeeper.port, this.zookeeper.host);
  }

  private relay(direction: Direction, faults: Faults, data: Uint8Array, port: number, host: string): void {
    direction.history.push(data);
    if (direction.history.length > 200) direction.history.splice(0, 100);
    for (let i = 0; i < faults.replays; i++) this.sendOld(direction, port, host);
    for (let i = 0; i < faults.garbled; i++) this.sendGarbled(direction, data, port, host);
    if (!faults.forward) return;
    let outgoing = [data];
    if (faults.reorder) {
      if (direction.held === null) {
        direction.held = data;
        return;
      }
      outgoing = [data, direction.held];
      direction.held = null;
    }
    for (const datagram of outgoing) {
      for (let copy = 0; copy <= faults.duplicates; copy++) this.send(direction, datagram, port, host);
    }
  }

  private send(direction: Direction, datagram: Uint8Array, port: number, host: string): void {
    this.udpSocket.send(datagram, port, host);
    direction.sent++;
    if (direction === this.toZk) this.counts.heartbeatsOut++;
    else this.counts.acksOut++;
  }

  private pick(direction: Direction): Uint8Array {
    return direction.history[Math.floor(Math.random() * direction.history.length)] ?? new Uint8Array([0x4b, 0x48]);
  }

  private sendOld(direction: Direction, port: number, host: string): void {
    if (direction.history.length < 2) return;
    // Anything but the newest: it has already been sent (or is about to be).
    const old = direction.history[Math.floor(Math.random() * (direction.history.length - 1))]!;
    this.udpSocket.send(old, port, host);
    this.counts.replayedOut++;
  }

  private sendGarbled(direction: Direction, data: Uint8Array, port: number, host: string): void {
    const kind = direction.flipAt % 8;
    let garbled: Uint8Array;
    if (kind === 6) {
      garbled = data.subarray(0, Math.floor(Math.random() * data.length));
    } else if (kind === 7) {
      garbled = crypto.getRandomValues(new Uint8Array(1 + Math.floor(Math.random() * 200)));
    } else {
      // One bit flipped, walking through every bit of the datagram over time.
      garbled = data.slice();
      const bit = direction.flipAt % (garbled.length * 8);
      garbled[bit >> 3]! ^= 1 << (bit & 7);
    }
    direction.flipAt += 7;
    this.udpSocket.send(garbled, port, host);
    this.counts.garbledOut++;
  }

  private onTcpOpen(socket: Socket<Pipe>): void {
    const state: Pipe = { peer: null, pending: [], closed: false };
    socket.data = state;
    const back: Pipe = { peer: socket, pending: [], closed: false };
    void Bun.connect<Pipe>({
      hostname: this.zookeeper.host,
      port: this.zookeeper.port,
      data: back,
      socket: {
        open: (upstream) => {
          state.peer = upstream;
          for (const chunk of state.pending.splice(0)) forwardTcp(upstream, state, chunk);
        },
        data: (upstream, data) => forwardTcp(socket, upstream.data, data),
        drain: (upstream) => flushTcp(upstream, upstream.data),
        close: () => closePipe(back),
        error: () => closePipe(back),
      },
    }).catch(() => socket.end());
  }
}

const queued = new WeakMap<Socket<Pipe>, Uint8Array[]>();

function forwardTcp(to: Socket<Pipe> | null, from: Pipe, data: Uint8Array): void {
  if (to === null) {
    from.pending.push(data.slice());
    return;
  }
  const backlog = queued.get(to);
  if (backlog && backlog.length > 0) {
    backlog.push(data.slice());
    return;
  }
  const written = to.write(data);
  if (written < data.length) queued.set(to, [data.slice(Math.max(0, written))]);
}

function flushTcp(socket: Socket<Pipe>, _state: Pipe): void {
  const backlog = queued.get(socket);
  while (backlog && backlog.length > 0) {
    const chunk = backlog[0]!;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      backlog[0] = chunk.slice(Math.max(0, written));
      return;
    }
    backlog.shift();
  }
}

function closePipe(state: Pipe | undefined): void {
  if (!state || state.closed) return;
  state.closed = true;
  state.peer?.end();
}
