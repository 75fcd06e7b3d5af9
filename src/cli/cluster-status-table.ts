/** `cluster status` for people: a summary and one row per broker. */
import type { ClusterStatus } from "../client/cluster-status";

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(1)} s`;
  const parts = [[Math.floor(seconds / 86400), "d"], [Math.floor(seconds / 3600) % 24, "h"], [Math.floor(seconds / 60) % 60, "m"], [seconds % 60, "s"]] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return parts.slice(first, first + 2).map(([n, unit]) => `${n}${unit}`).join(" ");
}

export function renderClusterStatus(status: ClusterStatus): string {
  const lines: string[] = [];
  lines.push(`Zookeeper ${status.zookeeper}: up ${formatDuration(status.zookeeperUptimeMs)}, session timeout ${status.sessionTimeoutMs} ms`);
  const active = status.brokers.find((b) => b.id === status.activeBrokerId);
  lines.push(
    active
      ? `Active broker: ${active.id} at ${active.clientHost}:${active.clientPort}, leader epoch ${status.epoch}`
      : `Active broker: none${status.electionNeeded ? " (an election is under way)" : ""}; newest leader epoch ${status.epoch}`,
  );
  const failover = status.lastFailover;
  lines.push(
    `Elections held: ${status.elections}; active broker changes: ${status.leaderChanges}` +
      (failover
        ? `; last failover: broker ${failover.fromBrokerId} → ${failover.toBrokerId} (epoch ${failover.epoch}), ` +
          `${formatDuration(failover.leaderlessMs)} without an active broker, ${formatDuration(failover.agoMs)} ago`
        : ""),
  );
  lines.push("");
  const header = ["ID", "ROLE", "STATE", "EPOCH", "TERM", "CLIENT", "ELECTION", "HEARTBEAT", "UPTIME"];
  const rows = status.brokers.map((b) => [
    String(b.id),
    b.role,
    b.alive ? "alive" : "dead",
    String(b.epoch),
    String(b.term),
    `${b.clientHost}:${b.clientPort}`,
    `${b.electionHost}:${b.electionPort}`,
    `${formatDuration(b.heartbeatAgeMs)} ago`,
    b.alive ? formatDuration(b.uptimeMs) : "-",
  ]);
  if (rows.length === 0) {
    lines.push("No brokers have sent a heartbeat yet.");
    return lines.join("\n");
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  return lines.join("\n");
}
