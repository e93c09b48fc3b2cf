// What a contender process implements, and what it replies: one JSON request
// per line on its stdin (worker.ts, torch_worker.py), one reply per line on its
// stdout echoing the request's id. Timings are taken inside the child, so the
// pipe's latency is never part of a measurement.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export type Layout = "NN" | "NT" | "TN";
export interface InfoReply { contender: string; versions: Record<string, string>; notes: string[]; threads: number }
/** dataSeconds: the part of `seconds` spent taking batches from the loader; highWater: wasmgrad's memoryStats().highWater after the epoch. */
export interface EpochReply { seconds: number; batches: number; images: number; loss: number; accuracy: number; dataSeconds: number; highWater?: number }
export interface EvalReply { seconds: number; batches: number; images: number; accuracy: number }
export interface StatsReply { maxRssBytes: number; rssBytes: number; memory?: Record<string, number> }

export interface Contender {
  info(): InfoReply;
  /** Makes the operands and warms up; returns the seconds of one call. */
  gemmSetup(m: number, k: number, n: number, layout: Layout, warmupMs: number): number;
  /** Seconds per call over `reps` back-to-back calls; "op" is wasmgrad's allocating op. */
  gemmSample(reps: number, variant: "kernel" | "op"): number;
  gemmFree(): void;
  trainSetup(dir: string, seed: number): Promise<{ trainSize: number; testSize: number; batchesPerEpoch: number }>;
  /** A fresh shuffle, stopping after maxBatches (0: the whole epoch). */
  trainEpoch(maxBatches: number): EpochReply | Promise<EpochReply>;
  /** Eval-mode accuracy over the test set (or its first maxBatches batches of 256). */
  evaluate(maxBatches: number): EvalReply;
  stats(): StatsReply;
}

/** Peak and current resident set size (Node reports the peak in KiB). */
export const rss = () => ({ maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBytes: process.memoryUsage.rss() });

/** The operand shapes of C[m, n] = op(A)·op(B): NN A[m,k] B[k,n]; NT B[n,k]; TN A[k,m]. */
export const operandShapes = (m: number, k: number, n: number, layout: Layout) =>
  ({ a: (layout === "TN" ? [k, m] : [m, k]) as [number, number], b: (layout === "NT" ? [n, k] : [k, n]) as [number, number] });

/** A Fashion-MNIST split from IDX files (plain or .gz), for the contenders that are not wasmgrad. */
export function readSplit(dir: string, train: boolean): { images: Uint8Array; labels: Int32Array; n: number } {
  const read = (name: string) => {
    const p = join(dir, `${train ? "train" : "t10k"}-${name}`);
    return existsSync(p) ? readFileSync(p) : gunzipSync(readFileSync(`${p}.gz`));
  };
  const [img, lab] = [read("images-idx3-ubyte"), read("labels-idx1-ubyte")];
  const n = new DataView(img.buffer, img.byteOffset).getUint32(4);
  return { images: img.subarray(16, 16 + n * 784), labels: Int32Array.from(lab.subarray(8, 8 + n)), n };
}

/** Fisher–Yates with Math.random (the contenders that are not wasmgrad draw their own order). */
export function shuffled(n: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
