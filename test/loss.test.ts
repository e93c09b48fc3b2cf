// Losses: fused log-softmax + NLL (cross-entropy) and squared error, against
// float64 references and values computed by PyTorch 1.13.

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { expectClose, getF32, makeBackends, ODD_SIZES, put, randomF32, rng, scratch } from "./helpers/backends.ts";

const backends = makeBackends();
const both = [backends.wasm, backends.js];

interface CrossEntropyResult {
  status: number;
  losses: Float32Array;
  lse: Float32Array;
}

function crossEntropy(be: Backend, logits: Float32Array, labels: Int32Array, c: number): CrossEntropyResult {
  const n = labels.length;
  const lp = put(be, logits);
  const yp = put(be, labels);
  const lossp = scratch(be, n);
  const lsep = scratch(be, n);
  const status = be.kernels.f32_cross_entropy(lp, yp, lossp, lsep, n, c);
  const result = { status, losses: getF32(be, lossp, n), lse: getF32(be, lsep, n) };
  for (const p of [lp, yp, lossp, lsep]) be.allocator.free(p);
  return result;
}

function crossEntropyBackward(
  be: Backend, logits: Float32Array, labels: Int32Array, c: number, dloss: Float32Array, inPlace = false,
): Float32Array {
  const n = labels.length;
  const lp = put(be, logits);
  const yp = put(be, labels);
  const lossp = scratch(be, n);
  const lsep = scratch(be, n);
  expect(be.kernels.f32_cross_entropy(lp, yp, lossp, lsep, n, c)).toBe(-1);
  const dp = put(be, dloss);
  // A guard slot after dlogits shows any write out of bounds.
  const gp = inPlace ? lp : scratch(be, n * c + 1);
  be.kernels.f32_cross_entropy_backward(lp, yp, lsep, dp, dloss.length === 1 ? 0 : 1, gp, n, c);
  const out = getF32(be, gp, n * c + (inPlace ? 0 : 1));
  if (!inPlace) expect(out[n * c], "the slot after dlogits is untouched").toBeNaN();
  for (const p of new Set([lp, yp, lossp, lsep, dp, gp])) be.allocator.free(p);
  return out.subarray(0, n * c);
}

/** float64 reference: per row, logsumexp and loss = lse − x[label]; gradient g·(softmax − onehot). */
function referenceCrossEntropy(logits: Float32Array, labels: Int32Array, c: number, dloss: Float32Array) {
  const n = labels.length;
  const losses = new Float64Array(n);
  const lse = new Float64Array(n);
  const grad = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * c, (i + 1) * c));
    const m = Math.max(...row);
    const sum = row.reduce((s, x) => s + Math.exp(x - m), 0);
    lse[i] = m + Math.log(sum);
    losses[i] = lse[i] - row[labels[i]];
    const g = dloss.length === 1 ? dloss[0] : dloss[i];
    for (let j = 0; j < c; j++) grad[i * c + j] = g * (Math.exp(row[j] - m) / sum - (j === labels[i] ? 1 : 0));
  }
  return { losses, lse, grad };
}

function randomLabels(n: number, c: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * c));
}

