/** An in-process broker and group consumers for the group client tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Broker } from "../../../src/broker/broker";
import { Admin } from "../../../src/client/admin";
import type { ConsumerRecord } from "../../../src/client/consumer";
import { GroupConsumer, type GroupConsumerOptions, type GroupEvent } from "../../../src/client/group-consumer";
import { Producer } from "../../../src/client/producer";

export interface Member {
  consumer: GroupConsumer;
  records: ConsumerRecord[];
  events: GroupEvent[];
  /** Resolves when its reading loop ends. */
  done: Promise<void>;
  owned(): string[];
}

export class GroupWorld {
  private readonly cleanups: (() => unknown)[] = [];
  broker!: Broker;
  private dataDir = "";

  async start(): Promise<void> {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-group-client-"));
    this.broker = new Broker({ id: 1, host: "127.0.0.1", port: 0, dataDir: this.dataDir, maxFrameBytes: 64 * 1024 * 1024, groups: { sweepIntervalMs: 20 } });
    this.broker.listen();
    await this.broker.becomeActive(this.broker.nextStandaloneEpoch());
  }

  get bootstrap() {
    return { bootstrap: [{ host: "127.0.0.1", port: this.broker.port }], discoveryTimeoutMs: 10_000 };
  }

  /** What a failover does to the coordinator: step down, take over again at a new epoch (same data directory). */
  async takeover(): Promise<void> {
    await this.broker.stepDown("test takeover");
    await this.broker.becomeActive(this.broker.nextStandaloneEpoch());
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    const admin = new Admin(this.bootstrap);
    await admin.createTopic(name, partitions);
    admin.close();
  }

  async produce(topic: string, count: number, prefix = "v"): Promise<void> {
    const producer = new Producer({ ...this.bootstrap, lingerMs: 1 });
    const enc = new TextEncoder();
    await Promise.all(Array.from({ length: count }, (_, i) => producer.send(topic, { key: enc.encode(`k${i}`), value: enc.encode(`${prefix}-${i}`) })));
    await producer.close();
  }

  async member(options: Partial<GroupConsumerOptions> & { groupId: string; topics: string[] }): Promise<Member> {
    const events: GroupEvent[] = [];
    const consumer = new GroupConsumer({
      ...this.bootstrap,
      resetTo: "earliest",
      sessionTimeoutMs: 2000,
      autoCommitIntervalMs: 100,
      ...options,
      onEvent: (e) => events.push(e),
    });
    const records: ConsumerRecord[] = [];
    await consumer.start();
    const done = (async () => {
      for await (const batch of consumer.batches()) records.push(...batch);
    })();
    this.cleanups.push(() => consumer.close(1000));
    return { consumer, records, events, done, owned: () => consumer.assignment().flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)) };
  }

  async stop(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
    await this.broker?.stop();
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** "topic:partition:offset" of every record, to spot duplicates and gaps. */
export function ids(records: readonly ConsumerRecord[]): string[] {
  return records.map((r) => `${r.topic}:${r.partition}:${r.offset}`);
}
