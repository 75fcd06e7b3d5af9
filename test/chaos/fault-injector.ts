/**
 * Carries out the fault schedule against the cluster: each fault after its
 * quiet spell, on the broker it names or on whoever is active then, held for
 * its time, then healed (SIGCONT, restart); before the next one the cluster
 * must have recovered (every broker alive, one active), within a bound.
 */
import { activeId, type FailoverCluster } from "../../bench/lib/failover-cluster";
import type { NetnsLab } from "../integration/netns-lab";
import { describeFault, type Fault } from "./fault-schedule";
import type { FaultRecord } from "./history";

const FIND_ACTIVE_MS = 20_000;
const RECOVERY_MS = 30_000;
const GRACEFUL_STOP_MS = 10_000;

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly paused = new Set<number>();
  private readonly down = new Set<number>();
  private zookeeperDown = false;
  private zookeeperPaused = false;
  /** Links cut and not yet healed: "zookeeper <id>" / "clients <id>". */
  private readonly cut = new Set<string>();

  constructor(
    private readonly cluster: FailoverCluster,
    private readonly brokerIds: readonly number[],
    /** Times are reported relative to this (performance.now()). */
    private readonly origin: number,
    private readonly log: (message: string) => void,
    /** Network faults need the cluster in network namespaces. */
    private readonly lab: NetnsLab | null = null,
  ) {}

  /** Runs faults from the schedule until `until` (performance.now()); returns how many ran. */
  async run(schedule: readonly Fault[], until: number): Promise<number> {
    for (const fault of schedule) {
      if (performance.now() + fault.gapMs + fault.holdMs > until) break;
      await Bun.sleep(fault.gapMs);
      await this.inject(fault);
      const record = this.records.at(-1)!;
      if (record.recoveredAt === null && !record.overlap) break;
    }
    return this.records.length;
  }

  /** Undoes whatever is still in effect (a run cut short): every broker running, the zookeeper up; waits for recovery. */
  async healAll(): Promise<boolean> {
    for (const link of [...this.cut]) this.heal(link);
    for (const id of [...this.paused]) this.resume(id);
    if (this.zookeeperPaused) this.resumeZookeeper();
    if (this.zookeeperDown) await this.startZookeeper();
    for (const id of [...this.down]) await this.startBroker(id);
    return (await this.waitRecovered()) !== null;
  }

  private now(): number {
    return performance.now() - this.origin;
  }

  private async inject(fault: Fault): Promise<void> {
    const record: FaultRecord = {
      index: fault.index, kind: fault.kind, description: describeFault(fault), victim: null, startedAt: 0, healedAt: 0, recoveredAt: null, overlap: fault.overlap,
    };
    this.records.push(record);
    const victim = fault.brokerId ?? (await this.activeBroker());
    record.victim = fault.kind === "restart-zookeeper" || fault.kind === "pause-zookeeper" ? null : victim;
    record.startedAt = this.now();
    if (victim === null) {
      record.note = `no active broker for ${FIND_ACTIVE_MS} ms before the fault`;
      record.healedAt = record.startedAt;
      this.log(`fault ${describeFault(fault)}: ${record.note}`);
      return;
    }
    switch (fault.kind) {
      case "kill-active":
        await this.stopBroker(victim, "SIGKILL");
        await Bun.sleep(fault.holdMs);
        await this.startBroker(victim);
        break;
      case "pause-active-long":
      case "pause-active-short":
      case "pause-broker":
        this.pause(victim);
        await Bun.sleep(fault.holdMs);
        this.resume(victim);
        break;
      case "restart-zookeeper":
        await this.stopZookeeper();
        await Bun.sleep(fault.holdMs);
        await this.startZookeeper();
        break;
      case "partition-active":
      case "partition-broker":
        this.cutLink(`zookeeper ${victim}`);
        await Bun.sleep(fault.holdMs);
        this.heal(`zookeeper ${victim}`);
        break;
      case "isolate-active":
        this.cutLink(`zookeeper ${victim}`);
        this.cutLink(`clients ${victim}`);
        await Bun.sleep(fault.holdMs);
        this.heal(`clients ${victim}`);
        this.heal(`zookeeper ${victim}`);
        break;
      case "pause-zookeeper":
        this.pauseZookeeper();
        await Bun.sleep(fault.holdMs);
        this.resumeZookeeper();
        break;
      case "restart-broker":
        await this.stopBroker(victim, fault.signal === "SIGTERM" ? "SIGTERM" : "SIGKILL");
        await Bun.sleep(fault.holdMs);
        await this.startBroker(victim);
        break;
      case "kill-active-twice": {
        await this.stopBroker(victim, "SIGKILL");
        const successor = await this.activeBroker((id) => id !== victim);
        if (successor !== null) {
          await Bun.sleep(fault.brokerHoldMs ?? 0);
          await this.stopBroker(successor, "SIGKILL");
          record.note = `then broker ${successor}`;
        }
        await Bun.sleep(fault.holdMs);
        await this.startBroker(victim);
        if (successor !== null) await this.startBroker(successor);
        break;
      }
      case "zookeeper-and-active":
        if (fault.zookeeperSignal === "SIGSTOP") this.pauseZookeeper();
        else await this.stopZookeeper();
        if (fault.signal === "SIGSTOP") this.pause(victim);
        else await this.stopBroker(victim, "SIGKILL");
        await Bun.sleep(fault.holdMs);
        if (fault.zookeeperSignal === "SIGSTOP") this.resumeZookeeper();
        else await this.startZookeeper();
        await Bun.sleep(fault.brokerHoldMs ?? 0);
        if (fault.signal === "SIGSTOP") this.resume(victim);
        else await this.startBroker(victim);
        break;
    }
    record.healedAt = this.now();
    if (fault.overlap) {
      this.log(`fault ${describeFault(fault)}${record.victim === null ? "" : ` (broker ${victim})`}: healed`);
      return;
    }
    const recovered = await this.waitRecovered();
    record.recoveredAt = recovered;
    const took = recovered === null ? `NOT recovered within ${RECOVERY_MS} ms` : `recovered ${Math.round(recovered - record.healedAt)} ms after healing`;
    this.log(`fault ${describeFault(fault)}${record.victim === null ? "" : ` (broker ${victim})`}: ${took}`);
  }

  private pause(id: number): void {
    this.cluster.signal(id, "SIGSTOP");
    this.paused.add(id);
  }

  private resume(id: number): void {
    this.cluster.signal(id, "SIGCONT");
    this.paused.delete(id);
  }

  private cutLink(link: string): void {
    if (!this.lab) throw new Error(`network fault without network namespaces: ${link}`);
    const [kind, id] = link.split(" ") as [string, string];
    if (kind === "zookeeper") this.lab.cutFromZookeeper(Number(id));
    else this.lab.cutClientLink(Number(id));
    this.cut.add(link);
  }

  private heal(link: string): void {
    const [kind, id] = link.split(" ") as [string, string];
    if (kind === "zookeeper") this.lab!.healZookeeperLink(Number(id));
    else this.lab!.healClientLink(Number(id));
    this.cut.delete(link);
  }

  private pauseZookeeper(): void {
    this.cluster.zookeeper.proc.kill("SIGSTOP");
    this.zookeeperPaused = true;
  }

  private resumeZookeeper(): void {
    this.cluster.zookeeper.proc.kill("SIGCONT");
    this.zookeeperPaused = false;
  }

  private async stopBroker(id: number, signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    this.down.add(id);
    const broker = this.cluster.brokers.get(id)!;
    broker.proc.kill(signal);
    const timer = setTimeout(() => {
      this.log(`broker ${id} did not exit within ${GRACEFUL_STOP_MS} ms of ${signal}: SIGKILL`);
      broker.proc.kill("SIGKILL");
    }, GRACEFUL_STOP_MS);
    await broker.proc.exited;
    clearTimeout(timer);
  }

  private async startBroker(id: number): Promise<void> {
    await this.cluster.startBroker(id);
    this.down.delete(id);
  }

  private async stopZookeeper(): Promise<void> {
    this.zookeeperDown = true;
    await this.cluster.killZookeeper("SIGKILL");
  }

  private async startZookeeper(): Promise<void> {
    await this.cluster.startZookeeper();
    this.zookeeperDown = false;
  }

  private async activeBroker(accept: (id: number) => boolean = () => true): Promise<number | null> {
    try {
      const found = (v: Parameters<typeof activeId>[0]) => activeId(v) !== null && accept(activeId(v)!);
      return activeId(await this.cluster.waitForView(found, FIND_ACTIVE_MS, "an active broker"));
    } catch {
      return null;
    }
  }

  /** Every broker alive and one of them active; returns when (relative time), or null after RECOVERY_MS. */
  private async waitRecovered(): Promise<number | null> {
    try {
      await this.cluster.waitForView(
        (v) => activeId(v) !== null && this.brokerIds.every((id) => v.view.brokers.some((b) => b.id === id && b.alive)),
        RECOVERY_MS,
        "every broker alive and one active",
      );
      return this.now();
    } catch {
      return null;
    }
  }
}
