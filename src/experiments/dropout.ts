// Dive into Deep Learning, "Dropout": dropout from scratch on a small tensor,
// then the 784-256-256-10 MLP with nn.Dropout trained on Fashion-MNIST.

import { arange, data, manualSeed, nn, noGrad, optim, type Tensor } from "../index.ts";

/** The book's from-scratch dropout layer, with the uniform mask the text describes. */
export function dropoutLayer(X: Tensor, p: number): Tensor {
  return nn.functional.dropout(X, p, true);
}

export function dropoutFromScratchDemo(seed = 0): { p: number; out: number[][] }[] {
  manualSeed(seed);
  const X = arange(16).view(2, 8).float();
  return [0, 0.5, 1].map((p) => ({ p, out: dropoutLayer(X, p).toArray() as number[][] }));
}

export type OptimizerName = "sgd" | "adam" | "adamw";

export interface MlpOptions {
  dropout?: [number, number];
  hidden?: [number, number];
  /** Default 0.5 for SGD (the book's), 1e-3 for Adam and AdamW (PyTorch's). */
  lr?: number;
  batchSize?: number;
  epochs?: number;
  /** Weight decay on the weights (not the biases). Default 0; AdamW's default is PyTorch's 1e-2. */
  weightDecay?: number;
  /** "sgd" (default, the book's), "adam" or "adamw". */
  optimizer?: OptimizerName;
  /** SGD momentum (default 0). */
  momentum?: number;
  /** SGD's L1 penalty λ on the weights (not the biases), default 0. */
  l1?: number;
  /** Stop each epoch after this many batches (for quick checks); default: the whole training set. */
  maxBatchesPerEpoch?: number;
  seed?: number;
  /** A directory with the four Fashion-MNIST IDX files; default: the installed set, else the bundled subset. */
  root?: string;
  /** Called once the data is loaded, before the first batch. */
  onStart?: (info: { trainSize: number; testSize: number; batchesPerEpoch: number }) => void;
  onEpoch?: (e: EpochStats) => void;
  /**
   * Called after each batch (for progress bars); return false to stop after this batch.
   * It may return a promise (training waits for it), which lets the event loop run between
   * batches: timers, and signal handlers such as Ctrl-C's.
   */
  onBatch?: (done: number, total: number, runningLoss: number) => boolean | void | Promise<boolean | void>;
}

export interface EpochStats {
  epoch: number;
  /** Per-sample mean cross-entropy over the epoch (train mode, before each step). */
  trainLoss: number;
  /** Accuracy of the train-mode logits before each step (d2l's train_ch3). */
  trainAcc: number;
  /** Accuracy in eval mode on the test set. */
  testAcc: number;
  seconds: number;
  imagesPerSecond: number;
  /** Batches trained in this epoch: fewer than `batchesPerEpoch` when training was stopped after a batch. */
  batches: number;
  /** Batches an epoch has (the loader's length, or maxBatchesPerEpoch when smaller). */
  batchesPerEpoch: number;
}

export function buildMlp(dropout: [number, number] = [0.2, 0.5], hidden: [number, number] = [256, 256]): nn.Sequential {
  const net = new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(784, hidden[0]), new nn.ReLU(), new nn.Dropout(dropout[0]),
    new nn.Linear(hidden[0], hidden[1]), new nn.ReLU(), new nn.Dropout(dropout[1]),
    new nn.Linear(hidden[1], 10),
  );
  for (const p of net.parameters()) nn.init.normal_(p, 0, 0.01);
  return net;
}

/** Share of correct predictions over a loader, in eval mode. */
export function evaluateAccuracy(net: nn.Module, loader: data.DataLoader): number {
  net.eval();
  let correct = 0;
  let total = 0;
  noGrad(() => {
    for (const [X, y] of loader) {
      correct += net.forward(X).argmax(1).eq(y).sum().item();
      total += y.shape[0];
    }
  });
  return correct / total;
}

