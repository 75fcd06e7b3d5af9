/**
 * Group members of the compiled binary (`consume --group`), watched as they
 * run: records from stdout (--format json) and group events from stderr
 * (--log-format json), each stamped with when it arrived; and the group's
 * description through the library.
 */
import type { Subprocess } from "bun";
import type { ClusterClientOptions } from "../../src/client/cluster-client";
import { GroupAdmin } from "../../src/client/group-admin";
import type { DescribeGroupResponse, TopicPartitions } from "../../src/protocol/api";
import { spawnCli, waitUntil } from "./harness";

export interface SeenRecord {
  partition: number;
  offset: number;
  value: string;
  at: number;
}

export interface GroupLogEvent {
  message: string;
  partitions?: TopicPartitions[];
  startOffsets?: Record<string, number>;
  at: number;
}

const keysOf = (list: TopicPartitions[] = []) => list.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`));

export class GroupMember {
  readonly records: SeenRecord[] = [];
  readonly events: GroupLogEvent[] = [];
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private stderrText = "";

  constructor(readonly name: string, args: string[]) {
    this.proc = spawnCli(["consume", "--format", "json", "--log-format", "json", ...args]);
    void this.readLines(this.proc.stdout, (line) => {
      const r = JSON.parse(line) as { partition: number; offset: number; value: string };
      this.records.push({ partition: r.partition, offset: r.offset, value: r.value, at: performance.now() });
    });
    void this.readLines(this.proc.stderr, (line) => {
      this.stderrText += `${line}\n`;
      if (!line.startsWith("{")) return;
      const e = JSON.parse(line) as Omit<GroupLogEvent, "at">;
      if (e.message.startsWith("partitions ") || e.message === "joined group") this.events.push({ ...e, at: performance.now() });
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The partitions it reads now, from its assigned / revoked / lost events. */
  owned(): string[] {
    const owned = new Set<string>();
    for (const e of this.events) {
      if (e.message === "partitions assigned") for (const key of keysOf(e.partitions)) owned.add(key);
      else if (e.message === "partitions revoked" || e.message === "partitions lost") for (const key of keysOf(e.partitions)) owned.delete(key);
    }
    return [...owned].sort();
  }

  /** Partitions named by its events of one kind, from event number `since` on. */
  partitionsIn(message: "partitions assigned" | "partitions revoked" | "partitions lost", since = 0): string[] {
    return this.events.slice(since).filter((e) => e.message === message).flatMap((e) => keysOf(e.partitions));
  }

  async waitForOwned(count: number, timeoutMs = 10_000): Promise<void> {
    await waitUntil(() => this.owned().length === count, timeoutMs, `${this.name} to own ${count} partitions (owns ${this.owned().join(",")}); stderr:\n${this.stderrText.slice(-2000)}`);
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<number> {
    this.proc.kill(signal);
    return this.proc.exited;
  }

  private async readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (line.length > 0) onLine(line);
    }
  }
}

/** "partition:offset" of every record, to count duplicates and gaps. */
export function recordIds(records: readonly SeenRecord[]): string[] {
  return records.map((r) => `${r.partition}:${r.offset}`);
}

export async function describeGroup(options: ClusterClientOptions, groupId: string): Promise<DescribeGroupResponse> {
  const admin = new GroupAdmin(options);
  try {
    return await admin.describeGroup(groupId);
  } finally {
    admin.close();
  }
}

/** Waits until the coordinator reports the group stable with `members` members. */
export async function waitForStable(options: ClusterClientOptions, groupId: string, members: number, timeoutMs = 10_000): Promise<DescribeGroupResponse> {
  let last: DescribeGroupResponse | null = null;
  await waitUntil(async () => {
    last = await describeGroup(options, groupId).catch(() => null);
    return last !== null && last.state === "Stable" && last.members.length === members;
  }, timeoutMs, `group ${groupId} stable with ${members} members (last: ${JSON.stringify(last)})`);
  return last!;
}

/** Committed offset per partition ("topic:partition" → offset). */
export function commitsOf(description: DescribeGroupResponse): Map<number, number> {
  return new Map(description.partitions.filter((p) => p.committedOffset !== null).map((p) => [p.partition, p.committedOffset!]));
}

/** Keyed records "v-<n>" sent by the library producer, spread over every partition; resolves once all are acknowledged. */
export async function produceKeyed(options: ClusterClientOptions, topic: string, from: number, count: number): Promise<void> {
  const { Producer } = await import("../../src/client/producer");
  const producer = new Producer({ ...options, lingerMs: 2 });
  const enc = new TextEncoder();
  try {
    await Promise.all(Array.from({ length: count }, (_, i) => producer.send(topic, { key: enc.encode(`k-${from + i}`), value: enc.encode(`v-${from + i}`) })));
  } finally {
    await producer.close();
  }
}

/** Produces keyed rounds until stopped; `produced` counts the acknowledged records. */
export class SteadyProducer {
  produced = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(options: ClusterClientOptions, topic: string, perRound = 30, pauseMs = 5) {
    this.loop = (async () => {
      while (this.running) {
        await produceKeyed(options, topic, this.produced, perRound);
        this.produced += perRound;
        await Bun.sleep(pauseMs);
      }
    })();
  }

  async stop(): Promise<number> {
    this.running = false;
    await this.loop;
    return this.produced;
  }
}
