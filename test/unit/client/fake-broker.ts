/**
 * A scripted stand-in for the broker's produce path, for producer tests that
 * need failures on demand: each produce request takes the next scripted
 * outcome (then "ok" forever). Accepted batches are kept per partition.
 * Like the broker, it refuses an idempotent producer's batch whose sequence
 * is not the next one expected (OUT_OF_ORDER_SEQUENCE, retriable).
 */
import { checkFrame, NO_PRODUCER_ID } from "../../../src/log/batch-frame";
import { decodeRecords } from "../../../src/log/record-codec";
import { KafkaCloneError, type ErrorCode } from "../../../src/errors";
import { createLogger } from "../../../src/logger";
import type { FramedConnection } from "../../../src/net/framed-connection";
import { RpcDispatcher } from "../../../src/net/rpc-server";
import { listenTcp, type TcpServer } from "../../../src/net/tcp";
import type { MetadataResponse, ProducePartitionResult } from "../../../src/protocol/api";
import { readProduceRequest } from "../../../src/protocol/requests";

export type Outcome =
  | "ok"
  /** Every partition of the request fails with this code (after nothing was appended), answered after holdMs. */
  | { partitionError: ErrorCode; holdMs?: number }
  /** Appended as "ok" would, but answered (after holdMs) with this request error: the real broker's NOT_LEADER when it lost its lease while the write was on its way to disk. */
  | { appendThenRequestError: ErrorCode; holdMs?: number }
  /** The whole request fails with this code. */
  | { requestError: ErrorCode }
  /** The connection is closed before answering (nothing appended). */
  | "hangUp"
  /** No answer, ever (nothing appended). */
  | "silence";

interface Session {
  connection: FramedConnection;
}

export class FakeBroker {
  readonly script: Outcome[] = [];
  readonly outcomes: Outcome[] = [];
  private readonly frames = new Map<number, Uint8Array[]>();
  private readonly nextOffsets = new Map<number, number>();
  /** "producerId partition" → the next sequence expected. */
  private readonly nextSequences = new Map<string, number>();
  outOfOrder = 0;
  private readonly server: TcpServer;

  constructor(readonly topic: string, readonly partitions: number) {
    const dispatcher = new RpcDispatcher<Session>(
      {
        metadata: () => ({ body: this.metadata() }),
        produce: (body, attachment, session) => this.produce(body, attachment, session),
      },
      { openSession: (connection) => ({ connection }) },
      createLogger("fake-broker"),
    );
    this.server = listenTcp({ host: "127.0.0.1", port: 0, maxFrameBytes: 64 * 1024 * 1024, accept: (c) => dispatcher.accept(c) });
  }

  get bootstrap(): { host: string; port: number }[] {
    return [{ host: "127.0.0.1", port: this.server.port }];
  }

  get produceRequests(): number {
    return this.outcomes.length;
  }

  /** Values stored in `partition`, in offset order, as text. */
  values(partition: number): string[] {
    const text = new TextDecoder();
    return (this.frames.get(partition) ?? []).flatMap((frame) => decodeRecords(frame).map((r) => text.decode(r.value!)));
  }

  stop(): void {
    this.server.stop();
  }

  /** Checks (and on success advances) the idempotent sequences of one partition's batches; a message on a gap. */
  private sequenceGap(partition: number, data: Uint8Array): string | null {
    const next = new Map<string, number>();
    for (let pos = 0; pos < data.length; ) {
      const { header } = checkFrame(data, pos) as { header: import("../../../src/log/batch-frame").BatchHeader };
      pos += header.frameSize;
      if (header.producerId === NO_PRODUCER_ID) continue;
      const key = `${header.producerId} ${partition}`;
      const expected = next.get(key) ?? this.nextSequences.get(key) ?? 0;
      if (header.baseSequence !== expected) return `batch starts at sequence ${header.baseSequence}, expected ${expected}`;
      next.set(key, expected + header.recordCount);
    }
    for (const [key, sequence] of next) this.nextSequences.set(key, sequence);
    return null;
  }

  private metadata(): MetadataResponse {
    const self = { id: 1, host: "127.0.0.1", port: this.server.port };
    return { brokerId: 1, role: "active", activeBroker: self, epoch: 1, brokers: [self], topics: [{ name: this.topic, partitions: this.partitions }] };
  }

  private produce(body: unknown, attachment: Uint8Array, session: Session) {
    const request = readProduceRequest(body, attachment.length);
    const outcome = this.script.shift() ?? "ok";
    this.outcomes.push(outcome);
    if (outcome === "hangUp") {
      session.connection.close("scripted hang-up");
      return null;
    }
    if (outcome === "silence") return new Promise<never>(() => {});
    if (typeof outcome === "object" && "requestError" in outcome) throw new KafkaCloneError(outcome.requestError, "scripted");
    const results = this.append(request, attachment, outcome);
    const holdMs = typeof outcome === "object" && "holdMs" in outcome ? (outcome.holdMs ?? 0) : 0;
    const answer = () => {
      if (typeof outcome === "object" && "appendThenRequestError" in outcome) throw new KafkaCloneError(outcome.appendThenRequestError, "scripted");
      return { body: { partitions: results } };
    };
    return holdMs > 0 ? Bun.sleep(holdMs).then(answer) : answer();
  }

  private append(request: ReturnType<typeof readProduceRequest>, attachment: Uint8Array, outcome: Outcome): ProducePartitionResult[] {
    const results: ProducePartitionResult[] = [];
    let at = 0;
    for (const { partition, bytes } of request.partitions) {
      const data = attachment.subarray(at, at + bytes);
      at += bytes;
      if (typeof outcome === "object" && "partitionError" in outcome) {
        results.push({ partition, error: { code: outcome.partitionError, message: "scripted" } });
        continue;
      }
      const gap = this.sequenceGap(partition, data);
      if (gap) {
        this.outOfOrder++;
        results.push({ partition, error: { code: "OUT_OF_ORDER_SEQUENCE", message: gap } });
        continue;
      }
      const baseOffsets: number[] = [];
      for (let pos = 0; pos < data.length; ) {
        const check = checkFrame(data, pos);
        if (!check.ok) throw new KafkaCloneError("CORRUPT_MESSAGE", check.reason);
        const frame = data.slice(pos, pos + check.header.frameSize);
        const base = this.nextOffsets.get(partition) ?? 0;
        new DataView(frame.buffer).setUint32(8, base); // baseOffset's low word, as the broker stamps it
        baseOffsets.push(base);
        this.nextOffsets.set(partition, base + check.header.recordCount);
        const list = this.frames.get(partition) ?? [];
        list.push(frame);
        this.frames.set(partition, list);
        pos += check.header.frameSize;
      }
      results.push({ partition, baseOffsets });
    }
    return results;
  }
}