/** The optimizer the options ask for, with weight decay (and L1) on the weights only. */
export function makeOptimizer(net: nn.Module, opts: Pick<MlpOptions, "optimizer" | "lr" | "weightDecay" | "momentum" | "l1"> = {}): optim.SGD | optim.Adam | optim.AdamW {
  const { optimizer = "sgd", momentum = 0, l1 = 0 } = opts;
  const weights = net.parameters().filter((p) => p.ndim > 1);
  const biases = net.parameters().filter((p) => p.ndim === 1);
  if (optimizer === "sgd") {
    const { lr = 0.5, weightDecay = 0 } = opts;
    return new optim.SGD([{ params: weights, weightDecay, l1 }, { params: biases }], { lr, momentum });
  }
  if (optimizer !== "adam" && optimizer !== "adamw") {
    throw new TypeError(`optimizer must be "sgd", "adam" or "adamw", got ${JSON.stringify(optimizer)}`);
  }
  if (momentum !== 0) throw new RangeError(`momentum is an SGD option; ${optimizer} has betas instead`);
  if (l1 !== 0) throw new RangeError(`l1 is an SGD option, not one of ${optimizer}`);
  const { lr = 1e-3, weightDecay = optimizer === "adamw" ? 1e-2 : 0 } = opts;
  const Opt = optimizer === "adam" ? optim.Adam : optim.AdamW;
  return new Opt([{ params: weights, weightDecay }, { params: biases, weightDecay: 0 }], { lr });
}

/** Where an epoch stands after a batch: running means over the batches so far. */
export interface BatchProgress {
  batch: number;
  total: number;
  trainLoss: number;
  trainAcc: number;
  imagesPerSecond: number;
}

export interface EpochResult {
  /** Per-sample mean cross-entropy and accuracy of the train-mode logits, before each step. */
  trainLoss: number;
  trainAcc: number;
  images: number;
  batches: number;
  seconds: number;
  /** True when onBatch returned false. */
  stopped: boolean;
}

/**
 * One epoch of the book's training loop (d2l's train_epoch_ch3): forward,
 * loss, zeroGrad, backward, step on each batch, with the loss and the
 * batch accuracy read after the step. Stops after maxBatches, or after a batch
 * for which onBatch returns false (or a promise of false).
 */
export async function trainEpoch(
  net: nn.Module, loader: Iterable<readonly [Tensor, Tensor]> & { length: number }, opt: { zeroGrad(): void; step(): void },
  lossFn: nn.CrossEntropyLoss,
  opts: { maxBatches?: number; onBatch?: (p: BatchProgress) => boolean | void | Promise<boolean | void> } = {},
): Promise<EpochResult> {
  const t0 = performance.now();
  const total = Math.min(loader.length, opts.maxBatches ?? Infinity);
  net.train();
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let batch = 0;
  let stopped = false;
  for (const [X, y] of loader) {
    const logits = net.forward(X);
    const loss = lossFn.forward(logits, y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    const n = y.shape[0]!;
    lossSum += loss.item() * n;
    correct += noGrad(() => logits.argmax(1).eq(y).sum().item());
    seen += n;
    batch++;
    if (opts.onBatch) {
      const seconds = (performance.now() - t0) / 1000;
      let go = opts.onBatch({ batch, total, trainLoss: lossSum / seen, trainAcc: correct / seen, imagesPerSecond: seen / seconds });
      if (go instanceof Promise) go = await go;
      if (go === false) {
        stopped = true;
        break;
      }
    }
    if (batch >= total) break;
  }
  return { trainLoss: lossSum / seen, trainAcc: correct / seen, images: seen, batches: batch, seconds: (performance.now() - t0) / 1000, stopped };
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

/** The book's settings for the MLP (the reference ranges hold for these, on the full data set). */
export const BOOK_MLP_SETTINGS = {
  dropout: [0.2, 0.5], hidden: [256, 256], lr: 0.5, batchSize: 256, epochs: 5, optimizer: "sgd", momentum: 0, l1: 0, weightDecay: 0,
} as const;
