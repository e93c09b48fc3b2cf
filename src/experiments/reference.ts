// What PyTorch 1.13 measured with the book's settings (data/pytorch-reference/),
// as seed distributions, which of them a run's settings can be compared with, and
// where a run's value falls in them. Node only.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BOOK_MLP_SETTINGS, type MlpOptions } from "./dropout.ts";
import { BOOK_VARIANTS, BOOK_WEIGHT_DECAY_SETTINGS, type Penalty, type Via } from "./weight-decay.ts";

/**
 * What PyTorch measured for one figure over its seeds: mean, sample standard
 * deviation (n − 1) and [min, max]. `floor`: values at or below it are float
 * rounding noise (a loss of 1e-13), where only "both that small" means anything.
 */
export interface SeedStats {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  floor?: number;
}

/** Where a run's value falls in PyTorch's seed distribution. */
export interface Placement {
  /** (x − mean) / sd. */
  z: number;
  /** Inside PyTorch's [min, max] over its seeds. */
  inRange: boolean;
  /** Inside PyTorch's 99.73% prediction interval for one more seed (mean ± 3.53 sd for 20 seeds): "mean ± 3σ" with σ estimated. */
  withinPrediction: boolean;
  /** The half-width of that interval, in sds: t(n − 1) at 99.865% × sqrt(1 + 1/n). */
  bound: number;
  /** Both this value and all of PyTorch's are at float precision (below `floor`). */
  floatPrecision: boolean;
  /** What the ✓ says: a draw PyTorch itself could have produced (any of the three above). */
  agrees: boolean;
}

export function seedStats(xs: readonly number[], floor?: number): SeedStats {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, sd, min: Math.min(...xs), max: Math.max(...xs), ...(floor !== undefined ? { floor } : {}) };
}

/** The normal distribution's 99.865% point: mean ± 3σ holds 99.73% of the draws. */
const Z3 = 3;

/**
 * Student's t quantile at 99.865% (the t counterpart of 3σ) for `df` degrees of
 * freedom: exact for 1 and 2, else the Cornish-Fisher series of Abramowitz &
 * Stegun 26.7.5 (within 0.1% from df = 10 on, 2% at df = 3).
 */
