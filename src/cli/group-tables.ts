/** Plain-text tables for `groups describe` and `groups reset-offsets`, in the spirit of kafka-consumer-groups. */
import type { PlannedReset } from "../client/group-admin";
import type { DescribeGroupResponse } from "../protocol/api";

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join("").trimEnd()).join("\n");
}

const dash = (value: number | string | null) => (value === null || value === "" ? "-" : value);

export function renderGroupDescription(d: DescribeGroupResponse): string {
  const summary = `Consumer group '${d.groupId}': state ${d.state}, ${d.members.length} member(s), generation ${d.generationId}, assignor ${d.assignor ?? "-"}`;
  const byMember = new Map(d.members.map((m) => [m.memberId, m]));
  const rows = d.partitions.map((p) => {
    const member = p.memberId === null ? undefined : byMember.get(p.memberId);
    return [d.groupId, p.topic, p.partition, dash(p.committedOffset), dash(p.logEndOffset), dash(p.lag), dash(p.memberId), dash(member?.host ?? null), dash(member?.clientId ?? null)];
  });
  const partitions = table(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], rows);
  const note = d.members.length === 0 ? `\nConsumer group '${d.groupId}' has no active members.` : "";
  return `${summary}${note}\n\n${partitions}`;
}

export function renderReset(groupId: string, plan: readonly PlannedReset[], dryRun: boolean): string {
  const rows = plan.map((p) => [groupId, p.topic, p.partition, dash(p.previous), `${p.offset}${p.clamped ? " (moved into the log's range)" : ""}`]);
  const verdict = dryRun ? "Dry run: nothing was committed." : `Committed new offsets for ${plan.length} partition(s).`;
  return `${table(["GROUP", "TOPIC", "PARTITION", "PREVIOUS-OFFSET", "NEW-OFFSET"], rows)}\n${verdict}`;
}
