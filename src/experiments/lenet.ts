// Dive into Deep Learning, "Convolutional Neural Networks (LeNet)": the
// sigmoid / average-pooling LeNet-5 with Xavier-uniform weights, SGD lr 0.9,
// batch 256, on Fashion-MNIST, and PyTorch 1.13's seed range for it
// (data/pytorch-reference/lenet.json).

import { data, manualSeed, nn, optim } from "../index.ts";
import { evaluateAccuracy, trainEpoch, type EpochStats } from "./dropout.ts";

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
  /** After each batch; return false (or a promise of it) to stop after this batch. */
  onBatch?: (done: number, total: number, runningLoss: number) => boolean | void | Promise<boolean | void>;
}

/** The book's settings: PyTorch's reference ranges hold for these on the full data set. */
export const BOOK_LENET_SETTINGS = { lr: 0.9, batchSize: 256, epochs: 10 } as const;

/** d2l's LeNet, its Conv2d and Linear weights Xavier-uniform (the book's init_cnn), biases PyTorch's default. */
export function buildLenet(): nn.Sequential {
  const net = new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Conv2d(6, 16, 5), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120), new nn.Sigmoid(),
    new nn.Linear(120, 84), new nn.Sigmoid(),
    new nn.Linear(84, 10),
  );
  net.apply((m) => {
    if (m instanceof nn.Conv2d || m instanceof nn.Linear) nn.init.xavierUniform_(m.weight);
  });
  return net;
}

export async function trainLenet(opts: LenetOptions = {}): Promise<{ net: nn.Sequential; history: EpochStats[]; trainSize: number; testSize: number; stopped: boolean }> {
  const { lr = BOOK_LENET_SETTINGS.lr, batchSize = BOOK_LENET_SETTINGS.batchSize, epochs = BOOK_LENET_SETTINGS.epochs } = opts;
  const { seed = 0, maxBatchesPerEpoch = Infinity } = opts;
  manualSeed(seed);
  const train = await data.fashionMnist({ root: opts.root, train: true });
  const test = await data.fashionMnist({ root: opts.root, train: false });
  const trainLoader = new data.DataLoader(train, { batchSize, shuffle: true });
  const testLoader = new data.DataLoader(test, { batchSize });
  const net = buildLenet();
  const opt = new optim.SGD(net.parameters(), { lr });
  const lossFn = new nn.CrossEntropyLoss();
  const history: EpochStats[] = [];
  const total = Math.min(trainLoader.length, maxBatchesPerEpoch);
  opts.onStart?.({ trainSize: train.length, testSize: test.length, batchesPerEpoch: total });
  const onBatch = opts.onBatch;
  let stopped = false;
  for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
    const t0 = performance.now();
    const e = await trainEpoch(net, trainLoader, opt, lossFn, {
      maxBatches: maxBatchesPerEpoch,
      onBatch: onBatch && ((p) => onBatch(p.batch, p.total, p.trainLoss)),
    });
    stopped = e.stopped;
    const testAcc = evaluateAccuracy(net, testLoader);
    const stats: EpochStats = {
      epoch, trainLoss: e.trainLoss, trainAcc: e.trainAcc, testAcc,
      seconds: (performance.now() - t0) / 1000, imagesPerSecond: e.images / e.seconds,
      batches: e.batches, batchesPerEpoch: total,
    };
    history.push(stats);
    opts.onEpoch?.(stats);
  }
  return { net, history, trainSize: train.length, testSize: test.length, stopped };
}
