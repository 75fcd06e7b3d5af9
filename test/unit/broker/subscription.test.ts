/**
 * A subscription pushes durable records only while its broker still leads
 * (epoch and lease): a deposed leader that resumes from a pause fsyncs records
 * that are not part of the log, and must not show them to its consumers.
 */
import { describe, expect, test } from "bun:test";
import type { ClientSession } from "../../../src/broker/client-session";
import { Subscription } from "../../../src/broker/subscription";
import type { PartitionLog } from "../../../src/log/partition-log";
import { PUSH, type SubscriptionErrorPush } from "../../../src/protocol/api";

function fakeSession() {
  const pushes: { api: string; body: unknown }[] = [];
  const session = { isClosed: false, pendingWriteBytes: 0, push: (api: string, body: unknown) => void pushes.push({ api, body }), recordsSent: () => {} };
  return { session: session as unknown as ClientSession, pushes };
}

function fakeLog(highWatermark: number) {
  const listeners = new Set<() => void>();
  const log = {
    topic: "t",
    partition: 0,
    highWatermark,
    read: (offset: number) => ({ data: new Uint8Array(10), nextOffset: log.highWatermark, next: undefined, offset }),
    onDurable: (listener: () => void) => (listeners.add(listener), () => listeners.delete(listener)),
  };
  return { log: log as unknown as PartitionLog & { highWatermark: number }, listeners, advance: (to: number) => ((log.highWatermark = to), listeners.forEach((l) => l())) };
}

describe("subscription pushes", () => {
  test("durable records are pushed while the broker leads", async () => {
    const { session, pushes } = fakeSession();
    const { log } = fakeLog(5);
    const subscription = new Subscription(1, session, 1 << 20, () => true);
    subscription.addPartition(log, 0);
    subscription.schedulePump();
    await Bun.sleep(0);
    expect(pushes.map((p) => p.api)).toEqual([PUSH.records]);
  });

  test("once the broker no longer holds its lease, nothing more is pushed and every partition ends with NOT_LEADER", async () => {
    const { session, pushes } = fakeSession();
    const { log, listeners, advance } = fakeLog(5);
    let leads = true;
    const subscription = new Subscription(1, session, 1 << 20, () => leads);
    subscription.addPartition(log, 0);
    subscription.schedulePump();
    await Bun.sleep(0);
    expect(pushes).toHaveLength(1);
    // Paused past the session timeout, the broker resumes and fsyncs what it had accepted: the high watermark moves.
    leads = false;
    advance(9);
    await Bun.sleep(0);
    expect(pushes.slice(1).map((p) => p.api)).toEqual([PUSH.subscriptionError]);
    expect((pushes[1]!.body as SubscriptionErrorPush).error.code).toBe("NOT_LEADER");
    expect(listeners.size).toBe(0);
    expect(subscription.partitions).toEqual([]);
  });
});
