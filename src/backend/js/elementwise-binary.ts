// Binary elementwise kernels in plain TypeScript: the oracle for
// assembly/elementwise-binary.ts. Each operation is rounded to f32 by the store
// into the Float32Array heap, exactly as Wasm's f32 arithmetic rounds it.

import type { Heap } from "../heap.ts";
import { BinaryOp, type ElementwiseKernels } from "../kernels.ts";
import { forEachStrided } from "./elementwise-copy.ts";
import { lookup } from "./elementwise-unary.ts";

type Binary = (a: number, b: number) => number;

/** C's pow (what PyTorch uses): unlike Math.pow, pow(1, y) = 1 for every y and pow(−1, ±∞) = 1. */
function powC(x: number, y: number): number {
  if (x === 1 || (x === -1 && Math.abs(y) === Infinity)) return 1;
  return Math.pow(x, y);
}

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

export function jsElementwiseBinaryKernels(
  heap: Heap,
): Pick<ElementwiseKernels, "f32_binary" | "f32_binary_scalar" | "f32_binary_broadcast"> {
  return {
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
      const scalar = Math.fround(s);
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
  };
}
