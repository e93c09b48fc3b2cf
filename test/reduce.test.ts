// Reduce kernels: f32_reduce over every axis of 1-d to 4-d shapes (x viewed as
// [outer, size, inner]), on both backends, against a float64 reference computed
// here; argmax with ties and NaN; the scatter that routes a max's gradient.
//
// Tolerances. Max, min and argmax select an element: exact. Sums accumulate in
// f64 on both backends (in different orders) and round once, so they equal the
// f64 reference rounded to f32 (Math.fround of the exact-enough f64 sum) except
// where that sum sits within an f64 rounding error of an f32 rounding tie:
// SUM_RTOL = 2^-23 (one f32 ulp) allows exactly that.

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { ReduceOp } from "../src/backend/kernels.ts";
import { expectClose, getF32, getI32, makeBackends, ODD_SIZES, put, randomF32, scratch } from "./helpers/backends.ts";

const { wasm, js } = makeBackends();
const BOTH = [wasm, js];

const SUM_RTOL = 2 ** -23;
const REDUCE_OPS = Object.values(ReduceOp).filter((v): v is ReduceOp => typeof v === "number");

interface View {
  outer: number;
  size: number;
  inner: number;
}

/** Reducing `axis` of `shape`: the [outer, size, inner] view the kernels take. */
function viewOf(shape: readonly number[], axis: number): View {
  const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);
  return { outer: product(shape.slice(0, axis)), size: shape[axis], inner: product(shape.slice(axis + 1)) };
}

function reduce(be: Backend, op: ReduceOp, x: Float32Array, v: View): Float32Array {
  const n = v.outer * v.inner;
  const pout = scratch(be, n);
  be.kernels.f32_reduce(op, put(be, x), pout, v.outer, v.size, v.inner);
  return getF32(be, pout, n);
}

function argmax(be: Backend, x: Float32Array, v: View): Int32Array {
  const n = v.outer * v.inner;
  const pout = scratch(be, n);
  be.kernels.f32_argmax(put(be, x), pout, v.outer, v.size, v.inner);
  return getI32(be, pout, n);
}

/** The values x[o, 0..size−1, i] of one output. */
function column(x: Float32Array, v: View, o: number, i: number): number[] {
  return Array.from({ length: v.size }, (_, s) => x[(o * v.size + s) * v.inner + i]);
}

/** The reduction by its definition, in f64, rounded once. */
function reference(op: ReduceOp, x: Float32Array, v: View): Float32Array {
  const out = new Float32Array(v.outer * v.inner);
  for (let o = 0; o < v.outer; o++) {
    for (let i = 0; i < v.inner; i++) {
      const values = column(x, v, o, i);
      const sum = (f: (t: number) => number) => values.reduce((acc, t) => acc + f(t), 0);
      out[o * v.inner + i] = {
        [ReduceOp.Sum]: () => sum((t) => t),
        [ReduceOp.Mean]: () => sum((t) => t) / v.size,
        [ReduceOp.Max]: () => (values.some(Number.isNaN) ? NaN : Math.max(-Infinity, ...values)),
        [ReduceOp.Min]: () => (values.some(Number.isNaN) ? NaN : Math.min(Infinity, ...values)),
        [ReduceOp.SumAbs]: () => sum(Math.abs),
        [ReduceOp.SumSquares]: () => sum((t) => t * t),
      }[op]();
    }
  }
  return out;
}

function referenceArgmax(x: Float32Array, v: View): Int32Array {
  const out = new Int32Array(v.outer * v.inner);
  for (let o = 0; o < v.outer; o++) {
    for (let i = 0; i < v.inner; i++) {
      const values = column(x, v, o, i);
      const firstNaN = values.findIndex(Number.isNaN);
      out[o * v.inner + i] = firstNaN >= 0 ? firstNaN : values.indexOf(Math.max(...values));
    }
  }
  return out;
}

const isSelection = (op: ReduceOp) => op === ReduceOp.Max || op === ReduceOp.Min;

function expectReduction(actual: Float32Array, expected: Float32Array, op: ReduceOp, what: string): void {
  expectClose(actual, expected, isSelection(op) ? 0 : SUM_RTOL, 0, what);
}

const SHAPES: number[][] = [
  ...ODD_SIZES.map((n) => [n]),
  [3, 17], [17, 3], [1, 63], [63, 1], [5, 65], [65, 8], [257, 12], [4, 257],
  [2, 3, 17], [7, 5, 9], [3, 64, 5], [1, 31, 16],
  [2, 3, 5, 7], [3, 1, 17, 9], [2, 9, 2, 33],
];

