/**
 * What a phase cost: CPU time of this (load) process and of the broker, and
 * how long each one's main thread sat runnable but waiting for a CPU
 * (/proc/<pid>/schedstat). On a shared 2-CPU machine the wait shows when
 * figures were held back by other processes rather than by this code.
 */
import fs from "node:fs";

export interface ProcessProbe {
  /** User + system CPU seconds so far (NaN when unknown). */
  cpuSeconds(): number;
  /** Seconds the main thread spent runnable on a run queue so far (NaN when unknown). */
  waitSeconds(): number;
}

export interface Usage {
  /** CPU in cores (1.0 = one core busy for the whole phase). */
  clientCores: number;
  brokerCores: number;
  /** Fraction of the phase each main thread waited for a CPU. */
  clientCpuWait: number;
  brokerCpuWait: number;
}

export function schedWaitSeconds(pid: number | "self"): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ");
    return Number(fields[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

export const selfProbe: ProcessProbe = {
  cpuSeconds: () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  },
  waitSeconds: () => schedWaitSeconds("self"),
};

/** Adds up usage over one or more start/stop intervals. */
export class Meter {
  private totals = [0, 0, 0, 0];
  private marks: number[] | null = null;

  constructor(private readonly broker: ProcessProbe) {}

  private read(): number[] {
    return [selfProbe.cpuSeconds(), this.broker.cpuSeconds(), selfProbe.waitSeconds(), this.broker.waitSeconds()];
  }

  start(): void {
    this.marks = this.read();
  }

  stop(): void {
    if (!this.marks) return;
    const now = this.read();
    this.totals = this.totals.map((total, i) => total + now[i]! - this.marks![i]!);
    this.marks = null;
  }

  usage(seconds: number): Usage {
    const [client, broker, clientWait, brokerWait] = this.totals as [number, number, number, number];
    return {
      clientCores: client / seconds,
      brokerCores: broker / seconds,
      clientCpuWait: clientWait / seconds,
      brokerCpuWait: brokerWait / seconds,
    };
  }
}
