// The training loop every caller shares: the command line, the web demo's
// worker, the benchmarks and the tests. The models it trains, the optimizer
// factory, one epoch (d2l's train_epoch_ch3), the evaluation, and `fit`, which
// runs epochs of both and reports each as EpochStats.

import { nn, noGrad, optim, type Tensor } from "./index.ts";

export type OptimizerName = "sgd" | "adam" | "adamw";

export interface OptimizerOptions {
  /** "sgd" (default, the book's), "adam" or "adamw". */
  optimizer?: OptimizerName;
  /** Default 0.5 for SGD (the book's), 1e-3 for Adam and AdamW (PyTorch's). */
  lr?: number;
  /** Weight decay on the weights (not the biases). Default 0; AdamW's default is PyTorch's 1e-2. */
  weightDecay?: number;
  /** SGD momentum (default 0). */
  momentum?: number;
  /** SGD's L1 penalty λ on the weights (not the biases), default 0. */
  l1?: number;
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

/** Where an epoch stands after a batch: running means over the batches so far. */
export interface BatchProgress {
  batch: number;
  total: number;
  /** Images trained on so far in this epoch. */
  images: number;
  trainLoss: number;
  trainAcc: number;
  imagesPerSecond: number;
}

/**
 * Called after each batch (progress bars, soak rows); return false to stop after
 * this batch. It may return a promise (training waits for it), which lets the
 * event loop run between batches: timers, and signal handlers such as Ctrl-C's.
 */
/** What trainEpoch iterates: a DataLoader of (images, labels) batches, or anything like one. */
export type Batches = Iterable<readonly [Tensor, Tensor]> & { length: number };

export type OnBatch = (p: BatchProgress) => boolean | void | Promise<boolean | void>;

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

/** d2l's dropout MLP, 784-hidden-hidden-10, its parameters N(0, 0.01²) as the book's. */
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

/** The optimizer the options ask for, with weight decay (and L1) on the weights only. */
export function makeOptimizer(net: nn.Module, opts: OptimizerOptions = {}): optim.SGD | optim.Adam | optim.AdamW {
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

/** Share of correct predictions over a loader, in eval mode. */
export function evaluateAccuracy(net: nn.Module, loader: Iterable<readonly [Tensor, Tensor]>): number {
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

/**
 * One epoch of the book's training loop (d2l's train_epoch_ch3): forward,
 * loss, zeroGrad, backward, step on each batch, with the loss and the
 * batch accuracy read after the step. Stops after maxBatches, or after a batch
 * for which onBatch returns false (or a promise of false).
 */
export async function trainEpoch(
  net: nn.Module, loader: Batches, opt: { zeroGrad(): void; step(): void },
  lossFn: nn.CrossEntropyLoss,
  opts: { maxBatches?: number; onBatch?: OnBatch } = {},
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
      let go = opts.onBatch({ batch, total, images: seen, trainLoss: lossSum / seen, trainAcc: correct / seen, imagesPerSecond: seen / seconds });
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

export interface FitOptions {
  epochs: number;
  /** Stop each epoch after this many batches (for quick checks); default: the whole training set. */
  maxBatchesPerEpoch?: number;
  onBatch?: OnBatch;
  onEpoch?: (e: EpochStats) => void;
}

/** Epochs of trainEpoch, each followed by evaluateAccuracy on the test loader; stops early when onBatch says so. */
export async function fit(
  net: nn.Module, trainLoader: Batches, testLoader: Iterable<readonly [Tensor, Tensor]>, opt: { zeroGrad(): void; step(): void },
  opts: FitOptions,
): Promise<{ history: EpochStats[]; stopped: boolean }> {
  const { epochs, maxBatchesPerEpoch = Infinity, onBatch } = opts;
  const lossFn = new nn.CrossEntropyLoss();
  const total = Math.min(trainLoader.length, maxBatchesPerEpoch);
  const history: EpochStats[] = [];
  let stopped = false;
  for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
    const t0 = performance.now();
    const e = await trainEpoch(net, trainLoader, opt, lossFn, { maxBatches: maxBatchesPerEpoch, onBatch });
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
  return { history, stopped };
}
