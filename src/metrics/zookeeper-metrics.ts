/**
 * The zookeeper's Prometheus metrics: each broker's heartbeat age, liveness
 * and epoch, the active broker, elections held, changes of active broker and
 * how long each failover left the cluster without one.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import type { ZkViewResponse } from "../protocol/api";
import type { FailoverRecord } from "../zookeeper/cluster-history";
import { histogram, mirroredCounter, sampledGauge } from "./metric-kinds";

export class ZookeeperMetrics {
  readonly registry = new Registry();
  private readonly failovers = histogram(
    this.registry,
    "zookeeper_failover_leaderless_seconds",
    "from the zookeeper retiring the active broker to accepting the next one's claim (add the session timeout for the whole outage)",
  );
  private status: (() => ZkViewResponse) | null = null;
  private cached: { at: number; value: ZkViewResponse } | null = null;

  constructor() {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const brokers = () => this.read()?.brokers ?? [];
    sampledGauge(r, "zookeeper_broker_heartbeat_age_seconds", "time since the broker's last accepted heartbeat", ["broker"], () =>
      brokers().map((b) => [{ broker: b.id }, b.heartbeatAgeMs / 1000]));
    sampledGauge(r, "zookeeper_broker_up", "1 while the broker's heartbeats arrive within the session timeout", ["broker"], () =>
      brokers().map((b) => [{ broker: b.id }, b.alive ? 1 : 0]));
    sampledGauge(r, "zookeeper_broker_epoch", "the leader epoch the broker's heartbeats carry", ["broker"], () =>
      brokers().map((b) => [{ broker: b.id }, b.epoch]));
    sampledGauge(r, "zookeeper_broker_uptime_seconds", "since the broker process started (its own clock)", ["broker"], () =>
      brokers().filter((b) => b.alive).map((b) => [{ broker: b.id }, b.uptimeMs / 1000]));
    sampledGauge(r, "zookeeper_active_broker", "the id of the active broker (0 when there is none)", [], () => [[{}, this.read()?.view.activeBrokerId ?? 0]]);
    sampledGauge(r, "zookeeper_leader_epoch", "the newest leader epoch granted or seen", [], () => [[{}, this.read()?.view.epoch ?? 0]]);
    mirroredCounter(r, "zookeeper_elections_total", "elections the zookeeper asked the brokers to hold", () => this.read()?.elections ?? 0);
    mirroredCounter(r, "zookeeper_leader_changes_total", "times a broker became the active broker", () => this.read()?.leaderChanges ?? 0);
    mirroredCounter(r, "zookeeper_brokers_declared_dead_total", "brokers declared dead after the session timeout", () => this.read()?.counters.brokersDeclaredDead ?? 0);
    mirroredCounter(r, "zookeeper_heartbeats_accepted_total", "heartbeats that refreshed a broker's liveness", () => this.read()?.counters.heartbeatsAccepted ?? 0);
    mirroredCounter(r, "zookeeper_heartbeats_rejected_total", "stale, replayed or duplicated heartbeats", () => this.read()?.counters.heartbeatsRejected ?? 0);
    mirroredCounter(r, "zookeeper_heartbeats_challenged_total", "with a cluster secret: authentic heartbeats meant for another zookeeper process, answered with a challenge", () => this.read()?.counters.challengedHeartbeats ?? 0);
    mirroredCounter(r, "zookeeper_authentication_failures_total", "with a cluster secret: connections refused by the handshake", () => this.read()?.counters.authenticationFailures ?? 0);
  }

  bind(status: () => ZkViewResponse): void {
    this.status = status;
  }

  readonly onFailover = (failover: FailoverRecord): void => {
    this.failovers.observe(failover.leaderlessMs / 1000);
  };

  /** One status per scrape (every gauge reads it). */
  private read(): ZkViewResponse | null {
    if (!this.status) return null;
    const now = performance.now();
    if (this.cached === null || now - this.cached.at > 100) this.cached = { at: now, value: this.status() };
    return this.cached.value;
  }
}
