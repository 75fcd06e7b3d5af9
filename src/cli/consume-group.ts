/** `consume --group G`: the flags of a group member and the GroupConsumer behind them. */
import type { ArgsDef } from "citty";
import type { ClusterClientOptions } from "../client/cluster-client";
import type { ConsumerRecord } from "../client/consumer";
import { GroupConsumer, type GroupEvent } from "../client/group-consumer";
import { KafkaCloneError } from "../errors";
import { createLogger } from "../logger";
import { ASSIGNOR_NAMES } from "../broker/groups/assignors";
import { intFlag } from "./args";

export const GROUP_ARGS = {
  group: { type: "string", description: "read as a member of this consumer group: partitions are shared with its other members, and reading resumes from the group's commits" },
  "auto-commit": { type: "boolean", description: "with --group: commit processed offsets periodically and on exit (at-least-once); --no-auto-commit commits nothing", default: true },
  "auto-commit-interval-ms": { type: "string", description: "with --group: how often processed offsets are committed", default: "5000" },
  "session-timeout-ms": { type: "string", description: "with --group: how long the group waits for a silent member before moving its partitions", default: "10000" },
  assignor: { type: "string", description: `with --group: ${ASSIGNOR_NAMES.join(" or ")}, or both in order of preference (comma-separated)`, default: "range,round-robin" },
} as const satisfies ArgsDef;

interface GroupFlags {
  group?: string;
  "auto-commit"?: boolean;
  "auto-commit-interval-ms"?: string;
  "session-timeout-ms"?: string;
  assignor?: string;
  "from-beginning"?: boolean;
  offset?: string;
  "from-time"?: string;
  partition?: string;
}

const EXIT_COMMIT_TIMEOUT_MS = 5000;

/** A group member's record source for the consume loop. */
export interface GroupSource {
  batches(): AsyncGenerator<ConsumerRecord[]>;
  /** Commits what was printed (per partition, the offset after the last printed record), leaves the group. */
  finish(printed: ReadonlyMap<string, number>): Promise<void>;
}

export async function startGroupSource(a: GroupFlags, topic: string, cluster: ClusterClientOptions): Promise<GroupSource> {
  const clash = [a.offset !== undefined && "--offset", a["from-time"] !== undefined && "--from-time", a.partition !== undefined && "--partition"].filter(Boolean);
  if (clash.length > 0) throw new KafkaCloneError("INVALID_ARGUMENT", `--group cannot be combined with ${clash.join(", ")} (the group decides the partitions and where they start)`);
  const assignors = (a.assignor ?? "range,round-robin").split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = assignors.filter((name) => !(ASSIGNOR_NAMES as readonly string[]).includes(name));
  if (assignors.length === 0 || unknown.length > 0) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `--assignor must name ${ASSIGNOR_NAMES.join(" and/or ")}, got ${JSON.stringify(a.assignor)}`);
  }
  const groupId = a.group!;
  const autoCommit = a["auto-commit"] ?? true;
  const logger = createLogger("consumer");
  const consumer = new GroupConsumer({
    ...cluster,
    groupId,
    topics: [topic],
    clientId: "kafka-clone-consume",
    assignors,
    autoCommit,
    autoCommitIntervalMs: intFlag(a["auto-commit-interval-ms"] ?? "5000", "auto-commit-interval-ms", { min: 10 }),
    sessionTimeoutMs: intFlag(a["session-timeout-ms"] ?? "10000", "session-timeout-ms", { min: 50, max: 3_600_000 }),
    resetTo: a["from-beginning"] ? "earliest" : "latest",
    onEvent: (event) => logEvent(logger, groupId, event),
  });
  await consumer.start();
  return {
    batches: () => consumer.batches(),
    async finish(printed) {
      if (autoCommit) {
        // Only partitions still read now, and only positions from this ownership of them (a partition
        // revoked and given back starts at or after what this process printed the first time).
        const processed = new Map(consumer.positions().map((p) => [`${p.topic}:${p.partition}`, p.offset]));
        const offsets = [...printed].filter(([key, offset]) => offset >= (processed.get(key) ?? Infinity)).map(([key, offset]) => {
          const at = key.lastIndexOf(":");
          return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset };
        });
        const committing = consumer.commit(offsets).catch((error) => logger.warn("commit on exit failed", { group: groupId, error: (error as Error).message }));
        // With no broker reachable, exit anyway after a while (the records will be read again).
        await Promise.race([committing, Bun.sleep(EXIT_COMMIT_TIMEOUT_MS)]);
      }
      await consumer.close(EXIT_COMMIT_TIMEOUT_MS);
    },
  };
}

function logEvent(logger: ReturnType<typeof createLogger>, group: string, event: GroupEvent): void {
  switch (event.type) {
    case "joined":
      return logger.info("joined group", { group, memberId: event.memberId, generation: event.generationId, assignor: event.assignor });
    case "assigned":
      return logger.info("partitions assigned", { group, partitions: event.partitions, startOffsets: event.startOffsets });
    case "revoked":
      return logger.info("partitions revoked", { group, partitions: event.partitions });
    case "lost":
      return logger.warn("partitions lost", { group, partitions: event.partitions });
    case "commit-failed":
      return logger.warn("commit failed", { group, error: event.error });
  }
}
