// Every differentiable op's gradient against central finite differences of a
// float64 reference of the same function, on both backends (the method and its
// tolerance are in helpers/gradcheck.ts).

import { nn, tensor, type Tensor } from "../src/index.ts";
import { alongDim, erfSeries, matmul2, map1, map2, numelOf, reduceDims, sumAll, type Arr } from "./helpers/ref.ts";
import { describeGradientChecks, type GradCase } from "./helpers/gradcheck.ts";

const F = nn.functional;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const sum = (a: Arr, dims: number[], keep = false) => reduceDims(a, dims, 0, (s, x) => s + x, keep);
const mean = (a: Arr, dims: number[], keep = false) => {
  const s = sum(a, dims, keep);
  const c = dims.reduce((acc, d) => acc * a.shape[d], 1);
  return map1(s, (x) => x / c);
};
const all = (a: Arr) => a.shape.map((_, i) => i);
const scalar = (x: number): Arr => ({ shape: [], data: Float64Array.of(x) });

const cases: GradCase[] = [
  { name: "add broadcasts [3,4] + [4]", shapes: [[3, 4], [4]], build: (a, b) => a.add(b), ref: (a, b) => map2(a, b, (x, y) => x + y) },
  { name: "sub broadcasts [3,1] - [1,4]", shapes: [[3, 1], [1, 4]], build: (a, b) => a.sub(b), ref: (a, b) => map2(a, b, (x, y) => x - y) },
  { name: "mul broadcasts [2,3,4] * [3,1]", shapes: [[2, 3, 4], [3, 1]], build: (a, b) => a.mul(b), ref: (a, b) => map2(a, b, (x, y) => x * y) },
  { name: "div of same shapes", shapes: [[5], [5]], build: (a, b) => a.div(b), ref: (a, b) => map2(a, b, (x, y) => x / y), low: 0.5, high: 2 },
  { name: "pow with a tensor exponent", shapes: [[4], [4]], build: (a, b) => a.pow(b), ref: (a, b) => map2(a, b, Math.pow), low: 0.5, high: 2 },
  { name: "pow with a number exponent", shapes: [[6]], build: (a) => a.pow(3), ref: (a) => map1(a, (x) => x ** 3) },
  { name: "add, sub, mul, div by numbers", shapes: [[6]], build: (a) => a.add(2).sub(0.5).mul(3).div(4), ref: (a) => map1(a, (x) => ((x + 2 - 0.5) * 3) / 4) },
  { name: "rsub and rdiv (number on the left)", shapes: [[6]], build: (a) => a.rsub(1).add(a.rdiv(2)), ref: (a) => map1(a, (x) => 1 - x + 2 / x), low: 0.5, high: 2 },
  { name: "add with alpha", shapes: [[3], [3]], build: (a, b) => a.add(b, { alpha: -2 }), ref: (a, b) => map2(a, b, (x, y) => x - 2 * y) },
  { name: "maximum and minimum", shapes: [[7], [7]], build: (a, b) => a.maximum(b).add(a.minimum(b).mul(3)), ref: (a, b) => map2(a, b, (x, y) => Math.max(x, y) + 3 * Math.min(x, y)) },
  { name: "neg", shapes: [[5]], build: (a) => a.neg(), ref: (a) => map1(a, (x) => -x) },
  { name: "abs away from 0", shapes: [[6]], build: (a) => a.abs(), ref: (a) => map1(a, Math.abs) },
  { name: "sqrt", shapes: [[5]], build: (a) => a.sqrt(), ref: (a) => map1(a, Math.sqrt), low: 0.5, high: 3 },
  { name: "exp", shapes: [[5]], build: (a) => a.exp(), ref: (a) => map1(a, Math.exp) },
  { name: "log", shapes: [[5]], build: (a) => a.log(), ref: (a) => map1(a, Math.log), low: 0.5, high: 3 },
  { name: "relu away from 0", shapes: [[8]], build: (a) => a.relu(), ref: (a) => map1(a, (x) => Math.max(x, 0)) },
  { name: "sigmoid", shapes: [[5]], build: (a) => a.sigmoid(), ref: (a) => map1(a, sigmoid), low: -4, high: 4 },
  { name: "tanh", shapes: [[5]], build: (a) => a.tanh(), ref: (a) => map1(a, Math.tanh), low: -2, high: 2 },
  { name: "square", shapes: [[5]], build: (a) => a.square(), ref: (a) => map1(a, (x) => x * x) },
  { name: "matmul [3,4]·[4,5]", shapes: [[3, 4], [4, 5]], build: (a, b) => a.matmul(b), ref: matmul2 },
  { name: "matmul [4]·[4,2] (vector on the left)", shapes: [[4], [4, 2]], build: (a, b) => a.matmul(b), ref: (a, b) => { const r = matmul2({ shape: [1, 4], data: a.data }, b); return { shape: [2], data: r.data }; } },
  { name: "matmul [3,4]·[4] (vector on the right)", shapes: [[3, 4], [4]], build: (a, b) => a.matmul(b), ref: (a, b) => { const r = matmul2(a, { shape: [4, 1], data: b.data }); return { shape: [3], data: r.data }; } },
  { name: "matmul [2,3,4]·[4,2] folds the batch", shapes: [[2, 3, 4], [4, 2]], build: (a, b) => a.matmul(b), ref: (a, b) => { const r = matmul2({ shape: [6, 4], data: a.data }, b); return { shape: [2, 3, 2], data: r.data }; } },
  { name: "batched matmul [2,3,4]·[2,4,2]", shapes: [[2, 3, 4], [2, 4, 2]], build: (a, b) => a.matmul(b), ref: (a, b) => { const out = new Float64Array(12); for (let i = 0; i < 2; i++) out.set(matmul2({ shape: [3, 4], data: a.data.slice(i * 12, i * 12 + 12) }, { shape: [4, 2], data: b.data.slice(i * 8, i * 8 + 8) }).data, i * 6); return { shape: [2, 3, 2], data: out }; } },
  { name: "sum of everything", shapes: [[3, 4]], build: (a) => a.sum(), ref: (a) => scalar(sumAll(a)) },
  { name: "sum over dim 0", shapes: [[3, 4]], build: (a) => a.sum(0), ref: (a) => sum(a, [0]) },
  { name: "sum over dims [0, 2] keepdim", shapes: [[2, 3, 4]], build: (a) => a.sum([0, 2], true), ref: (a) => sum(a, [0, 2], true) },
  { name: "mean over the last dim", shapes: [[3, 5]], build: (a) => a.mean(-1), ref: (a) => mean(a, [1]) },
  { name: "mean of everything", shapes: [[2, 3, 2]], build: (a) => a.mean(), ref: (a) => mean(a, all(a)) },
  { name: "max of everything", shapes: [[3, 4]], build: (a) => a.max(), ref: (a) => reduceDims(a, all(a), -Infinity, Math.max) },
  { name: "max over dim 1 (values)", shapes: [[3, 4]], build: (a) => a.max(1).values, ref: (a) => reduceDims(a, [1], -Infinity, Math.max) },
  { name: "max over dim 0 keepdim", shapes: [[3, 4]], build: (a) => a.max(0, true).values, ref: (a) => reduceDims(a, [0], -Infinity, Math.max, true) },
  { name: "2-norm of everything", shapes: [[3, 4]], build: (a) => a.norm(), ref: (a) => scalar(Math.sqrt(sumAll(map1(a, (x) => x * x)))) },
  { name: "2-norm over dim 1", shapes: [[3, 4]], build: (a) => a.norm(2, 1), ref: (a) => map1(sum(map1(a, (x) => x * x), [1]), Math.sqrt) },
  { name: "1-norm", shapes: [[3, 4]], build: (a) => a.norm(1), ref: (a) => scalar(sumAll(map1(a, Math.abs))) },
  { name: "view, flatten, unsqueeze, squeeze pass gradients through", shapes: [[2, 6]], build: (a) => a.view(3, 4).flatten().unsqueeze(0).squeeze(0).mul(a.view(-1)).view(2, 6), ref: (a) => map1(a, (x) => x * x) },
  { name: "t() and transpose", shapes: [[2, 3]], build: (a) => a.t().mul(a.transpose(0, 1)), ref: (a) => { const d = new Float64Array(6); for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) d[i * 2 + j] = a.data[j * 3 + i] ** 2; return { shape: [3, 2], data: d }; } },
  { name: "permute of a 3-d tensor", shapes: [[2, 3, 4]], build: (a) => a.permute(2, 0, 1).sum(0), ref: (a) => sum(a, [2]) },
  { name: "clone passes gradients through", shapes: [[4]], build: (a) => a.clone().mul(2), ref: (a) => map1(a, (x) => 2 * x) },
  { name: "linear x·Wᵀ + b", shapes: [[5, 3], [4, 3], [4]], build: (x, w, b) => F.linear(x, w, b), ref: (x, w, b) => { const wt = new Float64Array(12); for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) wt[j * 4 + i] = w.data[i * 3 + j]; return map2(matmul2(x, { shape: [3, 4], data: wt }), b, (p, q) => p + q); } },
  { name: "linear over a 3-d input without bias", shapes: [[2, 3, 3], [2, 3]], build: (x, w) => F.linear(x, w), ref: (x, w) => { const wt = new Float64Array(6); for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) wt[j * 2 + i] = w.data[i * 3 + j]; const r = matmul2({ shape: [6, 3], data: x.data }, { shape: [3, 2], data: wt }); return { shape: [2, 3, 2], data: r.data }; } },
  { name: "mseLoss (mean)", shapes: [[4, 3], [4, 3]], build: (a, b) => F.mseLoss(a, b), ref: (a, b) => scalar(sumAll(map2(a, b, (x, y) => (x - y) ** 2)) / 12) },
  { name: "mseLoss (sum)", shapes: [[5], [5]], build: (a, b) => F.mseLoss(a, b, { reduction: "sum" }), ref: (a, b) => scalar(sumAll(map2(a, b, (x, y) => (x - y) ** 2))) },
  { name: "logSoftmax over the last dim", shapes: [[3, 4]], build: (a) => F.logSoftmax(a), ref: (a) => { const d = new Float64Array(12); for (let i = 0; i < 3; i++) { const row = a.data.slice(i * 4, i * 4 + 4); const m = Math.max(...row); const l = Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0)) + m; for (let j = 0; j < 4; j++) d[i * 4 + j] = row[j] - l; } return { shape: [3, 4], data: d }; } },
  { name: "the book's L2 penalty Σw²/2", shapes: [[5, 1]], build: (w) => F.l2Penalty(w), ref: (w) => scalar(sumAll(map1(w, (x) => x * x)) / 2) },
  { name: "the book's L1 penalty Σ|w|", shapes: [[5, 1]], build: (w) => F.l1Penalty(w), ref: (w) => scalar(sumAll(map1(w, Math.abs))) },
  // Issue 18's math ops, activations and losses.
  { name: "sin and cos", shapes: [[6]], build: (a) => a.sin().add(a.mul(3).cos()), ref: (a) => map1(a, (x) => Math.sin(x) + Math.cos(3 * x)) },
  { name: "clamp(-0.5, 0.75)", shapes: [[8]], build: (a) => a.clamp(-0.5, 0.75), ref: (a) => map1(a, (x) => Math.min(Math.max(x, -0.5), 0.75)) },
  { name: "clamp with one bound", shapes: [[8]], build: (a) => a.clamp(0.2).add(a.clamp(null, -0.3)), ref: (a) => map1(a, (x) => Math.max(x, 0.2) + Math.min(x, -0.3)) },
  { name: "min of everything", shapes: [[3, 4]], build: (a) => a.min(), ref: (a) => reduceDims(a, all(a), Infinity, Math.min) },
  { name: "min over dim 1 (values)", shapes: [[3, 4]], build: (a) => a.min(1).values, ref: (a) => reduceDims(a, [1], Infinity, Math.min) },
  { name: "var over dim 1 (unbiased)", shapes: [[3, 5]], build: (a) => a.var(1), ref: (a) => varRef(a, [1], 1) },
  { name: "var of everything, biased", shapes: [[2, 3]], build: (a) => a.var({ unbiased: false }), ref: (a) => varRef(a, all(a), 0) },
  { name: "std over dims [0, 2] keepdim", shapes: [[2, 3, 2]], build: (a) => a.std([0, 2], true), ref: (a) => map1(varRef(a, [0, 2], 1, true), Math.sqrt) },
  { name: "softmax over dim 1 of a 3-d tensor", shapes: [[2, 3, 2]], build: (a) => a.softmax(1), ref: (a) => alongDim(a, 1, softmaxLine) },
  { name: "logSoftmax over dim 0", shapes: [[3, 4]], build: (a) => a.logSoftmax(0), ref: (a) => alongDim(a, 0, (l) => softmaxLine(l).map(Math.log)) },
  { name: "leakyRelu(0.1)", shapes: [[8]], build: (a) => F.leakyRelu(a, 0.1), ref: (a) => map1(a, (x) => (x > 0 ? x : 0.1 * x)) },
  { name: "gelu (exact)", shapes: [[8]], build: (a) => F.gelu(a), ref: (a) => map1(a, (x) => 0.5 * x * (1 + erfSeries(x / Math.SQRT2))) },
  { name: "gelu (tanh)", shapes: [[8]], build: (a) => F.gelu(a, { approximate: "tanh" }), ref: (a) => map1(a, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))) },
  { name: "nllLoss (mean) with class weights", shapes: [[3, 4]], build: (a) => F.nllLoss(a, tensor([1, 0, 3], { dtype: "int32" }), { weight: tensor([1, 2, 0.5, 3]) }), ref: (a) => scalar(-(a.data[1] * 2 + a.data[4] * 1 + a.data[11] * 3) / 6) },
  { name: "l1Loss (mean)", shapes: [[2, 3], [2, 3]], build: (a, b) => F.l1Loss(a, b), ref: (a, b) => scalar(sumAll(map2(a, b, (x, y) => Math.abs(x - y))) / 6) },
  { name: "binaryCrossEntropy (sum)", shapes: [[5], [5]], low: 0.1, high: 0.9, build: (x, t) => F.binaryCrossEntropy(x, t, { reduction: "sum" }), ref: (x, t) => scalar(sumAll(map2(x, t, (p, y) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p))))) },
  { name: "binaryCrossEntropyWithLogits (mean) with posWeight", shapes: [[2, 3], [2, 3]], build: (x, t) => F.binaryCrossEntropyWithLogits(x, t, { posWeight: tensor([1, 2, 0.5]) }), ref: (x, t) => scalar(x.data.reduce((s, z, i) => s + bceLogitsRef(z, t.data[i], [1, 2, 0.5][i % 3]), 0) / 6) },
  { name: "crossEntropy (mean) against int32 labels", shapes: [[3, 4]], build: (a) => F.crossEntropy(a, tensor([1, 0, 3], { dtype: "int32" })), ref: (a) => scalar(crossEntropyRef(a, [1, 0, 3]).reduce((x, y) => x + y) / 3) },
  { name: "crossEntropy (sum)", shapes: [[2, 5]], build: (a) => F.crossEntropy(a, tensor([4, 2], { dtype: "int32" }), { reduction: "sum" }), ref: (a) => scalar(crossEntropyRef(a, [4, 2]).reduce((x, y) => x + y)) },
  { name: "crossEntropy (none)", shapes: [[3, 3]], build: (a) => F.crossEntropy(a, tensor([2, 2, 0], { dtype: "int32" }), { reduction: "none" }), ref: (a) => ({ shape: [3], data: Float64Array.from(crossEntropyRef(a, [2, 2, 0])) }) },
];

function varRef(a: Arr, dims: number[], correction: number, keep = false): Arr {
  const count = dims.reduce((n, d) => n * a.shape[d], 1);
  const m = mean(a, dims, true);
  const centred = map2(a, m, (x, y) => (x - y) ** 2);
  return map1(sum(centred, dims, keep), (s) => s / (count - correction));
}

/** −(posWeight·y·log σ(z) + (1 − y)·log(1 − σ(z))). */
function bceLogitsRef(z: number, y: number, posWeight: number): number {
  return -(posWeight * y * Math.log(sigmoid(z)) + (1 - y) * Math.log(1 - sigmoid(z)));
}

function softmaxLine(line: number[]): number[] {
  const m = Math.max(...line);
  const e = line.map((x) => Math.exp(x - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((x) => x / s);
}

function crossEntropyRef(a: Arr, labels: number[]): number[] {
  const c = a.shape[1];
  return labels.map((y, i) => {
    const row = Array.from(a.data.slice(i * c, i * c + c));
    const m = Math.max(...row);
    return Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0)) + m - row[y];
  });
}

describeGradientChecks((backend) => `gradients match finite differences (${backend} backend)`, cases, 1000);
