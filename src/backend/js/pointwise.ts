// Pointwise kernels in plain TypeScript: the oracle for assembly/pointwise.ts.
//
// Each element is computed in f64 and rounded once to f32 by the store, as the
// Wasm kernel does. sin and cos are Math.sin / Math.cos (the Wasm kernel's own
// reduction and polynomials agree with them to within an ulp after rounding);
// GELU's erfc is the same Chebyshev fit as the Wasm kernel's.

import type { Heap } from "../heap.ts";
import { PointwiseOp, type PointwiseKernels } from "../kernels.ts";

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const KAPPA = 0.044715;

/** erfc(u) to a relative 1.2e−7 (Numerical Recipes' erfcc), accurate in the far tail. */
export function erfc(u: number): number {
  const z = Math.abs(u);
  const t = 1 / (1 + 0.5 * z);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return u >= 0 ? r : 2 - r;
}

const normalCdf = (x: number) => 0.5 * erfc(-x * SQRT1_2);
/** ½(1 + tanh u) as 1/(1 + e^−2u), u = √(2/π)(x + 0.044715x³): no cancellation for u ≪ 0. */
const tanhGate = (x: number) => 1 / (1 + Math.exp(-2 * SQRT_2_OVER_PI * (x + KAPPA * x * x * x)));

type Forward = (x: number, a: number, b: number) => number;
type Backward = (x: number, dy: number, a: number, b: number) => number;

const FORWARD: Record<PointwiseOp, Forward> = {
  [PointwiseOp.Sin]: Math.sin,
  [PointwiseOp.Cos]: Math.cos,
  // Comparisons with NaN are false: NaN passes through, as in PyTorch.
  [PointwiseOp.Clamp]: (x, a, b) => {
    const low = x < a ? a : x;
    return low > b ? b : low;
  },
  [PointwiseOp.LeakyRelu]: (x, a) => (x > 0 ? x : a * x),
  [PointwiseOp.Gelu]: (x) => x * normalCdf(x),
  [PointwiseOp.GeluTanh]: (x) => x * tanhGate(x),
};

const BACKWARD: Record<PointwiseOp, Backward> = {
  [PointwiseOp.Sin]: (x, dy) => dy * Math.cos(x),
  [PointwiseOp.Cos]: (x, dy) => dy * -Math.sin(x),
  [PointwiseOp.Clamp]: (x, dy, a, b) => (x >= a && x <= b ? dy : 0),
  [PointwiseOp.LeakyRelu]: (x, dy, a) => (x > 0 ? dy : dy * a),
  [PointwiseOp.Gelu]: (x, dy) => dy * (normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x)),
  [PointwiseOp.GeluTanh]: (x, dy) => {
    const s = tanhGate(x);
    const slope = SQRT_2_OVER_PI * (1 + 3 * KAPPA * x * x);
    return dy * (s + 2 * x * s * (1 - s) * slope);
  },
};

function lookup<T>(table: Record<number, T>, op: number): T {
  const fn = table[op];
  if (fn === undefined) throw new RangeError(`wasmgrad: unknown pointwise op code ${op}`);
  return fn;
}

export function jsPointwiseKernels(heap: Heap): PointwiseKernels {
  return {
    f32_pointwise(op, x, y, n, a, b) {
      const fn = lookup(FORWARD, op);
      const v = heap.f32;
      const xi = x >>> 2, yi = y >>> 2;
      for (let i = 0; i < n; i++) v[yi + i] = fn(v[xi + i], a, b);
    },

    f32_pointwise_backward(op, x, dy, dx, n, a, b) {
      const fn = lookup(BACKWARD, op);
      const v = heap.f32;
      const xi = x >>> 2, dyi = dy >>> 2, dxi = dx >>> 2;
      for (let i = 0; i < n; i++) v[dxi + i] = fn(v[xi + i], v[dyi + i], a, b);
    },

    i32_one_hot(labels, out, n, c, ignore) {
      const i32 = heap.i32;
      const oi = out >>> 2, li = labels >>> 2;
      i32.fill(0, oi, oi + n * c);
      for (let i = 0; i < n; i++) {
        const label = i32[li + i];
        if (label === ignore) continue;
        if (!(label >= 0 && label < c)) return i;
        i32[oi + i * c + label] = 1;
      }
      return -1;
    },
  };
}
