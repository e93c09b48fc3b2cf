// Dive into Deep Learning, "Dropout": dropout from scratch on a small tensor,
// then the 784-256-256-10 MLP with nn.Dropout trained on Fashion-MNIST.
// Run: npx tsx examples/dropout.ts [--epochs 5] [--subset]

import { pathToFileURL } from "node:url";
import { arange, data, manualSeed, nn, noGrad, optim, type Tensor } from "../src/index.ts";

/** The book's from-scratch dropout layer, with the uniform mask the text describes. */
export function dropoutLayer(X: Tensor, p: number): Tensor {
  return nn.functional.dropout(X, p, true);
}

export function dropoutFromScratchDemo(seed = 0): { p: number; out: number[][] }[] {
  manualSeed(seed);
  const X = arange(16).view(2, 8).float();
  return [0, 0.5, 1].map((p) => ({ p, out: dropoutLayer(X, p).toArray() as number[][] }));
}

export interface MlpOptions {
  dropout?: [number, number];
  hidden?: [number, number];
  lr?: number;
  batchSize?: number;
  epochs?: number;
  /** SGD weight decay on the weights (not the biases). */
  weightDecay?: number;
  seed?: number;
  /** A directory with the four Fashion-MNIST IDX files; default: the installed set, else the bundled subset. */
  root?: string;
  onEpoch?: (e: EpochStats) => void;
  /** Called after each batch (for progress bars); return false to stop after this batch. */
  onBatch?: (done: number, total: number, runningLoss: number) => boolean | void;
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

export async function trainDropoutMlp(opts: MlpOptions = {}): Promise<{ net: nn.Sequential; history: EpochStats[]; trainSize: number; testSize: number; stopped: boolean }> {
  const { dropout = [0.2, 0.5], hidden = [256, 256], lr = 0.5, batchSize = 256, epochs = 5, weightDecay = 0, seed = 0 } = opts;
  manualSeed(seed);
  const train = await data.fashionMnist({ root: opts.root, train: true });
  const test = await data.fashionMnist({ root: opts.root, train: false });
  const trainLoader = new data.DataLoader(train, { batchSize, shuffle: true });
  const testLoader = new data.DataLoader(test, { batchSize });
  const net = buildMlp(dropout, hidden);
  const weights = net.parameters().filter((p) => p.ndim > 1);
  const biases = net.parameters().filter((p) => p.ndim === 1);
  const opt = new optim.SGD([{ params: weights, weightDecay }, { params: biases }], { lr });
  const lossFn = new nn.CrossEntropyLoss();
  const history: EpochStats[] = [];
  let stopped = false;
  for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
    const t0 = performance.now();
    net.train();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batch = 0;
    for (const [X, y] of trainLoader) {
      const logits = net.forward(X);
      const loss = lossFn.forward(logits, y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      const n = y.shape[0];
      lossSum += loss.item() * n;
      correct += noGrad(() => logits.argmax(1).eq(y).sum().item());
      seen += n;
      batch++;
      if (opts.onBatch?.(batch, trainLoader.length, lossSum / seen) === false) {
        stopped = true;
        break;
      }
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const testAcc = evaluateAccuracy(net, testLoader);
    const stats: EpochStats = {
      epoch, trainLoss: lossSum / seen, trainAcc: correct / seen, testAcc,
      seconds: (performance.now() - t0) / 1000, imagesPerSecond: seen / trainSeconds,
    };
    history.push(stats);
    opts.onEpoch?.(stats);
  }
  return { net, history, trainSize: train.length, testSize: test.length, stopped };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const epochs = Number(args[args.indexOf("--epochs") + 1]) || 5;
  for (const { p, out } of dropoutFromScratchDemo()) console.log(`dropout p = ${p}:`, JSON.stringify(out));
  await trainDropoutMlp({
    epochs,
    onEpoch: (s) =>
      console.log(
        `epoch ${s.epoch}: train loss ${s.trainLoss.toFixed(3)}, train acc ${s.trainAcc.toFixed(3)}, ` +
          `test acc ${s.testAcc.toFixed(3)}, ${s.seconds.toFixed(1)} s (${Math.round(s.imagesPerSecond)} img/s)`,
      ),
  });
}