// PyTorch 1.13 values, from /usr/bin/python3:
//   logits = torch.tensor([[2.0, -1.0, 0.5, 3.25, -0.75], [0.0]*5, [1e4, -1e4, 9999.5, 0.0, -3.0]], requires_grad=True)
//   labels = torch.tensor([3, 1, 2])
//   F.cross_entropy(logits, labels, reduction="none");  torch.logsumexp(logits, 1)
//   F.cross_entropy(logits, labels).backward()                              -> logits.grad (mean)
//   (F.cross_entropy(logits, labels, reduction="none") * torch.tensor([0.5, -2.0, 1.0])).sum().backward()
const TORCH_LOGITS = Float32Array.from([2.0, -1.0, 0.5, 3.25, -0.75, 0, 0, 0, 0, 0, 1e4, -1e4, 9999.5, 0.0, -3.0]);
const TORCH_LABELS = Int32Array.from([3, 1, 2]);
const TORCH_LOSSES = [0.3242641, 1.609438, 0.974077];
const TORCH_LSE = [3.574264, 1.609438, 10000.474];
const TORCH_GRAD_MEAN = [
  0.06905332, 0.0034379624, 0.015407878, -0.09231359, 0.0044144313,
  0.06666666, -0.26666668, 0.06666666, 0.06666666, 0.06666666,
  0.20748645, 0.0, -0.20748645, 0.0, 0.0,
];
const TORCH_GRAD_WEIGHTED = [
  0.103579976, 0.0051569436, 0.023111816, -0.13847038, 0.0066216467,
  -0.39999998, 1.6, -0.39999998, -0.39999998, -0.39999998,
  0.62245935, 0.0, -0.6224593, 0.0, 0.0,
];

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_cross_entropy", (_name, be) => {
  it("matches a float64 reference for many row counts and class counts", () => {
    for (const c of [1, 2, 3, 10, 17, 100]) {
      for (const n of ODD_SIZES) {
        const logits = randomF32(n * c, n * 100 + c, -8, 8);
        const labels = randomLabels(n, c, n + c);
        const { status, losses, lse } = crossEntropy(be, logits, labels, c);
        const ref = referenceCrossEntropy(logits, labels, c, new Float32Array(1));
        expect(status).toBe(-1);
        expectClose(losses, ref.losses, 1e-6, 1e-6, `losses n=${n} c=${c}`);
        expectClose(lse, ref.lse, 1e-6, 1e-6, `lse n=${n} c=${c}`);
      }
    }
  });

  it("matches PyTorch's losses and logsumexp, including a row of ±1e4 logits", () => {
    const { status, losses, lse } = crossEntropy(be, TORCH_LOGITS, TORCH_LABELS, 5);
    expect(status).toBe(-1);
    expectClose(losses, TORCH_LOSSES, 1e-6, 0, "losses");
    expectClose(lse, TORCH_LSE, 1e-7, 0, "lse");
  });

  it("is stable for logits of ±1e4: finite, and as accurate as the f32 inputs allow", () => {
    const c = 7;
    const n = 50;
    const logits = randomF32(n * c, 8, -1e4, 1e4);
    for (let i = 0; i < n; i++) logits[i * c + (i % c)] = i % 2 ? 1e4 : -1e4;
    const labels = randomLabels(n, c, 9);
    const { losses, lse } = crossEntropy(be, logits, labels, c);
    const ref = referenceCrossEntropy(logits, labels, c, new Float32Array(1));
    expect(losses.every(Number.isFinite) && lse.every(Number.isFinite)).toBe(true);
    expectClose(losses, ref.losses, 1e-6, 1e-3, "losses");
    expectClose(lse, ref.lse, 1e-7, 0, "lse");
  });

  it("gives loss 0 (not NaN) when the label's logit dominates by 1e4, and log c for equal logits", () => {
    const { losses } = crossEntropy(be, Float32Array.from([1e4, -1e4, 0, 0, 0, 0]), Int32Array.from([0, 1]), 3);
    expect(losses[0]).toBe(0);
    expect(losses[1]).toBeCloseTo(Math.log(3), 6);
  });

  it("returns the index of the first label outside [0, c) without writing that row or reading out of bounds", () => {
    const c = 4;
    const logits = randomF32(5 * c, 10);
    for (const [bad, value] of [[0, -1], [2, 4], [4, 2 ** 31 - 1], [3, -(2 ** 31)]]) {
      const labels = Int32Array.from([0, 1, 2, 3, 0]);
      labels[bad] = value;
      const { status, losses } = crossEntropy(be, logits, labels, c);
      expect(status).toBe(bad);
      expect(losses[bad]).toBeNaN();
    }
  });

  it("propagates NaN in a row to that row's loss only", () => {
    const logits = Float32Array.from([1, NaN, 2, 1, 2, 3]);
    const { losses } = crossEntropy(be, logits, Int32Array.from([0, 2]), 3);
    expect(losses[0]).toBeNaN();
    expect(Number.isFinite(losses[1])).toBe(true);
  });
});

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_cross_entropy_backward", (_name, be) => {
  it("with dlossStride 0 (one upstream gradient, e.g. 1/N for a mean) matches a float64 reference", () => {
    for (const c of [1, 2, 3, 10, 17, 100]) {
      for (const n of ODD_SIZES) {
        const logits = randomF32(n * c, n * 7 + c, -6, 6);
        const labels = randomLabels(n, c, n * 3 + c);
        const dloss = Float32Array.of(1 / n);
        const grad = crossEntropyBackward(be, logits, labels, c, dloss);
        expectClose(grad, referenceCrossEntropy(logits, labels, c, dloss).grad, 1e-5, 1e-8, `grad n=${n} c=${c}`);
      }
    }
  });

  it("with dlossStride 1 (reduction none, one upstream gradient per row) matches a float64 reference", () => {
    for (const n of ODD_SIZES) {
      const c = 10;
      const logits = randomF32(n * c, n, -6, 6);
      const labels = randomLabels(n, c, n);
      const dloss = randomF32(n, n + 1, -2, 2);
      const grad = crossEntropyBackward(be, logits, labels, c, dloss);
      expectClose(grad, referenceCrossEntropy(logits, labels, c, dloss).grad, 1e-5, 1e-8, `grad n=${n}`);
    }
  });

  it("matches PyTorch's gradients for reduction mean and for a weighted reduction none, ±1e4 row included", () => {
    expectClose(crossEntropyBackward(be, TORCH_LOGITS, TORCH_LABELS, 5, Float32Array.of(1 / 3)), TORCH_GRAD_MEAN, 1e-6, 1e-9, "mean");
    expectClose(
      crossEntropyBackward(be, TORCH_LOGITS, TORCH_LABELS, 5, Float32Array.of(0.5, -2, 1)), TORCH_GRAD_WEIGHTED, 1e-6, 1e-9, "weighted",
    );
  });

  it("keeps full relative precision for logits of ±1e4 (the softmax is taken relative to the row max)", () => {
    const c = 5;
    const n = 40;
    const logits = randomF32(n * c, 11, 1e4 - 10, 1e4);
    for (let i = 0; i < n; i += 2) logits[i * c] = -1e4;
    const labels = randomLabels(n, c, 12);
    const dloss = Float32Array.of(1);
    const grad = crossEntropyBackward(be, logits, labels, c, dloss);
    expect(grad.every(Number.isFinite)).toBe(true);
    expectClose(grad, referenceCrossEntropy(logits, labels, c, dloss).grad, 1e-6, 1e-12, "grad");
  });

  it("gives rows that sum to 0 (the softmax sums to 1)", () => {
    const c = 33;
    const n = 17;
    const grad = crossEntropyBackward(be, randomF32(n * c, 13, -5, 5), randomLabels(n, c, 14), c, Float32Array.of(1));
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += grad[i * c + j];
      expect(Math.abs(s)).toBeLessThan(1e-6);
    }
  });

  it("works in place (dlogits = logits)", () => {
    const c = 9;
    const n = 15;
    const logits = randomF32(n * c, 15, -4, 4);
    const labels = randomLabels(n, c, 16);
    const dloss = randomF32(n, 17);
    expect([...crossEntropyBackward(be, logits, labels, c, dloss, true)]).toEqual([...crossEntropyBackward(be, logits, labels, c, dloss)]);
  });

  it("does not crash, read or write out of bounds when a label is out of range (that row gets the plain softmax)", () => {
    const c = 3;
    const logits = Float32Array.from([1, 2, 3, 1, 2, 3]);
    const labels = Int32Array.from([1, 3]);
    const lp = put(be, logits);
    const yp = put(be, labels);
    const lsep = put(be, new Float32Array(2));
    const dp = put(be, Float32Array.of(1));
    const gp = scratch(be, 7);
    be.kernels.f32_cross_entropy_backward(lp, yp, lsep, dp, 0, gp, 2, c);
    const grad = getF32(be, gp, 7);
    expect(grad[6]).toBeNaN();
    const ref = referenceCrossEntropy(logits.subarray(3), Int32Array.of(0), c, Float32Array.of(1)).grad;
    ref[0] += 1; // no label term
    expectClose(grad.subarray(3, 6), ref, 1e-6, 1e-9);
  });
});

