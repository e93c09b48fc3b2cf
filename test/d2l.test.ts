// The two d2l chapters reproduced inside PyTorch 1.13's measured ranges
// (data/pytorch-reference/, 10 seeds for weight decay, 3 for the MLP).
// Our random streams differ from PyTorch's, so single runs can't be compared
// bit for bit: each check runs several seeds and requires the median (weight
// decay) or the mean (MLP) of ours to fall inside PyTorch's [min, max].

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BOOK_VARIANTS, runWeightDecay } from "../src/experiments/weight-decay.ts";
import { dropoutFromScratchDemo, trainDropoutMlp, type EpochStats } from "../src/experiments/dropout.ts";

type Range = { mean: number; min: number; max: number };
const reference = (name: string) =>
  JSON.parse(readFileSync(new URL(`../data/pytorch-reference/${name}`, import.meta.url), "utf8"));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const expectInside = (x: number, r: { min: number; max: number }, what: string) => {
  expect(x, `${what} = ${x} should lie in PyTorch's [${r.min}, ${r.max}]`).toBeGreaterThanOrEqual(r.min);
  expect(x, `${what} = ${x} should lie in PyTorch's [${r.min}, ${r.max}]`).toBeLessThanOrEqual(r.max);
};

describe("d2l weight decay (200 inputs, 20 examples, batch 1, 100 epochs, lr 0.003)", () => {
  const ref = reference("weight_decay.json").variants as Record<string, Record<string, Range>>;
  const SEEDS = 10;
  for (const v of BOOK_VARIANTS) {
    it(`${v.label}: median train loss, test loss, ‖w‖ and sparsity over ${SEEDS} seeds are inside PyTorch's ranges`, () => {
      const runs = Array.from({ length: SEEDS }, (_, seed) => runWeightDecay({ ...v.opts, seed }));
      expectInside(median(runs.map((r) => r.trainLoss)), ref[v.key].train, "train loss");
      expectInside(median(runs.map((r) => r.testLoss)), ref[v.key].test, "test loss");
      expectInside(median(runs.map((r) => r.wNorm)), ref[v.key].w_l2, "‖w‖");
      expectInside(median(runs.map((r) => r.sparsity)), ref[v.key]["frac_lt_1e-3"], "share of |w| < 1e-3");
    });
  }

  it("the L2 penalty in the loss and SGD's weightDecay give the same weights from the same start", () => {
    const a = runWeightDecay({ lambd: 3, via: "loss", seed: 5, epochs: 20 });
    const b = runWeightDecay({ lambd: 3, via: "optimizer", seed: 5, epochs: 20 });
    expect(Math.abs(a.wNorm - b.wNorm)).toBeLessThan(1e-6);
    expect(Math.abs(a.testLoss - b.testLoss) / a.testLoss).toBeLessThan(1e-4);
  });

  it("without a penalty the model overfits: train loss ~1e-13, test loss > 10", () => {
    const r = runWeightDecay({ lambd: 0, seed: 1 });
    expect(r.trainLoss).toBeLessThan(1e-10);
    expect(r.testLoss).toBeGreaterThan(10);
  });
});

describe("d2l dropout from scratch on arange(16).view(2, 8)", () => {
  const [p0, p5, p1] = dropoutFromScratchDemo(0);
  const x = Array.from({ length: 16 }, (_, i) => i);

  it("p = 0 returns the input unchanged", () => {
    expect(p0.out.flat()).toEqual(x);
  });

  it("p = 0.5 zeroes some elements and doubles the rest", () => {
    const flat = p5.out.flat();
    flat.forEach((v, i) => expect(v === 0 || v === 2 * x[i]).toBe(true));
    expect(flat.filter((v, i) => v === 0 && x[i] !== 0).length).toBeGreaterThan(0);
    expect(flat.filter((v) => v !== 0).length).toBeGreaterThan(0);
  });

  it("p = 1 returns zeros", () => {
    expect(p1.out.flat()).toEqual(new Array(16).fill(0));
  });
});

const FULL = "/usr/share/datasets/fashion-mnist";
const hasFullData = ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"].every(
  (f) => existsSync(`${FULL}/${f}`) || existsSync(`${FULL}/${f}.gz`),
);

describe("d2l dropout MLP on Fashion-MNIST (784-256-256-10, p 0.2/0.5, SGD lr 0.5, batch 256)", () => {
  // PyTorch's ranges are for the full 60 000 images; CI installs them (.ci/run). Without them
  // only the bundled-subset check below runs.
  it.skipIf(!hasFullData)("trains 5 epochs inside PyTorch's seed ranges (mean of 3 seeds, full data)", async () => {
    const runs: EpochStats[][] = [];
    for (const seed of [0, 1, 2]) runs.push((await trainDropoutMlp({ epochs: 5, seed, root: FULL })).history);
    const ref = reference("dropout_mlp.json").runs.dropout as { hist: { epoch: number; train_loss: number; train_acc: number; test_acc: number }[] }[];
    // PyTorch measured 3 seeds; 3 draws understate the spread of a mean (test accuracy alone swings
    // ±0.05 between epochs at lr 0.5), so the band is their [min, max] widened by half its width.
    const refRange = (epoch: number, k: "train_loss" | "train_acc" | "test_acc") => {
      const xs = ref.map((r) => r.hist[epoch - 1][k]);
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      return { min: lo - (hi - lo) / 2, max: hi + (hi - lo) / 2 };
    };
    const mean = (epoch: number, k: keyof EpochStats) => runs.reduce((s, h) => s + (h[epoch - 1][k] as number), 0) / runs.length;
    for (const epoch of [1, 3, 5]) expectInside(mean(epoch, "trainLoss"), refRange(epoch, "train_loss"), `train CE at epoch ${epoch}`);
    expectInside(mean(5, "trainAcc"), refRange(5, "train_acc"), "train accuracy at epoch 5");
    expectInside(mean(5, "testAcc"), refRange(5, "test_acc"), "test accuracy at epoch 5");
    // And the headline number of the issue: test accuracy about 0.83–0.85 after 5 epochs.
    expect(mean(5, "testAcc")).toBeGreaterThan(0.82);
    expect(mean(5, "testAcc")).toBeLessThan(0.86);
  }, 600_000);

  // 10 epochs of the 6 000-image subset are as many steps as one full epoch (PyTorch: 0.68–0.71 test accuracy).
  it("learns on the bundled subset: test accuracy above 0.65 after 10 epochs", async () => {
    const { history, trainSize } = await trainDropoutMlp({ epochs: 10, seed: 0, root: new URL("../data/fashion-mnist-subset/", import.meta.url).pathname });
    expect(trainSize).toBe(6000);
    expect(history[9].testAcc).toBeGreaterThan(0.65);
    expect(history[9].trainLoss).toBeLessThan(history[0].trainLoss / 2);
  }, 120_000);
});