describe("f32_reduce", () => {
  for (const op of REDUCE_OPS) {
    it(`${ReduceOp[op]} over each axis of 1-d to 4-d shapes matches the f64 definition, on both backends`, () => {
      for (const shape of SHAPES) {
        const x = randomF32(shape.reduce((p, d) => p * d, 1), shape.length * 1000 + shape[0], -2, 2);
        for (let axis = 0; axis < shape.length; axis++) {
          const v = viewOf(shape, axis);
          const expected = reference(op, x, v);
          for (const be of BOTH) expectReduction(reduce(be, op, x, v), expected, op, `${be.name} [${shape}] axis ${axis}`);
        }
      }
    });
  }

  it("reduces everything (outer = inner = 1) for every size, SIMD tails included", () => {
    for (const op of REDUCE_OPS) {
      for (const n of [...ODD_SIZES, 1000, 4099]) {
        const x = randomF32(n, n, -3, 3);
        const v = { outer: 1, size: n, inner: 1 };
        for (const be of BOTH) expectReduction(reduce(be, op, x, v), reference(op, x, v), op, `${be.name} ${ReduceOp[op]} n=${n}`);
      }
    }
  });

  it("sums a bias gradient ([1, m, n] over m) for widths around the 8- and 4-column bands", () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 16, 17, 33]) {
      const x = randomF32(64 * n, n, -1, 1);
      const v = { outer: 1, size: 64, inner: n };
      for (const op of [ReduceOp.Sum, ReduceOp.Mean, ReduceOp.SumSquares]) {
        for (const be of BOTH) expectReduction(reduce(be, op, x, v), reference(op, x, v), op, `${be.name} ${ReduceOp[op]} n=${n}`);
      }
    }
  });

  it("averages 60 000 values to within an f32 ulp of the exact mean, along the last axis and down columns", () => {
    // 1000 + noise: a running f32 sum (ulp 4 by 6e7) would be off by ~1e-3 relative.
    const x = randomF32(60_000, 7, 999, 1001);
    const exactMean = x.reduce((acc, t) => acc + t, 0) / x.length;
    for (const be of BOTH) {
      expectClose(reduce(be, ReduceOp.Mean, x, { outer: 1, size: 60_000, inner: 1 }), [exactMean], SUM_RTOL, 0, `${be.name} last axis`);
      // The same numbers as [20 000, 3] averaged over rows: one mean per column.
      const columns = reduce(be, ReduceOp.Mean, x, { outer: 1, size: 20_000, inner: 3 });
      const expected = [0, 1, 2].map((c) => x.filter((_, k) => k % 3 === c).reduce((acc, t) => acc + t, 0) / 20_000);
      expectClose(columns, expected, SUM_RTOL, 0, `${be.name} columns`);
    }
  });

  it("Sum, SumAbs and SumSquares: Σx, Σ|x| (L1) and Σx² (squared L2); Mean = Σx / size", () => {
    const x = Float32Array.of(1, -2, 3, -4, 0.5);
    const v = { outer: 1, size: 5, inner: 1 };
    for (const be of BOTH) {
      expect(reduce(be, ReduceOp.Sum, x, v)[0]).toBe(-1.5);
      expect(reduce(be, ReduceOp.Mean, x, v)[0]).toBe(Math.fround(-0.3));
      expect(reduce(be, ReduceOp.SumAbs, x, v)[0]).toBe(10.5);
      expect(reduce(be, ReduceOp.SumSquares, x, v)[0]).toBe(30.25);
    }
  });

  it("Max and Min propagate NaN wherever it sits (PyTorch), on both layouts", () => {
    for (const n of [1, 5, 8, 9, 17, 63]) {
      for (const at of new Set([0, n >> 1, n - 1])) {
        const x = randomF32(n, n + at);
        x[at] = NaN;
        for (const be of BOTH) {
          for (const op of [ReduceOp.Max, ReduceOp.Min]) {
            expect(reduce(be, op, x, { outer: 1, size: n, inner: 1 })[0], `${be.name} n=${n} NaN at ${at}`).toBeNaN();
            // The same values as column 2 of an [n, 5] slab, reduced down the rows; column 0 holds zeros.
            const slab = new Float32Array(n * 5).fill(0);
            for (let s = 0; s < n; s++) slab[s * 5 + 2] = x[s];
            const out = reduce(be, op, slab, { outer: 1, size: n, inner: 5 });
            expect(out[2], `${be.name} column n=${n} NaN at ${at}`).toBeNaN();
            expect(out[0]).toBe(0);
          }
        }
      }
    }
  });

  it("Max and Min handle ±∞: max of all −∞ is −∞, min of all +∞ is +∞", () => {
    const v = { outer: 1, size: 6, inner: 1 };
    for (const be of BOTH) {
      expect(reduce(be, ReduceOp.Max, new Float32Array(6).fill(-Infinity), v)[0]).toBe(-Infinity);
      expect(reduce(be, ReduceOp.Min, new Float32Array(6).fill(Infinity), v)[0]).toBe(Infinity);
      expect(reduce(be, ReduceOp.Max, Float32Array.of(-1, Infinity, 3, 4, 5, 6), v)[0]).toBe(Infinity);
    }
  });

  it("an empty reduction (size 0) gives Sum 0, Mean NaN, Max −∞, Min +∞", () => {
    const x = new Float32Array(0);
    for (const be of BOTH) {
      for (const inner of [1, 3]) {
        const v = { outer: 2, size: 0, inner };
        expect([...reduce(be, ReduceOp.Sum, x, v)]).toEqual(new Array(2 * inner).fill(0));
        expect(reduce(be, ReduceOp.Mean, x, v).every(Number.isNaN)).toBe(true);
        expect([...reduce(be, ReduceOp.Max, x, v)]).toEqual(new Array(2 * inner).fill(-Infinity));
        expect([...reduce(be, ReduceOp.Min, x, v)]).toEqual(new Array(2 * inner).fill(Infinity));
      }
    }
  });
});