// PyTorch 1.13 (/usr/bin/python3):
//   pred = torch.tensor([0.5, -1.5, 2.25, 3.0, -0.125, 7.0, 0.0], requires_grad=True)
//   target = torch.tensor([1.0, -1.0, 2.0, -3.0, 0.0, 6.5, 0.25])
//   F.mse_loss(pred, target) -> 5.270089; reduction="sum" -> 36.890625; .backward() of the mean -> pred.grad
const MSE_PRED = Float32Array.from([0.5, -1.5, 2.25, 3.0, -0.125, 7.0, 0.0]);
const MSE_TARGET = Float32Array.from([1.0, -1.0, 2.0, -3.0, 0.0, 6.5, 0.25]);
const TORCH_MSE_SUM = 36.890625;
const TORCH_MSE_MEAN = 5.270089;
const TORCH_MSE_GRAD_MEAN = [-0.14285715, -0.14285715, 0.071428575, 1.7142859, -0.035714287, 0.14285715, -0.071428575];

function mse(be: Backend, pred: Float32Array, target: Float32Array): number {
  const pp = put(be, pred);
  const tp = put(be, target);
  const result = be.kernels.f32_mse(pp, tp, pred.length);
  be.allocator.free(pp);
  be.allocator.free(tp);
  return result;
}

