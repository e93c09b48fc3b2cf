// What PyTorch 1.13 measured with the book's settings (data/pytorch-reference/),
// and which of those ranges a run's settings can be compared with. Node only.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BOOK_MLP_SETTINGS, type MlpOptions } from "./dropout.ts";
import { BOOK_VARIANTS, BOOK_WEIGHT_DECAY_SETTINGS, type Penalty, type Via } from "./weight-decay.ts";

export interface Range {
  min: number;
  max: number;
  mean?: number;
}

export interface WeightDecayReference {
  key: string;
  what: string;
  train: Range;
  test: Range;
  wNorm: Range;
  sparsity: Range;
}

export interface MlpEpochReference {
  epoch: number;
  trainLoss: Range;
  trainAcc: Range;
  testAcc: Range;
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
    if (existsSync(join(candidate, "weight_decay.json"))) return candidate;
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

/** PyTorch's range over 10 seeds for a weight-decay run with the book's settings, else undefined. */
export function weightDecayReference(run: Parameters<typeof weightDecayReferenceKey>[0]): WeightDecayReference | undefined {
  const key = weightDecayReferenceKey(run);
  const variant = key ? load("weight_decay.json")?.variants?.[key] : undefined;
  if (!key || !variant) return undefined;
  return { key, what: variant.what, train: variant.train, test: variant.test, wNorm: variant.w_l2, sparsity: variant["frac_lt_1e-3"] };
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

/** PyTorch's per-epoch ranges (min/max over its seeds) for an MLP run with the book's settings, else undefined. */
export function mlpReference(run: MlpOptions): MlpReference | undefined {
  const key = mlpReferenceKey(run);
  const runs = key ? (load("dropout_mlp.json")?.runs?.[key] as { hist: { epoch: number; train_loss: number; train_acc: number; test_acc: number }[] }[] | undefined) : undefined;
  if (!key || !runs?.length) return undefined;
  const range = (xs: number[]): Range => ({ min: Math.min(...xs), max: Math.max(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length });
  const epochs: MlpEpochReference[] = [];
  for (const { epoch } of runs[0].hist) {
    const hs = runs.map((r) => r.hist.find((h) => h.epoch === epoch)).filter((h) => h !== undefined);
    epochs.push({
      epoch,
      trainLoss: range(hs.map((h) => h.train_loss)),
      trainAcc: range(hs.map((h) => h.train_acc)),
      testAcc: range(hs.map((h) => h.test_acc)),
    });
  }
  return { key, seeds: runs.length, epochs };
}

/** The size of the full Fashion-MNIST training split: the MLP reference holds only for it. */
export const FULL_FASHION_MNIST = { train: 60000, test: 10000 } as const;

/** PyTorch's per-epoch ranges over its seeds for d2l's LeNet with the book's settings (lr 0.9, batch 256), else undefined. */
export function lenetReference(run: { lr?: number; batchSize?: number }): MlpReference | undefined {
  if (!same(run.lr ?? 0.9, 0.9) || (run.batchSize ?? 256) !== 256) return undefined;
  const runs = load("lenet.json")?.runs as { hist: { epoch: number; train_loss: number; train_acc: number; test_acc: number }[] }[] | undefined;
  if (!runs?.length) return undefined;
  const range = (xs: number[]): Range => ({ min: Math.min(...xs), max: Math.max(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length });
  const epochs = runs[0].hist.map(({ epoch }) => {
    const hs = runs.map((r) => r.hist.find((h) => h.epoch === epoch)).filter((h) => h !== undefined);
    return { epoch, trainLoss: range(hs.map((h) => h.train_loss)), trainAcc: range(hs.map((h) => h.train_acc)), testAcc: range(hs.map((h) => h.test_acc)) };
  });
  return { key: "lenet", seeds: runs.length, epochs };
}
