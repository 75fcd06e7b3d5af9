/**
 * Producer load: a throughput driver that keeps many sends outstanding, and a
 * paced driver that sends at a fixed rate on a monotonic clock and records
 * each record's send() → acknowledgement latency.
 */
import type { Producer } from "../client/producer";
import { LatencyRecorder, type LatencySummary } from "./latency";
import { Meter, type ProcessProbe, type Usage } from "./meter";

/** Pseudo-random (incompressible) record values, so nothing flatters the disk. */
export function fillRandom(value: Uint8Array, seed: number): Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < value.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    value[i] = x & 0xff;
  }
  return value;
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface ThroughputResult extends Usage {
  recordBytes: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** Record values only (what the application handed over), MB = 10^6 bytes. */
  mbPerSec: number;
}

/**
 * Sends records as fast as the producer takes them, in steps: each step
 * sends for about `stepSeconds` and then waits for every acknowledgement, so
 * other work (the raw disk baseline) can run between steps on a quiet broker.
 * Only time inside steps counts.
 */
export class ThroughputDriver {
  private readonly value: Uint8Array;
  private records = 0;
  private ms = 0;
  private readonly meter: Meter;
  private outstanding = 0;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private readonly lowWater: number;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly recordBytes: number,
    private readonly maxOutstanding: number,
    broker: ProcessProbe,
  ) {
    this.meter = new Meter(broker);
    this.value = fillRandom(new Uint8Array(recordBytes), recordBytes);
    this.lowWater = Math.floor(maxOutstanding / 2);
  }

  get payloadBytes(): number {
    return this.records * this.recordBytes;
  }

  get seconds(): number {
    return this.ms / 1000;
  }

  private readonly onAck = (): void => {
    this.outstanding--;
    if (this.wake !== null && this.outstanding <= this.lowWater) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
  };

  private readonly onFail = (error: unknown): void => {
    this.failure ??= error;
    this.onAck();
  };

  /** Sends for `seconds` (or until `maxRecords` in total), then waits until all are acknowledged. */
  async step(seconds: number, maxRecords = Infinity): Promise<void> {
    const producer = this.producer;
    const topic = this.topic;
    const record = { value: this.value };
    this.meter.start();
    const start = performance.now();
    const deadline = start + seconds * 1000;
    let sent = 0;
    while (this.failure === null && this.records + sent < maxRecords) {
      const chunk = Math.min(1000, maxRecords - this.records - sent);
      for (let i = 0; i < chunk; i++) producer.send(topic, record).then(this.onAck, this.onFail);
      this.outstanding += chunk;
      sent += chunk;
      if (this.outstanding >= this.maxOutstanding) await new Promise<void>((resolve) => (this.wake = resolve));
      else await immediate();
      if (performance.now() >= deadline) break;
    }
    await producer.flush();
    while (this.outstanding > 0) await immediate();
    if (this.failure !== null) throw this.failure;
    this.ms += performance.now() - start;
    this.records += sent;
    this.meter.stop();
  }

  result(): ThroughputResult {
    const seconds = this.ms / 1000;
    return {
      recordBytes: this.recordBytes,
      records: this.records,
      seconds,
      recordsPerSec: this.records / seconds,
      mbPerSec: this.payloadBytes / 1e6 / seconds,
      ...this.meter.usage(seconds),
    };
  }
}

export interface PacedResult extends Usage {
  recordBytes: number;
  rate: number;
  records: number;
  seconds: number;
  achievedRate: number;
  /** send() → promise resolved. */
  ack: LatencySummary;
  /** How late the pacing loop issued sends against their schedule (ms). */
  maxScheduleLagMs: number;
  /**
   * How late this process woke from its 1 ms sleeps: event-loop stalls (GC, work)
   * plus the time the OS kept it off the CPU. A noisy machine shows here first.
   */
  tickLag: LatencySummary;
}

export interface PacedOptions {
  recordBytes: number;
  rate: number;
  seconds: number;
  /** Sends during this first stretch are not recorded (JIT and connection warm-up). */
  warmupSeconds: number;
  /** Called with each value before it is sent, e.g. to stamp the send time into it. */
  stamp?: (value: Uint8Array, sendTime: number, measured: boolean) => void;
  /** Called when the warm-up ends and measuring starts. */
  onMeasuring?: () => void;
}

/**
 * Sends `rate` records/s for `seconds` on the monotonic clock: each timer tick
 * sends every record that is due by now, so the average rate holds even when
 * ticks come late. Latency is measured per record from its send() call to its
 * promise resolving. Every value is stamped into one reused buffer: once the
 * topic's partition count is known (looked up first), send() copies the value
 * into its batch before returning, so the load adds no garbage per record
 * (1 KiB copies at 20,000/s made the load process's GC pauses its p99).
 */
export async function runPaced(producer: Producer, topic: string, options: PacedOptions, broker: ProcessProbe): Promise<PacedResult> {
  const recorder = new LatencyRecorder();
  const tickLag = new LatencyRecorder();
  const value = fillRandom(new Uint8Array(options.recordBytes), options.recordBytes + 1);
  const record = { value };
  await producer.partitionCount(topic);
  const total = Math.round(options.rate * (options.warmupSeconds + options.seconds));
  const warmupRecords = Math.round(options.rate * options.warmupSeconds);
  const msPerRecord = 1000 / options.rate;
  let failure: unknown = null;
  let settled = 0;
  let maxLag = 0;
  let measuredStart = 0;
  const meter = new Meter(broker);
  const start = performance.now();
  let sent = 0;
  while (sent < total && failure === null) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / msPerRecord) + 1);
    if (sent < due && sent >= warmupRecords) maxLag = Math.max(maxLag, now - (start + sent * msPerRecord));
    for (; sent < due; sent++) {
      if (sent === warmupRecords) {
        measuredStart = performance.now();
        meter.start();
        options.onMeasuring?.();
      }
      const measured = sent >= warmupRecords;
      const sendTime = performance.now();
      options.stamp?.(value, sendTime, measured);
      producer.send(topic, record).then(
        () => {
          settled++;
          if (measured) recorder.recordMs(performance.now() - sendTime);
        },
        (error: unknown) => {
          settled++;
          failure ??= error;
        },
      );
    }
    // One timer tick (~1 ms) between rounds: the process sleeps instead of spinning, like a real application.
    const sleepStart = performance.now();
    await Bun.sleep(1);
    if (sent > warmupRecords) tickLag.recordMs(performance.now() - sleepStart - 1);
  }
  const seconds = (performance.now() - measuredStart) / 1000;
  meter.stop();
  await producer.flush();
  while (settled < sent) await immediate();
  if (failure !== null) throw failure;
  const records = total - warmupRecords;
  return {
    recordBytes: options.recordBytes,
    rate: options.rate,
    records,
    seconds,
    achievedRate: records / seconds,
    ack: recorder.summary(),
    maxScheduleLagMs: Math.round(maxLag * 1000) / 1000,
    tickLag: tickLag.summary(),
    ...meter.usage(seconds),
  };
}