function mseBackward(be: Backend, pred: Float32Array, target: Float32Array, scale: number): Float32Array {
  const pp = put(be, pred);
  const tp = put(be, target);
  const dp = scratch(be, pred.length + 1);
  be.kernels.f32_mse_backward(pp, tp, dp, pred.length, scale);
  const out = getF32(be, dp, pred.length + 1);
  expect(out[pred.length], "the slot after dpred is untouched").toBeNaN();
  for (const p of [pp, tp, dp]) be.allocator.free(p);
  return out.subarray(0, pred.length);
}

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_mse", (_name, be) => {
  it("sums (pred − target)² in f64 for every size (f32 differences, exact f64 squares)", () => {
    for (const n of [...ODD_SIZES, 1000, 60_000]) {
      const pred = randomF32(n, n, -3, 3);
      const target = randomF32(n, n + 1, -3, 3);
      let ref = 0;
      for (let i = 0; i < n; i++) ref += Math.fround(pred[i] - target[i]) ** 2;
      // Both sums round n times in f64, in different orders: each is within n·2^-53 of the exact sum.
      expect(Math.abs(mse(be, pred, target) - ref)).toBeLessThanOrEqual(2 * n * 2 ** -53 * ref);
    }
  });

  it("stays accurate to f64 where an f32 running sum would not (10^6 terms of very different sizes)", () => {
    const n = 1_000_000;
    const pred = new Float32Array(n).fill(1e-3);
    pred[0] = 1e3;
    const target = new Float32Array(n);
    const d = Math.fround(1e-3);
    const exact = 1e6 + (n - 1) * d * d;
    expect(Math.abs(mse(be, pred, target) - exact)).toBeLessThan(1e-9 * exact);
  });

  it("matches PyTorch's mse_loss (sum, and the mean as sum / n)", () => {
    expect(Math.fround(mse(be, MSE_PRED, MSE_TARGET))).toBe(TORCH_MSE_SUM);
    expect(Math.fround(mse(be, MSE_PRED, MSE_TARGET) / 7)).toBe(Math.fround(TORCH_MSE_MEAN));
  });

  it("is 0 for n = 0", () => {
    expect(mse(be, new Float32Array(0), new Float32Array(0))).toBe(0);
  });
});

it("f32_mse returns bitwise the same f64 on both backends", () => {
  for (const n of [...ODD_SIZES, 1001, 100_000]) {
    const pred = randomF32(n, 2 * n, -10, 10);
    const target = randomF32(n, 2 * n + 1, -10, 10);
    expect(mse(backends.wasm, pred, target)).toBe(mse(backends.js, pred, target));
  }
});

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_mse_backward", (_name, be) => {
  it("gives dpred = (2·scale)·(pred − target) for every size", () => {
    for (const n of ODD_SIZES) {
      const pred = randomF32(n, n, -3, 3);
      const target = randomF32(n, n + 1, -3, 3);
      const scale = 1 / n;
      const factor = Math.fround(2 * scale);
      const dpred = mseBackward(be, pred, target, scale);
      for (let i = 0; i < n; i++) expect(dpred[i]).toBe(Math.fround(factor * Math.fround(pred[i] - target[i])));
    }
  });

  it("matches PyTorch's gradient of the mean (scale 1/n)", () => {
    expectClose(mseBackward(be, MSE_PRED, MSE_TARGET, 1 / 7), TORCH_MSE_GRAD_MEAN, 1e-7, 0);
  });
});
