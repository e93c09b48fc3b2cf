// Gradients of the views and of the indexing and joining ops against central
// finite differences of a float64 reference, on both backends (the method of
// helpers/gradcheck.ts: loss Σ out·r with random r, h = 1e-6, 1e-3 relative).
// The references read their inputs by multi-index, so each states the op's
// meaning directly: out[i, j] = a[j, i] for a transpose, and so on.

import { cat, nn, stack, tensor, where, type Tensor } from "../src/index.ts";
import { matmul2, numelOf, type Arr } from "./helpers/ref.ts";
import { describeGradientChecks, type GradCase } from "./helpers/gradcheck.ts";

const F = nn.functional;

/** The element of a at a multi-index. */
function get(a: Arr, idx: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < a.shape.length; i++) flat = flat * a.shape[i] + idx[i];
  return a.data[flat];
}

/** An array of `shape` whose element at each multi-index is f(index). */
function make(shape: number[], f: (idx: number[]) => number): Arr {
  const data = new Float64Array(numelOf(shape));
  const idx = shape.map(() => 0);
  for (let flat = 0; flat < data.length; flat++) {
    data[flat] = f(idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape, data };
}

const T = (a: Arr): Arr => make([a.shape[1], a.shape[0]], ([i, j]) => get(a, [j, i]));
const i32 = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const mask34 = [[true, false, true, false], [false, false, true, true], [true, true, false, false]];
const mask = () => tensor(mask34);
const maskAt = ([i, j]: number[]) => mask34[i][j];

const cases: GradCase[] = [
  { name: "matmul with a transposed right operand (NT, no copy)", shapes: [[3, 4], [5, 4]], build: (a, b) => a.matmul(b.t()), ref: (a, b) => matmul2(a, T(b)) },
  { name: "matmul with a transposed left operand (TN, no copy)", shapes: [[4, 3], [4, 5]], build: (a, b) => a.t().matmul(b), ref: (a, b) => matmul2(T(a), b) },
  { name: "matmul with both operands transposed", shapes: [[4, 3], [5, 4]], build: (a, b) => a.t().matmul(b.t()), ref: (a, b) => matmul2(T(a), T(b)) },
  { name: "matmul with a narrowed operand (leading dimension past its columns)", shapes: [[3, 6], [4, 5]], build: (a, b) => a.narrow(1, 1, 4).matmul(b), ref: (a, b) => matmul2(make([3, 4], ([i, j]) => get(a, [i, j + 1])), b) },
  { name: "linear with a transposed weight view", shapes: [[2, 3], [3, 4], [4]], build: (x, w, b) => F.linear(x, w.t(), b), ref: (x, w, b) => { const y = matmul2(x, w); return make([2, 4], ([i, j]) => get(y, [i, j]) + b.data[j]); } },
  { name: "x.T reverses every dim", shapes: [[2, 3, 4]], build: (a) => a.T.mul(2), ref: (a) => make([4, 3, 2], ([i, j, k]) => 2 * get(a, [k, j, i])) },
  { name: "unary op on a transposed view", shapes: [[3, 4]], build: (a) => a.t().exp(), ref: (a) => make([4, 3], ([i, j]) => Math.exp(get(a, [j, i]))) },
  { name: "binary op reading two strided views", shapes: [[3, 4], [4, 3]], build: (a, b) => a.t().mul(b).add(b.t().t()), ref: (a, b) => make([4, 3], ([i, j]) => get(a, [j, i]) * get(b, [i, j]) + get(b, [i, j])) },
  { name: "sum over a permuted view", shapes: [[2, 3, 4]], build: (a) => a.permute(2, 0, 1).sum(1), ref: (a) => make([4, 3], ([k, j]) => get(a, [0, j, k]) + get(a, [1, j, k])) },
  { name: "narrow along dim 1", shapes: [[3, 5]], build: (a) => a.narrow(1, 1, 3), ref: (a) => make([3, 3], ([i, j]) => get(a, [i, j + 1])) },
  { name: "narrow with a negative start", shapes: [[4, 2]], build: (a) => a.narrow(0, -2, 2), ref: (a) => make([2, 2], ([i, j]) => get(a, [i + 2, j])) },
  { name: "select a column (x[:, 2])", shapes: [[3, 4]], build: (a) => a.select(1, 2), ref: (a) => make([3], ([i]) => get(a, [i, 2])) },
  { name: "select the last row (x[-1])", shapes: [[3, 4]], build: (a) => a.select(0, -1), ref: (a) => make([4], ([j]) => get(a, [2, j])) },
  { name: "expand a [1, 4] row to [3, 4] sums the gradient back", shapes: [[1, 4]], build: (a) => a.expand(3, 4).mul(tensor([[1], [2], [3]])), ref: (a) => make([3, 4], ([i, j]) => (i + 1) * get(a, [0, j])) },
  { name: "unsqueeze then expand with -1", shapes: [[2, 3]], build: (a) => a.unsqueeze(1).expand(-1, 2, -1), ref: (a) => make([2, 2, 3], ([i, , k]) => get(a, [i, k])) },
  { name: "reshape of a transposed view copies", shapes: [[2, 3]], build: (a) => a.t().reshape(-1), ref: (a) => make([6], ([f]) => get(a, [f % 2, Math.floor(f / 2)])) },
  { name: "contiguous() of a view", shapes: [[2, 3]], build: (a) => a.t().contiguous(), ref: (a) => T(a) },
  { name: "split into pieces of 2 along dim 1 (the last smaller)", shapes: [[2, 5]], build: (a) => { const [p, q, r] = a.split(2, 1); return cat([r, q.mul(2), p.mul(3)], 1); }, ref: (a) => make([2, 5], ([i, j]) => (j === 0 ? get(a, [i, 4]) : j < 3 ? 2 * get(a, [i, j + 1]) : 3 * get(a, [i, j - 3]))) },
  { name: "chunk into 2 along dim 0", shapes: [[4, 2]], build: (a) => { const [p, q] = a.chunk(2); return p.mul(q); }, ref: (a) => make([2, 2], ([i, j]) => get(a, [i, j]) * get(a, [i + 2, j])) },
  { name: "indexSelect rows with a repeated index (gradients add up)", shapes: [[3, 2]], build: (a) => a.indexSelect(0, i32([2, 0, 2])), ref: (a) => make([3, 2], ([i, j]) => get(a, [[2, 0, 2][i], j])) },
  { name: "indexSelect along dim 1", shapes: [[2, 4]], build: (a) => a.indexSelect(1, i32([3, 1])), ref: (a) => make([2, 2], ([i, j]) => get(a, [i, [3, 1][j]])) },
  { name: "gather along dim 1 (picking each row's class score)", shapes: [[3, 4]], build: (a) => a.gather(1, i32([[1], [3], [1]])), ref: (a) => make([3, 1], ([i]) => get(a, [i, [1, 3, 1][i]])) },
  { name: "gather along dim 0 with repeats and a smaller index", shapes: [[3, 3]], build: (a) => a.gather(0, i32([[2, 2], [0, 2]])), ref: (a) => make([2, 2], ([i, j]) => get(a, [[[2, 2], [0, 2]][i][j], j])) },
  { name: "maskedFill", shapes: [[3, 4]], build: (a) => a.maskedFill(mask(), -1), ref: (a) => make([3, 4], (ix) => (maskAt(ix) ? -1 : get(a, ix))) },
  { name: "maskedFill with a broadcast mask", shapes: [[3, 2]], build: (a) => a.maskedFill(tensor([true, false]), 5), ref: (a) => make([3, 2], ([i, j]) => (j === 0 ? 5 : get(a, [i, j]))) },
  { name: "maskedSelect", shapes: [[3, 4]], build: (a) => a.maskedSelect(mask()), ref: (a) => { const v: number[] = []; for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) if (mask34[i][j]) v.push(get(a, [i, j])); return { shape: [v.length], data: Float64Array.from(v) }; } },
  { name: "where with broadcasting [3,4] / [4]", shapes: [[3, 4], [4]], build: (a, b) => where(mask(), a, b), ref: (a, b) => make([3, 4], (ix) => (maskAt(ix) ? get(a, ix) : get(b, [ix[1]]))) },
  { name: "where with a number", shapes: [[3, 4]], build: (a) => where(a.gt(0), a, 0), ref: (a) => make([3, 4], (ix) => Math.max(get(a, ix), 0)) },
  { name: "cat along dim 0", shapes: [[2, 3], [1, 3]], build: (a, b) => cat([a, b.mul(2)]), ref: (a, b) => make([3, 3], ([i, j]) => (i < 2 ? get(a, [i, j]) : 2 * get(b, [0, j]))) },
  { name: "cat along dim 1 of a strided view", shapes: [[2, 2], [3, 2]], build: (a, b) => cat([a, b.t()], -1), ref: (a, b) => make([2, 5], ([i, j]) => (j < 2 ? get(a, [i, j]) : get(b, [j - 2, i]))) },
  { name: "stack along a new dim 1", shapes: [[2, 3], [2, 3]], build: (a, b) => stack([a, b], 1), ref: (a, b) => make([2, 2, 3], ([i, s, k]) => get(s === 0 ? a : b, [i, k])) },
];

describeGradientChecks((backend) => `view and indexing gradients match finite differences (${backend} backend)`, cases, 2000);
