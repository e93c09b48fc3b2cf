// Helpers every benchmark shares: the one median, the round rotation, flags,
// the machine line. (No import of the library: the suite's tfjs processes load this too.)

import { cpus } from "node:os";

/** The median (the mean of the middle two for an even count); NaN for no samples. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The items in round `r`'s order: the starting one rotates, so no contender always goes first. */
export function rotate<T>(items: readonly T[], r: number): T[] {
  const k = items.length ? r % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Whether a case with `count` samples spread evenly over `rounds` takes one in round r. */
export const due = (count: number, rounds: number, r: number) => Math.floor(((r + 1) * count) / rounds) > Math.floor((r * count) / rounds);

/** Seconds per call: `run` called `reps` times back to back. */
export function timeCalls(run: () => void, reps: number): number {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run();
  return (performance.now() - t0) / 1000 / reps;
}

/** `--name value` or `--name=value` from the command line, else the fallback. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return process.argv[i]!.includes("=") ? process.argv[i]!.split("=")[1]! : process.argv[i + 1] ?? "";
}

export const hasFlag = (name: string) => process.argv.includes(name);

/** A flag's integer in [1, max]; exits with a message naming the flag otherwise. */
export function intFlag(name: string, fallback: number, max = 1 << 20): number {
  const text = flag(name, String(fallback));
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`${process.argv[1]}: ${name} takes an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

/** A comma-separated list of thread counts, sorted, 1 always included (the reference). */
export function threadList(fallback: string): number[] {
  const list = flag("--threads", fallback).split(",").map(Number);
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) {
    console.error(`${process.argv[1]}: --threads takes positive integers (1,2,4), got ${flag("--threads", fallback)}`);
    process.exit(2);
  }
  return [...new Set([1, ...list])].sort((a, b) => a - b);
}

export const machineLine = () => `${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} logical CPUs), node ${process.version}`;
