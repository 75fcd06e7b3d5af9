/** One client connection on the broker: its responses, pushes and subscriptions. */
import type { FramedConnection } from "../net/framed-connection";
import { toWire } from "../protocol/envelope";
import { encodeFrame } from "../protocol/frame-codec";
import type { Subscription } from "./subscription";

export class ClientSession {
  readonly subscriptions = new Map<number, Subscription>();

  constructor(
    readonly connection: FramedConnection,
    /** Told of every records push (metrics). */
    readonly recordsSent: (topic: string, partition: number, records: number, bytes: number) => void = () => {},
  ) {}

  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  get pendingWriteBytes(): number {
    return this.connection.pendingWriteBytes;
  }

  push(api: string, body: unknown, attachments: readonly Uint8Array[] = []): void {
    this.connection.send(encodeFrame(toWire({ kind: "push", api, body }), attachments));
  }

  /** The socket drained: subscriptions may send again. */
  resume(): void {
    for (const subscription of this.subscriptions.values()) subscription.schedulePump();
  }

  closeSubscriptions(): void {
    for (const subscription of this.subscriptions.values()) subscription.close();
    this.subscriptions.clear();
  }
}
