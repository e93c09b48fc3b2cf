// Elementwise kernels in plain TypeScript: the oracle for assembly/elementwise.ts.
//
// Values are read from and stored to Float32Arrays, so each single operation
// is rounded to f32 by the store, exactly as Wasm's f32 arithmetic rounds it
// (+ − × ÷ √ computed in f64 and rounded once are correctly rounded f32).
// Formulas with several steps round each intermediate with Math.fround in the
// order the Wasm kernel uses. Transcendentals use Math.* in f64: within an ulp
// or two of the Wasm polynomials, not bitwise equal.

import type { Heap } from "../heap.ts";
import { BinaryOp, UnaryOp, type ElementwiseKernels } from "../kernels.ts";

const f = Math.fround;

type Unary = (x: number) => number;
type Binary = (a: number, b: number) => number;

/** C's pow (what PyTorch uses): unlike Math.pow, pow(1, y) = 1 for every y and pow(−1, ±∞) = 1. */
function powC(x: number, y: number): number {
  if (x === 1 || (x === -1 && Math.abs(y) === Infinity)) return 1;
  return Math.pow(x, y);
}

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
  [UnaryOp.Sqrt]: (_x, y, dy) => dy / f(y + y),
  [UnaryOp.Exp]: (_x, y, dy) => dy * y,
  [UnaryOp.Log]: (x, _y, dy) => dy / x,
  // A select, not a product: an infinite dy still gives 0 where x ≤ 0.
  [UnaryOp.Relu]: (x, _y, dy) => (x > 0 ? dy : 0),
  [UnaryOp.Sigmoid]: (_x, y, dy) => f(dy * f(1 - y)) * y,
  [UnaryOp.Tanh]: (_x, y, dy) => dy * f(1 - f(y * y)),
  [UnaryOp.Square]: (x, _y, dy) => dy * f(x + x),
  [UnaryOp.Sign]: () => 0,
};

const BINARY: Record<BinaryOp, Binary> = {
  [BinaryOp.Add]: (a, b) => a + b,
  [BinaryOp.Sub]: (a, b) => a - b,
  [BinaryOp.Mul]: (a, b) => a * b,
  [BinaryOp.Div]: (a, b) => a / b,
  [BinaryOp.Pow]: powC,
  // Math.max/min propagate NaN, as PyTorch's maximum/minimum do.
  [BinaryOp.Maximum]: Math.max,
  [BinaryOp.Minimum]: Math.min,
  [BinaryOp.Eq]: (a, b) => (a === b ? 1 : 0),
  [BinaryOp.Ne]: (a, b) => (a !== b ? 1 : 0),
  [BinaryOp.Lt]: (a, b) => (a < b ? 1 : 0),
  [BinaryOp.Le]: (a, b) => (a <= b ? 1 : 0),
  [BinaryOp.Gt]: (a, b) => (a > b ? 1 : 0),
  [BinaryOp.Ge]: (a, b) => (a >= b ? 1 : 0),
};

function lookup<T>(table: Record<number, T>, op: number, family: string): T {
  const fn = table[op];
  if (fn === undefined) throw new RangeError(`wasmgrad: unknown ${family} op code ${op}`);
  return fn;
}

/**
 * Visits the elements of a contiguous output of `shape` in order: visit(index, offsets) with
 * offsets[s] the element's offset (in elements) under stride set s. `meta` holds the shape,
 * then `sets` stride sets, ndim i32 each.
 */
function forEachStrided(
  i32: Int32Array, ndim: number, meta: number, sets: number,
  visit: (index: number, offsets: Int32Array) => void,
): void {
  const m = meta >>> 2;
  const shape = i32.slice(m, m + ndim);
  const strides = i32.slice(m + ndim, m + ndim * (1 + sets));
  let total = 1;
  for (const size of shape) total *= size;
  if (total === 0) return;
  const counter = new Int32Array(ndim);
  const offsets = new Int32Array(sets);
  for (let index = 0; index < total; index++) {
    visit(index, offsets);
    // Odometer: bump the last axis, carrying into earlier ones.
    for (let d = ndim - 1; d >= 0; d--) {
      counter[d]++;
      for (let s = 0; s < sets; s++) offsets[s] += strides[s * ndim + d];
      if (counter[d] < shape[d]) break;
      for (let s = 0; s < sets; s++) offsets[s] -= strides[s * ndim + d] * shape[d];
      counter[d] = 0;
    }
  }
}

export function jsElementwiseKernels(heap: Heap): ElementwiseKernels {
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

    f32_binary(op, a, b, out, n) {
      const fn = lookup(BINARY, op, "binary");
      const v = heap.f32;
      const ai = a >>> 2, bi = b >>> 2, oi = out >>> 2;
      for (let i = 0; i < n; i++) v[oi + i] = fn(v[ai + i], v[bi + i]);
    },

    f32_binary_scalar(op, a, s, out, n, reversed) {
      const fn = lookup(BINARY, op, "binary");
      const v = heap.f32;
      const ai = a >>> 2, oi = out >>> 2;
      const scalar = f(s);
      if (reversed) for (let i = 0; i < n; i++) v[oi + i] = fn(scalar, v[ai + i]);
      else for (let i = 0; i < n; i++) v[oi + i] = fn(v[ai + i], scalar);
    },

    f32_binary_broadcast(op, a, b, out, ndim, meta) {
      const fn = lookup(BINARY, op, "binary");
      const v = heap.f32;
      const ai = a >>> 2, bi = b >>> 2, oi = out >>> 2;
      forEachStrided(heap.i32, ndim, meta, 2, (index, offsets) => {
        v[oi + index] = fn(v[ai + offsets[0]], v[bi + offsets[1]]);
      });
    },

    f32_strided_copy(src, dst, ndim, meta) {
      // As i32: int32 and bool tensors are copied too, and a Float32Array would canonicalise NaN payloads.
      const v = heap.i32;
      const si = src >>> 2, di = dst >>> 2;
      forEachStrided(heap.i32, ndim, meta, 1, (index, offsets) => {
        v[di + index] = v[si + offsets[0]];
      });
    },

    f32_fill(out, n, value) {
      heap.f32.fill(value, out >>> 2, (out >>> 2) + n);
    },

    f32_arange(out, n, start, step) {
      const v = heap.f32;
      const oi = out >>> 2;
      for (let i = 0; i < n; i++) v[oi + i] = start + i * step;
    },

    i32_to_f32(src, dst, n) {
      const from = heap.i32, to = heap.f32;
      const si = src >>> 2, di = dst >>> 2;
      for (let i = 0; i < n; i++) to[di + i] = from[si + i];
    },

    u8_to_f32(src, dst, n, scale) {
      const from = heap.u8, to = heap.f32;
      const s = f(scale);
      const di = dst >>> 2;
      for (let i = 0; i < n; i++) to[di + i] = from[src + i] * s;
    },

    f32_broadcast_rows(bias, c, m, n) {
      const v = heap.f32;
      const row = v.subarray(bias >>> 2, (bias >>> 2) + n);
      for (let r = 0; r < m; r++) v.set(row, (c >>> 2) + r * n);
    },
  };
}
