// Dive into Deep Learning, "Dropout": dropout from scratch on a small tensor,
// then the 784-256-256-10 MLP with nn.Dropout trained on Fashion-MNIST.

import { arange, data, manualSeed, nn, type Tensor } from "../index.ts";
import { buildMlp, fit, makeOptimizer, type EpochStats, type OnBatch, type OptimizerOptions } from "../training.ts";

/** The book's from-scratch dropout layer, with the uniform mask the text describes. */
export function dropoutLayer(X: Tensor, p: number): Tensor {
  return nn.functional.dropout(X, p, true);
}

export function dropoutFromScratchDemo(seed = 0): { p: number; out: number[][] }[] {
  manualSeed(seed);
  const X = arange(16).view(2, 8).float();
  return [0, 0.5, 1].map((p) => ({ p, out: dropoutLayer(X, p).toArray() as number[][] }));
}

export interface MlpOptions extends OptimizerOptions {
  dropout?: [number, number];
  hidden?: [number, number];
  batchSize?: number;
  epochs?: number;
  /** Stop each epoch after this many batches (for quick checks); default: the whole training set. */
  maxBatchesPerEpoch?: number;
  seed?: number;
  /** A directory with the four Fashion-MNIST IDX files; default: the installed set, else the bundled subset. */
  root?: string;
  /** Called once the data is loaded, before the first batch. */
  onStart?: (info: { trainSize: number; testSize: number; batchesPerEpoch: number }) => void;
  onEpoch?: (e: EpochStats) => void;
  onBatch?: OnBatch;
}

export async function trainDropoutMlp(opts: MlpOptions = {}): Promise<{ net: nn.Sequential; history: EpochStats[]; trainSize: number; testSize: number; stopped: boolean }> {
  const { dropout = [0.2, 0.5], hidden = [256, 256], batchSize = 256, epochs = 5, seed = 0, maxBatchesPerEpoch = Infinity } = opts;
  manualSeed(seed);
  const train = await data.fashionMnist({ root: opts.root, train: true });
  const test = await data.fashionMnist({ root: opts.root, train: false });
  const trainLoader = new data.DataLoader(train, { batchSize, shuffle: true });
  const testLoader = new data.DataLoader(test, { batchSize });
  const net = buildMlp(dropout, hidden);
  const opt = makeOptimizer(net, opts);
  opts.onStart?.({ trainSize: train.length, testSize: test.length, batchesPerEpoch: Math.min(trainLoader.length, maxBatchesPerEpoch) });
  const { history, stopped } = await fit(net, trainLoader, testLoader, opt, { epochs, maxBatchesPerEpoch, onBatch: opts.onBatch, onEpoch: opts.onEpoch });
  return { net, history, trainSize: train.length, testSize: test.length, stopped };
}

/** The book's settings for the MLP (the reference ranges hold for these, on the full data set). */
export const BOOK_MLP_SETTINGS = {
  dropout: [0.2, 0.5], hidden: [256, 256], lr: 0.5, batchSize: 256, epochs: 5, optimizer: "sgd", momentum: 0, l1: 0, weightDecay: 0,
} as const;
