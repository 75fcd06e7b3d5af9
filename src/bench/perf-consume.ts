/**
 * `bench consume`: reads a topic from its earliest offset until `records`
 * records arrived (or none came for `idleMs`), counting records and value
 * bytes; `bench e2e` reuses the read loop to time each stamped record.
 */
import type { ClusterClientOptions } from "../client/cluster-client";
import { Consumer, type ConsumerRecord } from "../client/consumer";
import type { StartPosition } from "../protocol/api";

export interface ConsumeLoad {
  readonly received: number;
  readonly valueBytes: number;
  /** Subscribes; resolves once the subscription is in place. */
  start(): Promise<void>;
  /** Resolves when `records` arrived or nothing came for `idleMs`; seconds from start() to the last record. */
  finish(): Promise<number>;
  close(): void;
}

export function consumeLoad(options: {
  cluster: ClusterClientOptions;
  topic: string;
  records: number;
  idleMs: number;
  start: StartPosition;
  onRecord?: (record: ConsumerRecord, receivedAt: number) => void;
}): ConsumeLoad {
  const consumer = new Consumer({ ...options.cluster, topic: options.topic, start: options.start });
  let received = 0;
  let valueBytes = 0;
  let startedAt = 0;
  let lastAt = 0;
  let reading: Promise<void> | null = null;

  const read = async () => {
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => consumer.close(), options.idleMs);
    };
    arm();
    try {
      for await (const batch of consumer.batches()) {
        const now = performance.now();
        for (const record of batch) {
          valueBytes += record.value?.length ?? 0;
          options.onRecord?.(record, now);
        }
        received += batch.length;
        lastAt = now;
        arm();
        if (received >= options.records) break;
      }
    } finally {
      clearTimeout(idle);
    }
  };

  return {
    get received() {
      return received;
    },
    get valueBytes() {
      return valueBytes;
    },
    async start() {
      startedAt = performance.now();
      await consumer.start();
      reading = read();
      reading.catch(() => {});
    },
    async finish() {
      await reading;
      consumer.close();
      return ((lastAt || performance.now()) - startedAt) / 1000;
    },
    close: () => consumer.close(),
  };
}
