// Text output: colour (only on a terminal that has it, never with NO_COLOR),
// number formats and aligned tables.

import { styleText } from "node:util";
import { place, type SeedStats } from "../experiments/reference.ts";

type Style = Parameters<typeof styleText>[0];

/** Whether a stream gets colour: a TTY whose terminal has colours, and NO_COLOR unset or empty (https://no-color.org). */
export function streamHasColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  return stream.isTTY === true && typeof stream.hasColors === "function" && stream.hasColors();
}

export class Painter {
  constructor(readonly enabled: boolean) {}
  paint(style: Style, text: string): string {
    return this.enabled && text ? styleText(style, text) : text;
  }
  bold = (t: string) => this.paint("bold", t);
  dim = (t: string) => this.paint("dim", t);
  good = (t: string) => this.paint("green", t);
  bad = (t: string) => this.paint("red", t);
  warn = (t: string) => this.paint("yellow", t);
  accent = (t: string) => this.paint("cyan", t);
}

/** Three significant digits, in exponent form when very small or large: 84.5, 0.0118, 3.11e-13. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
}

export const fixed = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** "0.827 ± 0.018 (z +0.4)": PyTorch's mean ± standard deviation over its seeds, and where x falls in it. */
export function statsText(x: number, s: SeedStats, f: (x: number) => string = num): string {
  const at = place(x, s);
  const z = Math.abs(at.z).toFixed(1);
  const where = at.floatPrecision ? "both at float precision" : `z ${z === "0.0" ? "" : at.z > 0 ? "+" : "−"}${z}`;
  return `${f(s.mean)} ± ${f(s.sd)} (${where})`;
}

/**
 * "0.432 ✓" when x is a draw PyTorch could have made (inside its seeds' [min, max]
 * or its 99.7% prediction interval, or both at float precision), "0.432 ✗" when not; plain without a reference.
 */
export function marked(p: Painter, x: number, s: SeedStats | undefined, f: (x: number) => string = num): Cell {
  if (!s) return f(x);
  const ok = place(x, s).agrees;
  return { text: `${f(x)} ${ok ? "✓" : "✗"}`, paint: ok ? p.good : p.bad };
}

/** The reading of the ✓/✗ marks, for a table's heading. */
export const MARKS_LEGEND =
  "mean ± sd, z = (ours − mean) / sd; ✓ inside PyTorch's [min, max] or its 99.7% range for one more seed (the 3σ rule with σ estimated: |z| ≤ 3.53 for 20 seeds), ✗ outside both";

export type Cell = string | { text: string; paint?: (t: string) => string };
export interface Column {
  title: string;
  align?: "left" | "right";
  /** Least width, for tables whose rows are printed as they come. */
  width?: number;
}

const cellText = (c: Cell) => (typeof c === "string" ? c : c.text);
/** Display width: code points (the tables use no wide or combining characters). */
const width = (s: string) => [...s].length;

/** A table printed row by row as results arrive: the widths are fixed by the titles and `width`. */
export class StreamTable {
  private readonly widths: number[];
  constructor(private readonly columns: Column[], private readonly p: Painter, private readonly write: (line: string) => void) {
    this.widths = columns.map((c) => Math.max(width(c.title), c.width ?? 0));
  }

  header(): void {
    this.write(this.line(this.columns.map((c) => ({ text: c.title, paint: this.p.bold }))));
    this.write(this.p.dim(this.widths.map((w) => "─".repeat(w)).join("  ")));
  }

  row(cells: Cell[]): void {
    this.write(this.line(cells));
  }

  private line(cells: Cell[]): string {
    return cells
      .map((c, i) => {
        const text = cellText(c);
        const pad = " ".repeat(Math.max(0, this.widths[i] - width(text)));
        const painted = typeof c === "string" || !c.paint ? text : c.paint(text);
        return this.columns[i].align === "left" ? painted + pad : pad + painted;
      })
      .join("  ")
      .trimEnd();
  }
}

/** A whole table at once, the widths fitted to its cells. */
export function printTable(columns: Column[], rows: Cell[][], p: Painter, write: (line: string) => void): void {
  const fitted = columns.map((c, i) => ({ ...c, width: Math.max(c.width ?? 0, ...rows.map((r) => width(cellText(r[i] ?? "")))) }));
  const t = new StreamTable(fitted, p, write);
  t.header();
  for (const r of rows) t.row(r);
}
