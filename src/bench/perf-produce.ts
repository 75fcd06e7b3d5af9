/**
 * `bench produce`: `records` records of `recordBytes` from `producers`
 * producers, as fast as acknowledgements allow or paced at `rate` records/s
 * in total; every record's send() → acknowledgement latency goes into an HDR
 * histogram.
 */
import type { ClusterClientOptions } from "../client/cluster-client";
import { Producer } from "../client/producer";
import type { Acks } from "../protocol/api";
import { LatencyRecorder } from "./latency";
import { fillRandom } from "./produce-load";

export interface ProducerSettings {
  producers: number;
  acks: Acks;
  /** Records per second across all producers; 0 = as fast as possible. */
  rate: number;
  batchBytes: number;
  lingerMs: number;
  maxInFlight: number;
  /** Sent but unacknowledged records a producer allows before it waits. */
  outstanding: number;
}

export interface ProduceLoadOptions extends ProducerSettings {
  cluster: ClusterClientOptions;
  topic: string;
  records: number;
  recordBytes: number;
  /** Writes the send time into each value (end-to-end runs). */
  stamp?: (value: Uint8Array, sendTime: number) => void;
}

export interface ProduceLoad {
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly latency: LatencyRecorder;
  readonly firstError: string | null;
  /** Resolves when every record is acknowledged or failed; the seconds from the first send to the last answer. */
  run(): Promise<number>;
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

export function produceLoad(options: ProduceLoadOptions): ProduceLoad {
  const latency = new LatencyRecorder();
  const state = { sent: 0, acked: 0, failed: 0, firstError: null as string | null };
  const template = fillRandom(new Uint8Array(options.recordBytes), options.recordBytes);

  async function oneProducer(index: number): Promise<void> {
    const share = Math.floor(options.records / options.producers) + (index < options.records % options.producers ? 1 : 0);
    const producer = new Producer({
      ...options.cluster,
      acks: options.acks,
      batchBytes: options.batchBytes,
      lingerMs: options.lingerMs,
      maxInFlight: options.maxInFlight,
    });
    const perMs = options.rate / options.producers / 1000;
    const shared = { value: template };
    let sent = 0;
    let settled = 0;
    const start = performance.now();
    const answered = (sendTime: number) => () => {
      settled++;
      state.acked++;
      latency.recordMs(performance.now() - sendTime);
    };
    const failed = (error: unknown) => {
      settled++;
      state.failed++;
      state.firstError ??= (error as Error).message;
    };
    try {
      while (sent < share) {
        const due = perMs > 0 ? Math.min(share, Math.floor((performance.now() - start) * perMs) + 1) : share;
        const room = options.outstanding - (sent - settled);
        const n = Math.min(due - sent, room, 1000);
        for (let i = 0; i < n; i++) {
          const sendTime = performance.now();
          let record = shared;
          if (options.stamp) {
            record = { value: template.slice() };
            options.stamp(record.value, sendTime);
          }
          producer.send(options.topic, record).then(answered(sendTime), failed);
        }
        sent += n;
        state.sent += n;
        // Paced: one timer tick between rounds, like an application; otherwise just let answers in.
        if (perMs > 0 || n === 0) await Bun.sleep(perMs > 0 ? 1 : 0);
        else await immediate();
      }
      await producer.flush();
      while (settled < sent) await Bun.sleep(1);
    } finally {
      await producer.close();
    }
  }

  return {
    get sent() {
      return state.sent;
    },
    get acked() {
      return state.acked;
    },
    get failed() {
      return state.failed;
    },
    get firstError() {
      return state.firstError;
    },
    latency,
    async run() {
      const start = performance.now();
      await Promise.all(Array.from({ length: options.producers }, (_, i) => oneProducer(i)));
      return (performance.now() - start) / 1000;
    },
  };
}
