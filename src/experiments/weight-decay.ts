// Dive into Deep Learning, "Weight decay": a 200-input linear regression with
// 20 training examples overfits; an L2 (or L1) penalty keeps it in check.

import { data, manualSeed, nn, noGrad, optim, randn, zeros, ones, type Tensor } from "../index.ts";

export type Penalty = "l2" | "l1";
export type Via = "loss" | "optimizer";

export interface WeightDecayOptions {
  lambd: number;
  penalty?: Penalty;
  /** "loss": the penalty is added to the loss (the book's from-scratch version); "optimizer": SGD's weightDecay / l1. */
  via?: Via;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  nTrain?: number;
  nTest?: number;
  numInputs?: number;
  /** Called after each epoch with the train and test loss. */
  onEpoch?: (epoch: number, trainLoss: number, testLoss: number) => void;
}

export interface WeightDecayEpoch {
  epoch: number;
  trainLoss: number;
  testLoss: number;
}

export interface WeightDecayResult {
  lambd: number;
  penalty: Penalty;
  via: Via;
  /** Mean of (ŷ − y)²/2 over the set, without the penalty. */
  trainLoss: number;
  testLoss: number;
  /** ‖w‖₂ */
  wNorm: number;
  /** Share of weights with |w| < 1e-3. */
  sparsity: number;
  history: WeightDecayEpoch[];
  seconds: number;
}

const squaredLoss = (yHat: Tensor, y: Tensor) => yHat.sub(y.reshape(yHat.shape)).square().div(2);

/** Mean squared loss of X·w + b over a whole dataset. */
function evaluate(X: Tensor, y: Tensor, w: Tensor, b: Tensor): number {
  return noGrad(() => squaredLoss(X.matmul(w).add(b), y).mean().item());
}

/**
 * The experiment one epoch at a time: yields each epoch's losses and returns the
 * result. `next(true)` stops after the epoch just yielded and returns the result
 * so far, so a caller can pause between epochs (for a progress bar, or Ctrl-C)
 * without losing what was computed. `runWeightDecay` runs it to the end.
 */
export function* weightDecayEpochs(opts: WeightDecayOptions): Generator<WeightDecayEpoch, WeightDecayResult, boolean | undefined> {
  const {
    lambd, penalty = "l2", via = "loss", epochs = 100, lr = 0.003, batchSize = 1, seed = 0,
    nTrain = 20, nTest = 100, numInputs = 200,
  } = opts;
  if (!(lambd >= 0)) throw new RangeError(`lambd must be ≥ 0, got ${lambd}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${epochs}`);
  const start = performance.now();
  manualSeed(seed);
  const trueW = ones([numInputs, 1]).mul(0.01).keep();
  const [Xtr, ytr] = data.syntheticRegression(trueW, 0.05, nTrain);
  const [Xte, yte] = data.syntheticRegression(trueW, 0.05, nTest);
  const w = randn([numInputs, 1], { requiresGrad: true });
  const b = zeros([1], { requiresGrad: true });
  const owned: Tensor[] = [trueW, Xtr, ytr, Xte, yte, w, b];
  try {
    const train = new data.TensorDataset(Xtr, ytr);
    const loader = new data.DataLoader(train, { batchSize, shuffle: true });
    const penaltyOf = penalty === "l2" ? nn.functional.l2Penalty : nn.functional.l1Penalty;
    // The optimizer route: the same SGD update, with the penalty's gradient applied by SGD (weight only).
    const opt = new optim.SGD(
      [{ params: [w], ...(via === "optimizer" ? (penalty === "l2" ? { weightDecay: lambd } : { l1: lambd }) : {}) }, { params: [b] }],
      { lr },
    );
    const history: WeightDecayEpoch[] = [];
    for (let epoch = 1; epoch <= epochs; epoch++) {
      for (const [X, y] of loader) {
        let l = squaredLoss(X.matmul(w).add(b), y);
        if (via === "loss" && lambd !== 0) l = l.add(penaltyOf(w).mul(lambd));
        opt.zeroGrad();
        // The book sums the batch's losses and divides the step by the batch size: a mean.
        l.sum().div(X.shape[0]).backward();
        opt.step();
      }
      const trainLoss = evaluate(Xtr, ytr, w, b);
      const testLoss = evaluate(Xte, yte, w, b);
      const record = { epoch, trainLoss, testLoss };
      history.push(record);
      opts.onEpoch?.(epoch, trainLoss, testLoss);
      if ((yield { ...record }) === true) break;
    }
    const wAbs = noGrad(() => w.abs());
    owned.push(wAbs);
    return {
      lambd, penalty, via,
      trainLoss: history[history.length - 1].trainLoss,
      testLoss: history[history.length - 1].testLoss,
      wNorm: noGrad(() => w.norm().item()),
      sparsity: noGrad(() => wAbs.lt(1e-3).float().mean().item()),
      history,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    for (const t of owned) t.dispose();
  }
}

export function runWeightDecay(opts: WeightDecayOptions): WeightDecayResult {
  const run = weightDecayEpochs(opts);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
  }
}

/** The chapter's variants, keyed as in data/pytorch-reference/weight_decay.json. */
export const BOOK_VARIANTS: { key: string; label: string; opts: Omit<WeightDecayOptions, "seed"> }[] = [
  { key: "i_l2_lambd0", label: "λ = 0", opts: { lambd: 0 } },
  { key: "ii_l2_lambd3", label: "L2 in the loss, λ = 3", opts: { lambd: 3 } },
  { key: "iii_optimSGD_wd3_b0", label: "SGD weightDecay 3 (weight only)", opts: { lambd: 3, via: "optimizer" } },
  { key: "iv_l1_lambd0.1", label: "L1 in the loss, λ = 0.1", opts: { lambd: 0.1, penalty: "l1" } },
  { key: "iv_l1_lambd1", label: "L1, λ = 1", opts: { lambd: 1, penalty: "l1" } },
  { key: "iv_l1_lambd3", label: "L1, λ = 3", opts: { lambd: 3, penalty: "l1" } },
];

/** The book's settings for the experiment (the reference ranges hold for these). */
export const BOOK_WEIGHT_DECAY_SETTINGS = { epochs: 100, lr: 0.003, batchSize: 1, nTrain: 20, nTest: 100, numInputs: 200 } as const;