describe("f32_argmax", () => {
  it("matches the first-maximum definition over each axis of 1-d to 4-d shapes, on both backends", () => {
    for (const shape of SHAPES) {
      // Values on a coarse grid, so that ties are common.
      const x = randomF32(shape.reduce((p, d) => p * d, 1), shape[0] + 17, 0, 8).map(Math.floor);
      for (let axis = 0; axis < shape.length; axis++) {
        const v = viewOf(shape, axis);
        const expected = referenceArgmax(x, v);
        for (const be of BOTH) expect([...argmax(be, x, v)], `${be.name} [${shape}] axis ${axis}`).toEqual([...expected]);
      }
    }
  });

  it("returns the first of tied maxima, within a vector, across vectors and in the tail", () => {
    const cases: [number[], number][] = [
      [[1, 3, 3, 2], 1],
      [[0, 0, 0, 0, 0, 7, 0, 0, 0, 7, 0], 5],
      [[5, 1, 1, 1, 1, 1, 1, 1, 1, 5], 0],
      [[-1, -1, -1, -1, -1, -1, -1, -1, -1], 0],
      [[-0, 0, 0], 0],
      [[-Infinity, -Infinity, -Infinity], 0],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9, 9], 8],
    ];
    for (const [values, expected] of cases) {
      const x = Float32Array.from(values);
      for (const be of BOTH) {
        expect(argmax(be, x, { outer: 1, size: x.length, inner: 1 })[0], `${be.name} [${values}]`).toBe(expected);
        // The same values down a column of a [size, 6] slab.
        const slab = new Float32Array(x.length * 6).fill(-5);
        x.forEach((t, s) => (slab[s * 6 + 4] = t));
        expect(argmax(be, slab, { outer: 1, size: x.length, inner: 6 })[4], `${be.name} column [${values}]`).toBe(expected);
      }
    }
  });

  it("counts NaN as the maximum: the first NaN wins over +∞ and over later NaNs", () => {
    const cases: [number[], number][] = [
      [[1, NaN, 3], 1],
      [[Infinity, 2, NaN, NaN, 9], 2],
      [[0, 1, 2, 3, 4, 5, 6, Infinity, 8, 9, 10, NaN, NaN], 11],
      [[NaN, NaN], 0],
    ];
    for (const [values, expected] of cases) {
      const x = Float32Array.from(values);
      for (const be of BOTH) {
        expect(argmax(be, x, { outer: 1, size: x.length, inner: 1 })[0], `${be.name} [${values}]`).toBe(expected);
        const slab = new Float32Array(x.length * 3).fill(0);
        x.forEach((t, s) => (slab[s * 3 + 1] = t));
        expect(argmax(be, slab, { outer: 1, size: x.length, inner: 3 })[1], `${be.name} column [${values}]`).toBe(expected);
      }
    }
  });
});

describe("f32_scatter_add_axis", () => {
  it("routes each dy to the argmax position along the axis and adds it to what dx holds", () => {
    for (const shape of [[7], [3, 17], [17, 3], [2, 5, 9], [2, 3, 4, 5]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const x = randomF32(n, n);
      for (let axis = 0; axis < shape.length; axis++) {
        const v = viewOf(shape, axis);
        const idx = referenceArgmax(x, v);
        const dy = randomF32(v.outer * v.inner, axis + 5);
        const dx0 = new Float32Array(n).fill(0.25);
        const expected = dx0.slice();
        for (let o = 0; o < v.outer; o++) {
          for (let i = 0; i < v.inner; i++) expected[(o * v.size + idx[o * v.inner + i]) * v.inner + i] += dy[o * v.inner + i];
        }
        for (const be of BOTH) {
          const pdx = put(be, dx0);
          be.kernels.f32_scatter_add_axis(put(be, dy), put(be, idx), pdx, v.outer, v.size, v.inner);
          expectClose(getF32(be, pdx, n), expected, 0, 0, `${be.name} [${shape}] axis ${axis}`);
        }
      }
    }
  });
});
