// Unary elementwise kernels in plain TypeScript: the oracle for
// assembly/elementwise-unary.ts.
//
// Values are read from and stored to Float32Arrays, so each single operation
// is rounded to f32 by the store, exactly as Wasm's f32 arithmetic rounds it
// (+ − × ÷ √ computed in f64 and rounded once are correctly rounded f32).
// Formulas with several steps round each intermediate with Math.fround in the
// order the Wasm kernel uses. Transcendentals use Math.* in f64: within an ulp
// or two of the Wasm polynomials, not bitwise equal.

import type { Heap } from "../heap.ts";
import { UnaryOp, type ElementwiseKernels } from "../kernels.ts";

const fround = Math.fround;

type Unary = (x: number) => number;

const UNARY: Record<UnaryOp, Unary> = {
  [UnaryOp.Neg]: (x) => -x,
  [UnaryOp.Abs]: Math.abs,
  [UnaryOp.Sqrt]: Math.sqrt,
  [UnaryOp.Exp]: Math.exp,
  [UnaryOp.Log]: Math.log,
  // Math.max passes NaN through, as PyTorch's relu does.
  [UnaryOp.Relu]: (x) => Math.max(x, 0),
  // exp(−x) overflows to ∞ for x ≪ 0, giving 0, and vanishes for x ≫ 0, giving 1.
  [UnaryOp.Sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [UnaryOp.Tanh]: Math.tanh,
  [UnaryOp.Square]: (x) => x * x,
  // Math.sign(±0) = ±0 and Math.sign(NaN) = NaN, as the Wasm kernel gives.
  [UnaryOp.Sign]: Math.sign,
};

/** dy · op'(x) given x, y = op(x) and dy, in PyTorch's order of operations. */
const UNARY_BACKWARD: Record<UnaryOp, (x: number, y: number, dy: number) => number> = {
  [UnaryOp.Neg]: (_x, _y, dy) => -dy,
  [UnaryOp.Abs]: (x, _y, dy) => dy * Math.sign(x),
  [UnaryOp.Sqrt]: (_x, y, dy) => dy / fround(y + y),
  [UnaryOp.Exp]: (_x, y, dy) => dy * y,
  [UnaryOp.Log]: (x, _y, dy) => dy / x,
  // A select, not a product: an infinite dy still gives 0 where x ≤ 0.
  [UnaryOp.Relu]: (x, _y, dy) => (x > 0 ? dy : 0),
  [UnaryOp.Sigmoid]: (_x, y, dy) => fround(dy * fround(1 - y)) * y,
  [UnaryOp.Tanh]: (_x, y, dy) => dy * fround(1 - fround(y * y)),
  [UnaryOp.Square]: (x, _y, dy) => dy * fround(x + x),
  [UnaryOp.Sign]: () => 0,
};

export function lookup<T>(table: Record<number, T>, op: number, family: string): T {
  const fn = table[op];
  if (fn === undefined) throw new RangeError(`wasmgrad: unknown ${family} op code ${op}`);
  return fn;
}

export function jsElementwiseUnaryKernels(heap: Heap): Pick<ElementwiseKernels, "f32_unary" | "f32_unary_backward"> {
  return {
    f32_unary(op, x, y, n) {
      const fn = lookup(UNARY, op, "unary");
      const v = heap.f32;
      const xi = x >>> 2, yi = y >>> 2;
      for (let i = 0; i < n; i++) v[yi + i] = fn(v[xi + i]);
    },

    f32_unary_backward(op, x, y, dy, dx, n) {
      const fn = lookup(UNARY_BACKWARD, op, "unary");
      const v = heap.f32;
      const xi = x >>> 2, yi = y >>> 2, dyi = dy >>> 2, dxi = dx >>> 2;
      for (let i = 0; i < n; i++) v[dxi + i] = fn(v[xi + i], v[yi + i], v[dyi + i]);
    },
  };
}
