/**
 * The leader lease as the broker's main thread sees it: the zookeeper-session
 * worker publishes the held epoch and its expiry in shared memory, and the
 * main thread checks both before it writes or acknowledges anything.
 *
 * The expiry matters, not just the epoch: after a pause (SIGSTOP, a long GC,
 * a stalled VM) the main thread may run a request before the worker has run
 * at all, and the epoch slot then still says "held". The expiry is in the
 * worker's monotonic clock; each thread's performance.now() has its own
 * origin, so the main thread learns an upper bound of (worker clock − main
 * clock) from ping round trips and converts with it — erring towards an
 * earlier expiry, never a later one.
 *
 * Layout: Int32 [0] = held epoch (0 = none); BigInt64 at byte 8 = expiry in
 * microseconds of the worker's clock.
 */

export const SHARED_LEASE_BYTES = 16;

function slots(buffer: SharedArrayBuffer): { epoch: Int32Array; expiry: BigInt64Array } {
  return { epoch: new Int32Array(buffer, 0, 1), expiry: new BigInt64Array(buffer, 8, 1) };
}

/** Worker side: publish the held epoch (null = none) and when it expires, in the worker's clock. */
export function publishLease(buffer: SharedArrayBuffer, epoch: number | null, expiresAt: number): void {
  const { epoch: epochSlot, expiry } = slots(buffer);
  if (epoch === null) {
    Atomics.store(epochSlot, 0, 0);
    return;
  }
  // The expiry first: a reader that sees the new epoch also sees its expiry.
  Atomics.store(expiry, 0, BigInt(Math.floor(expiresAt * 1000)));
  Atomics.store(epochSlot, 0, epoch);
}

/** Main-thread side. */
export class SharedLease {
  readonly buffer = new SharedArrayBuffer(SHARED_LEASE_BYTES);
  private readonly epochSlot: Int32Array;
  private readonly expirySlot: BigInt64Array;
  /** An upper bound of (worker clock − main clock), in ms; null until the first ping came back. */
  private offset: number | null = null;

  constructor() {
    const { epoch, expiry } = slots(this.buffer);
    this.epochSlot = epoch;
    this.expirySlot = expiry;
  }

  /** A ping sent at main time `sentAt` was answered with the worker's clock reading `workerNow`. */
  calibrate(sentAt: number, workerNow: number): void {
    const bound = workerNow - sentAt;
    this.offset = this.offset === null ? bound : Math.min(this.offset, bound);
  }

  get calibrated(): boolean {
    return this.offset !== null;
  }

  /** The epoch whose lease the worker holds, or 0. */
  get epoch(): number {
    return Atomics.load(this.epochSlot, 0);
  }

  /** Whether the lease for `epoch` is held at main-thread time `now`. */
  holds(epoch: number, now = performance.now()): boolean {
    if (this.offset === null || epoch === 0 || Atomics.load(this.epochSlot, 0) !== epoch) return false;
    const expiresAt = Number(Atomics.load(this.expirySlot, 0)) / 1000;
    return now + this.offset < expiresAt;
  }
}
