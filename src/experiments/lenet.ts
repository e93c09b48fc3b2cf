// Dive into Deep Learning, "Convolutional Neural Networks (LeNet)": the
// sigmoid / average-pooling LeNet-5 with Xavier-uniform weights, SGD lr 0.9,
// batch 256, on Fashion-MNIST, and PyTorch 1.13's seed range for it
// (data/pytorch-reference/lenet.json).

import { data, manualSeed, nn, optim } from "../index.ts";
import { buildLenet, fit, type EpochStats, type OnBatch } from "../training.ts";

export interface LenetOptions {
  lr?: number;
  batchSize?: number;
  epochs?: number;
  seed?: number;
  /** Stop each epoch after this many batches (for quick checks); default: the whole training set. */
  maxBatchesPerEpoch?: number;
  /** A directory with the four Fashion-MNIST IDX files; default: the installed set, else the bundled subset. */
  root?: string;
  onStart?: (info: { trainSize: number; testSize: number; batchesPerEpoch: number }) => void;
  onEpoch?: (e: EpochStats) => void;
  onBatch?: OnBatch;
}

/** The book's settings: PyTorch's reference ranges hold for these on the full data set. */
export const BOOK_LENET_SETTINGS = { lr: 0.9, batchSize: 256, epochs: 10 } as const;

export async function trainLenet(opts: LenetOptions = {}): Promise<{ net: nn.Sequential; history: EpochStats[]; trainSize: number; testSize: number; stopped: boolean }> {
  const { lr = BOOK_LENET_SETTINGS.lr, batchSize = BOOK_LENET_SETTINGS.batchSize, epochs = BOOK_LENET_SETTINGS.epochs } = opts;
  const { seed = 0, maxBatchesPerEpoch = Infinity } = opts;
  manualSeed(seed);
  const train = await data.fashionMnist({ root: opts.root, train: true });
  const test = await data.fashionMnist({ root: opts.root, train: false });
  const trainLoader = new data.DataLoader(train, { batchSize, shuffle: true });
  const testLoader = new data.DataLoader(test, { batchSize });
  const net = buildLenet();
  // As the book trains it: plain SGD on every parameter.
  const opt = new optim.SGD(net.parameters(), { lr });
  opts.onStart?.({ trainSize: train.length, testSize: test.length, batchesPerEpoch: Math.min(trainLoader.length, maxBatchesPerEpoch) });
  const { history, stopped } = await fit(net, trainLoader, testLoader, opt, { epochs, maxBatchesPerEpoch, onBatch: opts.onBatch, onEpoch: opts.onEpoch });
  return { net, history, trainSize: train.length, testSize: test.length, stopped };
}
