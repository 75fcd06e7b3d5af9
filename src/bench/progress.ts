/**
 * Live progress on stderr: a redrawn bar on a terminal, plain lines (about
 * one a second) otherwise, so logs and CI output stay readable.
 */

export interface ProgressSource {
  done(): number;
  /** Extra figures after the count, e.g. "2 failed". */
  detail?(): string;
}

const BAR_WIDTH = 28;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

export class Progress {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly started = performance.now();
  private lastLine = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly source: ProgressSource,
    private readonly out: NodeJS.WriteStream = process.stderr,
    enabled = true,
  ) {
    this.tty = Boolean(out.isTTY);
    if (enabled) this.timer = setInterval(() => this.draw(false), this.tty ? 100 : 250);
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.draw(true);
  }

  private draw(final: boolean): void {
    const now = performance.now();
    if (!this.tty && !final && now - this.lastLine < 1000) return;
    this.lastLine = now;
    const done = this.source.done();
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const detail = this.source.detail?.() ?? "";
    const figures = `${fmt(done)}/${fmt(this.total)} records  ${fmt(rate)}/s  ${seconds.toFixed(1)} s${detail ? `  ${detail}` : ""}`;
    if (this.tty) {
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`;
      this.out.write(`\r\u001b[K${this.label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}%  ${figures}${final ? "\n" : ""}`);
    } else {
      this.out.write(`${this.label}: ${(fraction * 100).toFixed(0)}%  ${figures}\n`);
    }
  }
}