export function t3(df: number): number {
  const p = 0.99865;
  if (df <= 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  const z = Z3;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

/**
 * Where x falls. "Could PyTorch have drawn it?" is a prediction interval for one
 * more seed: PyTorch's sd is itself estimated from n seeds, so the interval that
 * holds 99.73% of new draws (what mean ± 3σ holds when σ is known) is
 * mean ± t(n − 1)·sd·sqrt(1 + 1/n): ± 3.53 sd for 20 seeds, ± 22 sd for 3.
 */
export function place(x: number, s: SeedStats): Placement {
  const z = s.sd > 0 ? (x - s.mean) / s.sd : x === s.mean ? 0 : Math.sign(x - s.mean) * Infinity;
  const inRange = x >= s.min && x <= s.max;
  const bound = s.n > 1 ? t3(s.n - 1) * Math.sqrt(1 + 1 / s.n) : 0;
  const withinPrediction = Math.abs(z) <= bound;
  const floatPrecision = s.floor !== undefined && Math.abs(x) <= s.floor && Math.max(Math.abs(s.min), Math.abs(s.max)) <= s.floor;
  return { z, inRange, withinPrediction, bound, floatPrecision, agrees: floatPrecision || inRange || withinPrediction };
}

/**
 * A weight-decay loss below this is float32 rounding: the targets are O(1–10), so
 * residuals of a few ulps (1e-7 relative) give squared losses of 1e-14 to 1e-12.
 * λ = 0 fits the 20 training points exactly, and both libraries land there.
 */
export const LOSS_AT_FLOAT_PRECISION = 1e-10;

export interface WeightDecayReference {
  key: string;
  what: string;
  /** Seeds PyTorch ran. */
  seeds: number;
  train: SeedStats;
  test: SeedStats;
  wNorm: SeedStats;
  sparsity: SeedStats;
}

export interface MlpEpochReference {
  epoch: number;
  trainLoss: SeedStats;
  trainAcc: SeedStats;
  testAcc: SeedStats;
}

export interface MlpReference {
  /** The key in dropout_mlp.json's runs ("dropout", "nodrop", "dropout_wd1e-4"). */
  key: string;
  seeds: number;
  epochs: MlpEpochReference[];
}

/** The directory holding the reference files: data/pytorch-reference above this module (src/ or dist/src/). */
function referenceDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, "data", "pytorch-reference");
    if (existsSync(join(candidate, "weight_decay_20seeds.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

const cache = new Map<string, unknown>();
function load(name: string): any {
  if (!cache.has(name)) {
    const dir = referenceDir();
    cache.set(name, dir ? JSON.parse(readFileSync(join(dir, name), "utf8")) : null);
  }
  return cache.get(name);
}

const same = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

/** The reference key of a weight-decay run: set only when its settings are the book's. */
export function weightDecayReferenceKey(run: {
  lambd: number; penalty: Penalty; via: Via; epochs: number; lr: number; batchSize?: number;
}): string | undefined {
  const book = BOOK_WEIGHT_DECAY_SETTINGS;
  if (run.epochs !== book.epochs || !same(run.lr, book.lr) || (run.batchSize ?? 1) !== book.batchSize) return undefined;
  if (run.lambd === 0) return run.via === "optimizer" ? "iii_optimSGD_wd0" : "i_l2_lambd0";
  const match = BOOK_VARIANTS.find(
    (v) => same(v.opts.lambd, run.lambd) && (v.opts.penalty ?? "l2") === run.penalty && (v.opts.via ?? "loss") === run.via,
  );
  return match?.key;
}

type WeightDecaySeed = { train: number; test: number; w_l2: number; "frac_lt_1e-3": number };

/** PyTorch's distribution over 20 seeds for a weight-decay run with the book's settings, else undefined. */
export function weightDecayReference(run: Parameters<typeof weightDecayReferenceKey>[0]): WeightDecayReference | undefined {
  const key = weightDecayReferenceKey(run);
  const variant = key ? load("weight_decay_20seeds.json")?.variants?.[key] : undefined;
  const runs = variant?.runs as WeightDecaySeed[] | undefined;
  if (!key || !runs?.length) return undefined;
  const of = (k: keyof WeightDecaySeed, floor?: number) => seedStats(runs.map((r) => r[k]), floor);
  return {
    key, what: variant.what ?? key, seeds: runs.length,
    train: of("train", LOSS_AT_FLOAT_PRECISION), test: of("test", LOSS_AT_FLOAT_PRECISION), wNorm: of("w_l2"), sparsity: of("frac_lt_1e-3"),
  };
}

/** The reference key of an MLP run: set only when its settings are the book's (any seed, any number of epochs). */
export function mlpReferenceKey(run: MlpOptions): string | undefined {
  const book = BOOK_MLP_SETTINGS;
  const optimizer = run.optimizer ?? "sgd";
  const [p1, p2] = run.dropout ?? book.dropout;
  const [h1, h2] = run.hidden ?? book.hidden;
  if (optimizer !== "sgd" || (run.momentum ?? 0) !== 0 || (run.l1 ?? 0) !== 0) return undefined;
  if (!same(run.lr ?? book.lr, book.lr) || (run.batchSize ?? book.batchSize) !== book.batchSize) return undefined;
  if (h1 !== book.hidden[0] || h2 !== book.hidden[1]) return undefined;
  const wd = run.weightDecay ?? 0;
  if (same(p1, 0.2) && same(p2, 0.5)) return wd === 0 ? "dropout" : same(wd, 1e-4) ? "dropout_wd1e-4" : undefined;
  if (p1 === 0 && p2 === 0 && wd === 0) return "nodrop";
  return undefined;
}

type MlpSeed = { hist: { epoch: number; train_loss: number; train_acc: number; test_acc: number }[] };

/**
 * PyTorch's per-epoch distribution for an MLP run with the book's settings, else
 * undefined: 20 seeds for the book's dropout run (dropout_mlp_20seeds.json), 3 for
 * the other settings (dropout_mlp.json).
 */
export function mlpReference(run: MlpOptions): MlpReference | undefined {
  const key = mlpReferenceKey(run);
  if (!key) return undefined;
  const twenty = key === "dropout" ? (load("dropout_mlp_20seeds.json")?.runs as MlpSeed[] | undefined) : undefined;
  const runs = twenty?.length ? twenty : (load("dropout_mlp.json")?.runs?.[key] as MlpSeed[] | undefined);
  if (!runs?.length) return undefined;
  const epochs: MlpEpochReference[] = [];
  for (const { epoch } of runs[0].hist) {
    const hs = runs.map((r) => r.hist.find((h) => h.epoch === epoch)).filter((h) => h !== undefined);
    epochs.push({
      epoch,
      trainLoss: seedStats(hs.map((h) => h.train_loss)),
      trainAcc: seedStats(hs.map((h) => h.train_acc)),
      testAcc: seedStats(hs.map((h) => h.test_acc)),
    });
  }
  return { key, seeds: runs.length, epochs };
}

/** The size of the full Fashion-MNIST training split: the MLP reference holds only for it. */
export const FULL_FASHION_MNIST = { train: 60000, test: 10000 } as const;

/** PyTorch's per-epoch seed statistics for d2l's LeNet with the book's settings (lr 0.9, batch 256), else undefined. */
export function lenetReference(run: { lr?: number; batchSize?: number }): MlpReference | undefined {
  if (!same(run.lr ?? 0.9, 0.9) || (run.batchSize ?? 256) !== 256) return undefined;
  const runs = load("lenet.json")?.runs as { hist: { epoch: number; train_loss: number; train_acc: number; test_acc: number }[] }[] | undefined;
  if (!runs?.length) return undefined;
  const epochs: MlpEpochReference[] = runs[0].hist.map(({ epoch }) => {
    const hs = runs.map((r) => r.hist.find((h) => h.epoch === epoch)).filter((h) => h !== undefined);
    return { epoch, trainLoss: seedStats(hs.map((h) => h.train_loss)), trainAcc: seedStats(hs.map((h) => h.train_acc)), testAcc: seedStats(hs.map((h) => h.test_acc)) };
  });
  return { key: "lenet", seeds: runs.length, epochs };
}
