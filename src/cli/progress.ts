// A progress bar on stderr, only on a terminal and never with --quiet. Written
// here rather than taken from a package: it is all the command line needs (one
// bar at a time, redrawn at most 10 times a second), and it keeps the library's
// install free of command-line dependencies.

export interface ProgressFields {
  /** Shown before the bar: "epoch 2/5", "λ = 3". */
  label: string;
  /** "batches", "epochs". */
  unit: string;
  /** "21034 img/s". */
  rate: string;
  /** "loss 0.5234". */
  info: string;
}

const WIDTH = 24;
const REDRAW_MS = 100;
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_LINE = "\r\x1b[2K";

/** "1m05s", "12s"; "?" before there is a rate to go by. */
function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** One bar at a time; `stop()` erases it, so results printed on stdout afterwards stand alone. */
export class Progress {
  private total = 0;
  private done = 0;
  private fields: ProgressFields | null = null;
  private started = 0;
  private drawn = 0;

  constructor(readonly enabled: boolean, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  start(total: number, fields: ProgressFields): void {
    if (!this.enabled) return;
    this.stop();
    this.total = total;
    this.done = 0;
    this.fields = { ...fields };
    this.started = performance.now();
    this.stream.write(HIDE_CURSOR);
    this.draw();
  }

  update(done: number, fields: Partial<ProgressFields>): void {
    if (!this.fields) return;
    this.done = done;
    Object.assign(this.fields, fields);
    if (performance.now() - this.drawn >= REDRAW_MS || done >= this.total) this.draw();
  }

  /** Erases the bar and restores the cursor. */
  stop(): void {
    if (!this.fields) return;
    this.fields = null;
    this.stream.write(CLEAR_LINE + SHOW_CURSOR);
  }

  private draw(): void {
    const f = this.fields!;
    const share = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(share * WIDTH);
    const elapsed = (performance.now() - this.started) / 1000;
    const remaining = this.done > 0 ? (elapsed * (this.total - this.done)) / this.done : NaN;
    const parts = [`${f.label} ${"█".repeat(filled)}${"░".repeat(WIDTH - filled)} ${this.done}/${this.total} ${f.unit}`];
    for (const extra of [f.rate, f.info]) if (extra) parts.push(extra);
    parts.push(`ETA ${eta(remaining)}`);
    let line = parts.join(" | ");
    // A line longer than the terminal would wrap, and the next redraw would only clear its last row.
    const columns = this.stream.columns > 0 ? this.stream.columns : 80; // 0 where the terminal reports no size
    if (line.length >= columns) line = line.slice(0, columns - 1);
    this.stream.write(CLEAR_LINE + line);
    this.drawn = performance.now();
  }
}

/** Lets the event loop run (timers, Ctrl-C's handler) between two pieces of synchronous work. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
