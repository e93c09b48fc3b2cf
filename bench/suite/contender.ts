// What a JS contender process implements (worker.ts dispatches the protocol's
// requests to it): wasmgrad on either backend, or TensorFlow.js on either backend.

import { timeCalls } from "../stats.ts";
import type { EpochReply, EvalReply, InfoReply, Layout, StatsReply } from "./protocol.ts";

export interface Contender {
  info(): InfoReply;
  /** Makes the operands and warms up; returns the seconds of one call. */
  gemmSetup(m: number, k: number, n: number, layout: Layout, warmupMs: number): number;
  /** Seconds per call over `reps` back-to-back calls. */
  gemmSample(reps: number, variant: "kernel" | "op"): number;
  gemmFree(): void;
  trainSetup(dir: string, seed: number): Promise<{ trainSize: number; testSize: number; batchesPerEpoch: number }>;
  trainEpoch(maxBatches: number): EpochReply | Promise<EpochReply>;
  evaluate(maxBatches: number): EvalReply;
  stats(): StatsReply;
}

/** Resident set size of this process now, in bytes. */
export function rssBytes(): number {
  return process.memoryUsage.rss();
}

/** Peak resident set size of this process, in bytes (Node reports KiB). */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Deterministic operand values in [-1, 1). */
export function fillRandom(out: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
}

/** The operand shapes of C[m, n] = op(A)·op(B): NN A[m,k] B[k,n]; NT B[n,k]; TN A[k,m]. */
export function operandShapes(m: number, k: number, n: number, layout: Layout): { a: [number, number]; b: [number, number] } {
  return { a: layout === "TN" ? [k, m] : [m, k], b: layout === "NT" ? [n, k] : [k, n] };
}

/**
 * Runs `run` for warmupMs (at least once: lets V8 tier the code up) and returns
 * the seconds of one call: of the first one when it alone took warmupMs (a slow
 * contender), else of the calls made after the warm-up.
 */
export function warmUp(run: () => void, warmupMs: number): number {
  const t0 = performance.now();
  run();
  const first = (performance.now() - t0) / 1000;
  if (first * 1000 >= warmupMs) return first;
  while (performance.now() - t0 < warmupMs) run();
  const once = timeCalls(run, 1);
  return once < 0.05 ? timeCalls(run, 2) : once;
}
