// Helpers every benchmark shares: the one median, the round rotation, warm-up, operand fill, flags,
// the markdown table, the machine line. (No import of the library: the suite's
// tfjs processes load this too.)

import { execFileSync } from "node:child_process";
import { cpus } from "node:os";

/** The median (the mean of the middle two for an even count); NaN for no samples. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The items in round `r`'s order: the starting one rotates, so no contender always goes first. */
export const rotate = <T>(items: readonly T[], r: number): T[] => items.map((_, i) => items[(i + r) % items.length]!);

/** Whether a case with `count` samples spread evenly over `rounds` takes one in round r. */
export const due = (count: number, rounds: number, r: number) => Math.floor(((r + 1) * count) / rounds) > Math.floor((r * count) / rounds);

/** Seconds per call: `run` called `reps` times back to back. */
export function timeCalls(run: () => void, reps: number): number {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run();
  return (performance.now() - t0) / 1000 / reps;
}

/** Deterministic operand values in [-1, 1). */
export function fillRandom(out: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
}

/** Runs `run` for warmupMs (at least once, so V8 tiers it up); the seconds of one call after (or of the first, if it alone took warmupMs). */
export function warmUp(run: () => void, warmupMs: number): number {
  const t0 = performance.now();
  run();
  const first = (performance.now() - t0) / 1000;
  if (first * 1000 >= warmupMs) return first;
  while (performance.now() - t0 < warmupMs) run();
  const once = timeCalls(run, 1);
  return once < 0.05 ? timeCalls(run, 2) : once;
}

/** `--name value` or `--name=value` from the command line, else the fallback. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return process.argv[i]!.includes("=") ? process.argv[i]!.split("=")[1]! : process.argv[i + 1] ?? "";
}

export const hasFlag = (name: string) => process.argv.includes(name);

/** A flag's positive integer; exits naming the flag otherwise. */
export function intFlag(name: string, fallback: number): number {
  const n = Number(flag(name, String(fallback)));
  if (Number.isInteger(n) && n >= 1) return n;
  console.error(`${process.argv[1]}: ${name} takes a positive integer, got ${flag(name, "")}`);
  process.exit(2);
}

/** --threads as a sorted list of counts, 1 always included (the reference). */
export const threadList = (fallback: string) => [...new Set([1, ...flag("--threads", fallback).split(",").map(Number)])].sort((a, b) => a - b);

/** A markdown table; columns right-aligned but the first, or as `align` says ("l" or "r" each; missing ones "r"). */
export function table(head: string[], rows: (string | number)[][], align = ["l"]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(head), `|${head.map((_, i) => (align[i] === "l" ? "---" : "---:")).join("|")}|`, ...rows.map(line)].join("\n");
}

/** HEAD, and whether the tree differs from it (the suite's own outputs aside). */
export function gitDescribe(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: import.meta.dirname, env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" }, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  try {
    const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ":/", ":(top,exclude)bench/RESULTS.md", ":(top,exclude)bench/results.json");
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes" : ""}`;
  } catch {
    return "unknown";
  }
}

export const machineLine = () => `${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} logical CPUs), node ${process.version}, wasmgrad @ ${gitDescribe()}`;
