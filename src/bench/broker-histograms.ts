/**
 * The broker's own view of a phase, from its Prometheus endpoint: how long
 * produce requests took inside the broker (arrival → answer, i.e. until
 * durable) and how long its group-commit fdatasyncs took. Read before and
 * after a phase; the difference of the cumulative buckets is the phase's.
 * Bucket bounds are coarse (…, 1, 2.5, 5, 10, 25, 50, 100 ms, …), so the
 * percentiles are "at most this bucket's upper bound".
 */

const PRODUCE = "kafka_clone_request_duration_seconds_bucket";
const FSYNC = "kafka_clone_fsync_duration_seconds_bucket";

export type Buckets = Map<number, number>;

export interface HistogramSnapshot {
  produce: Buckets;
  fsync: Buckets;
}

export interface BucketSummary {
  count: number;
  /** Upper bounds in ms of the buckets holding the 50th and 99th percentile. */
  p50AtMostMs: number;
  p99AtMostMs: number;
  /** Share of observations above 5 ms. */
  over5ms: number;
}

export interface BrokerLatencyView {
  produce: BucketSummary;
  fsync: BucketSummary;
}

/** The `name{labels} value` lines of one histogram's buckets, keyed by `le`, keeping those whose labels include `want`. */
function parse(text: string, name: string, want: Record<string, string> = {}): Buckets {
  const buckets: Buckets = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = new Map<string, string>();
    for (const match of line.slice(name.length + 1, line.indexOf("}")).matchAll(/(\w+)="([^"]*)"/g)) labels.set(match[1]!, match[2]!);
    if (Object.entries(want).some(([key, value]) => labels.get(key) !== value)) continue;
    const le = labels.get("le");
    if (le === undefined) continue;
    buckets.set(le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return buckets;
}

/** Null when the broker has no metrics port or it does not answer. */
export async function scrapeHistograms(host: string, port: number | null): Promise<HistogramSnapshot | null> {
  if (port === null) return null;
  try {
    const response = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return null;
    const text = await response.text();
    return { produce: parse(text, PRODUCE, { api: "produce" }), fsync: parse(text, FSYNC) };
  } catch {
    return null;
  }
}

function summarize(before: Buckets, after: Buckets): BucketSummary {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const count = cumulative[cumulative.length - 1] ?? 0;
  const at = (q: number) => {
    const index = cumulative.findIndex((n) => n >= q * count);
    return index < 0 ? Number.NaN : bounds[index]! * 1000;
  };
  const fiveMs = bounds.indexOf(0.005);
  return {
    count,
    p50AtMostMs: count > 0 ? at(0.5) : Number.NaN,
    p99AtMostMs: count > 0 ? at(0.99) : Number.NaN,
    over5ms: count > 0 && fiveMs >= 0 ? 1 - cumulative[fiveMs]! / count : Number.NaN,
  };
}

export function brokerView(before: HistogramSnapshot | null, after: HistogramSnapshot | null): BrokerLatencyView | null {
  if (!before || !after) return null;
  return { produce: summarize(before.produce, after.produce), fsync: summarize(before.fsync, after.fsync) };
}
