/** The consumer member processes of `bench groups` (`kafka-clone bench group-member`), watched through their report lines. */
import type { Subprocess } from "bun";

export interface MemberEvent {
  e: string;
  t?: number;
  keys?: string[];
  n?: number;
  last?: number;
}

/** A consumer member process; its report lines arrive as events. */
export class MemberProcess {
  readonly events: MemberEvent[] = [];
  readonly owned = new Set<string>();
  count = 0;
  last = 0;
  private readonly proc: Subprocess<"pipe", "pipe", "pipe">;
  private stderrText = "";
  private listeners: (() => void)[] = [];

  constructor(readonly name: string, binary: string, address: string, topic: string, group: string | null) {
    this.proc = Bun.spawn([binary, "bench", "group-member", address, topic, group ?? "-"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    void this.read();
    void this.readStderr();
  }

  get exited(): Promise<number> {
    return this.proc.exited;
  }

  /** Resolves with the first event (from now on, or already seen) that satisfies `check`. */
  waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${this.stderrText}`)), timeoutMs);
      const listener = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve();
      };
      this.listeners.push(listener);
      listener();
    });
  }

  onEvent(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  time(kind: string): number {
    const event = this.events.findLast((e) => e.e === kind);
    if (event?.t === undefined) throw new Error(`${this.name} reported no ${kind}`);
    return event.t;
  }

  leave(): void {
    this.proc.stdin.write("leave\n");
    this.proc.stdin.flush();
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }

  private async readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.proc.stderr) this.stderrText = (this.stderrText + decoder.decode(chunk)).slice(-4000);
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.length === 0) continue;
        const event = JSON.parse(line) as MemberEvent;
        this.events.push(event);
        if (event.e === "assigned") for (const key of event.keys!) this.owned.add(key);
        if (event.e === "revoked" || event.e === "lost") for (const key of event.keys!) this.owned.delete(key);
        if (event.e === "count") {
          this.count = event.n!;
          this.last = event.last!;
        }
        for (const listener of [...this.listeners]) listener();
      }
    }
  }
}

/** Resolves once `check` holds, checked whenever any of `members` reports something. */
export function whenAll(members: readonly MemberProcess[], check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stops: (() => void)[] = [];
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const stop of stops) stop();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const listener = () => {
      if (check()) finish();
    };
    for (const m of members) stops.push(m.onEvent(listener));
    listener();
  });
}
