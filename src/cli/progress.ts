// Progress bars on stderr (cli-progress), only on a terminal and never with --quiet.

import cliProgress from "cli-progress";

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

/** One bar at a time; `stop()` erases it, so results printed on stdout afterwards stand alone. */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;

  constructor(readonly enabled: boolean, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  start(total: number, fields: ProgressFields): void {
    if (!this.enabled) return;
    this.stop();
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: "{label} {bar} {value}/{total} {unit} | {rate} | {info} | ETA {eta_formatted}",
        barCompleteChar: "█",
        barIncompleteChar: "░",
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        linewrap: false,
        // Ctrl-C is ours: it stops training after the batch and prints the results so far.
        gracefulExit: false,
        etaBuffer: 30,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, fields);
  }

  update(done: number, fields: Partial<ProgressFields>): void {
    this.bar?.update(done, fields);
  }

  /** Erases the bar and restores the cursor. */
  stop(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = null;
  }
}

/** Lets the event loop run (timers, the bar's redraws, Ctrl-C's handler) between two pieces of synchronous work. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
