/** Small helpers over prom-client shared by the broker's and the zookeeper's metrics. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export const PREFIX = "kafka_clone_";

/** Seconds, from 100 µs to 10 s: request, fsync and takeover durations. */
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name: PREFIX + name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = [], buckets = DURATION_BUCKETS): Histogram<L> {
  return new Histogram({ name: PREFIX + name, help, labelNames, buckets, registers: [registry] });
}

/** A gauge whose samples are read at scrape time; `read` returns [labels, value] pairs. */
export function sampledGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<[Partial<Record<L, string | number>>, number]>,
): Gauge<L> {
  return new Gauge({
    name: PREFIX + name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** A counter that mirrors a running total kept elsewhere (a stats field), read at scrape time. */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name: PREFIX + name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
