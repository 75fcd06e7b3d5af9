/**
 * A broker's Prometheus metrics: requests and their latency, records and
 * bytes produced and fetched, fsync latency, each partition's offsets and
 * size, consumer group lag, role and epoch, takeovers and their duration.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Broker } from "../broker/broker";
import type { BrokerObserver } from "../broker/broker-observer";
import type { Leadership } from "../broker/request-handler";
import { counter, histogram, mirroredCounter, sampledGauge } from "./metric-kinds";

export interface MemberStats {
  readonly stats: { electionMessagesSent: number; takeovers: number; stepDowns: number };
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly observer: BrokerObserver;
  private broker: Broker | null = null;

  constructor() {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const requests = counter(r, "requests_total", "client requests answered, by api", ["api"]);
    const errors = counter(r, "request_errors_total", "client requests that failed, by api and error code", ["api", "code"]);
    const latency = histogram(r, "request_duration_seconds", "time from a request's arrival to its answer (produce: until durable for acks=all)", ["api"]);
    const producedRecords = counter(r, "produced_records_total", "records appended to the log, by topic", ["topic"]);
    const producedBytes = counter(r, "produced_bytes_total", "bytes appended to the log (batch frames), by topic", ["topic"]);
    const fetchedRecords = counter(r, "fetched_records_total", "records pushed to consumers, by topic", ["topic"]);
    const fetchedBytes = counter(r, "fetched_bytes_total", "bytes pushed to consumers, by topic", ["topic"]);
    const fsync = histogram(r, "fsync_duration_seconds", "fdatasync of a log segment (one per group commit)");
    const storageErrors = counter(r, "storage_errors_total", "write or fsync failures, by topic", ["topic"]);
    const takeovers = counter(r, "takeovers_total", "times this broker took over the data directory");
    const takeoverSeconds = histogram(r, "takeover_duration_seconds", "lock, epoch, recovery of every partition and fresh segments, per takeover");
    const scanned = counter(r, "recovery_scanned_bytes_total", "log bytes recovery scanned past the recovery point");
    const truncated = counter(r, "recovery_truncated_bytes_total", "torn-tail bytes recovery cut off");
    this.observer = {
      request: (api, seconds, code) => {
        requests.inc({ api });
        latency.observe({ api }, seconds);
        if (code !== null) errors.inc({ api, code });
      },
      recordsSent: (topic, _partition, records, bytes) => {
        fetchedRecords.inc({ topic }, records);
        fetchedBytes.inc({ topic }, bytes);
      },
      fsync: (seconds) => fsync.observe(seconds),
      takeover: (report) => {
        takeovers.inc();
        takeoverSeconds.observe(report.durationMs / 1000);
        scanned.inc(report.scannedBytes);
        truncated.inc(report.truncatedBytes);
      },
      log: {
        appended: (topic, _partition, records, bytes) => {
          producedRecords.inc({ topic }, records);
          producedBytes.inc({ topic }, bytes);
        },
        storageError: (topic) => storageErrors.inc({ topic }),
      },
    };
    this.partitionGauges();
  }

  /** Reads role, epoch and the logs from `broker` at each scrape; `member` adds election figures. */
  bind(broker: Broker, member: MemberStats | null): void {
    this.broker = broker;
    const r = this.registry;
    sampledGauge(r, "broker_active", "1 while this broker is the active broker", [], () => [[{}, broker.role === "active" ? 1 : 0]]);
    sampledGauge(r, "broker_leader_epoch", "the leader epoch this broker holds (0 while standby)", [], () => [[{}, broker.epoch]]);
    if (member) {
      mirroredCounter(r, "election_messages_sent_total", "ELECTION messages this broker sent to higher ids", () => member.stats.electionMessagesSent);
      mirroredCounter(r, "step_downs_total", "times this broker stopped being the active broker", () => member.stats.stepDowns);
    }
    const auth = broker.options.auth;
    if (auth) mirroredCounter(r, "authentication_failures_total", "connections refused by the handshake (no, another or a wrong secret or password)", () => auth.failures);
  }

  private partitionGauges(): void {
    const r = this.registry;
    const labels = ["topic", "partition"] as const;
    const perPartition = (read: (log: ReturnType<NonNullable<Broker["logs"]>["allPartitions"]>[number]) => number) => () =>
      (this.broker?.logs?.allPartitions() ?? []).map((log) => [{ topic: log.topic, partition: log.partition }, read(log)] as [Record<string, string | number>, number]);
    sampledGauge(r, "log_end_offset", "the offset the next record appended gets", labels, perPartition((log) => log.logEndOffset));
    sampledGauge(r, "log_high_watermark", "the offset after the last durable record (what consumers can read)", labels, perPartition((log) => log.highWatermark));
    sampledGauge(r, "log_start_offset", "the first offset still in the log", labels, perPartition((log) => log.logStartOffset));
    sampledGauge(r, "log_size_bytes", "bytes in the partition's segments", labels, perPartition((log) => log.sizeBytes));
    sampledGauge(r, "log_segments", "segment files of the partition", labels, perPartition((log) => log.segmentCount));
    sampledGauge(r, "consumer_group_lag", "high watermark minus the group's committed offset", ["group", "topic", "partition"], () => this.groupLag());
    sampledGauge(r, "consumer_group_members", "members of each consumer group", ["group"], () => {
      const groups = this.leadership()?.groups;
      return (groups?.list() ?? []).map((g) => [{ group: g.groupId }, g.members] as [Record<string, string>, number]);
    });
  }

  private groupLag(): [Record<string, string | number>, number][] {
    const groups = this.leadership()?.groups;
    if (!groups) return [];
    const samples: [Record<string, string | number>, number][] = [];
    for (const { groupId } of groups.list()) {
      for (const p of groups.describe(groupId).partitions) {
        if (p.lag !== null) samples.push([{ group: groupId, topic: p.topic, partition: p.partition }, p.lag]);
      }
    }
    return samples;
  }

  /** The active broker's state, or null while standby or without its lease. */
  private leadership(): Leadership | null {
    if (this.broker?.role !== "active") return null;
    try {
      return this.broker.requireActive();
    } catch {
      return null;
    }
  }
}
