// Where a command's output goes: results on stdout (tables, or JSON lines with
// --json), progress bars and notes on stderr (silent with --quiet).

import { getBackend } from "../backend/index.ts";
import type { CommonArgs } from "./args.ts";
import { onForcedExit } from "./interrupt.ts";
import { Progress } from "./progress.ts";
import { Painter, streamHasColor } from "./style.ts";

export interface Context {
  json: boolean;
  quiet: boolean;
  /** Colours for stdout (off with --json, off the terminal, off with NO_COLOR). */
  p: Painter;
  /** A line of results on stdout (text mode only; ignored with --json). */
  out(line?: string): void;
  /** One JSON object on its own line on stdout (--json only). */
  emit(record: Record<string, unknown>): void;
  /** A note on stderr, unless --quiet. */
  note(message: string): void;
  progress: Progress;
}

export function makeContext(args: CommonArgs): Context {
  const stderrColor = new Painter(streamHasColor(process.stderr));
  // With --json on a terminal the JSON lines would be drawn over by the bar: no bar then.
  const progress = new Progress(!args.quiet && process.stderr.isTTY === true && !(args.json && process.stdout.isTTY === true));
  onForcedExit(() => progress.stop());
  return {
    json: args.json,
    quiet: args.quiet,
    p: new Painter(!args.json && streamHasColor(process.stdout)),
    out(line = "") {
      if (!args.json) process.stdout.write(line + "\n");
    },
    emit(record) {
      if (args.json) process.stdout.write(JSON.stringify(record) + "\n");
    },
    note(message) {
      if (args.quiet) return;
      // A note must not be drawn over by the bar, which redraws its own line.
      progress.stop();
      process.stderr.write(stderrColor.dim(`wasmgrad: ${message}`) + "\n");
    },
    progress,
  };
}

/** The backend in a header line: which Wasm build runs ("wasm (relaxed SIMD)"), or "js". */
export function backendLabel(): string {
  const d = getBackend().description;
  if (d === "wasm-simd128-relaxed") return "wasm (relaxed SIMD)";
  if (d === "wasm-simd128") return "wasm (SIMD)";
  return d;
}
