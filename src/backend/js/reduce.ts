// Reduce kernels in plain TypeScript: the oracle for assembly/reduce.ts.
// x is viewed as [outer, size, inner] and reduced over the middle axis. Sums
// accumulate in f64 (JS numbers) and round once to f32 on the store.

import type { Heap } from "../heap.ts";
import { ReduceOp, type ReduceKernels } from "../kernels.ts";

interface Reduction {
  start: number;
  step: (acc: number, x: number) => number;
  finish: (acc: number, size: number) => number;
}

const total = (acc: number) => acc;

const REDUCTIONS: Record<ReduceOp, Reduction> = {
  [ReduceOp.Sum]: { start: 0, step: (acc, x) => acc + x, finish: total },
  [ReduceOp.Mean]: { start: 0, step: (acc, x) => acc + x, finish: (acc, size) => acc / size },
  // Math.max/min propagate NaN, as PyTorch's max/min do; ∓∞ is what an empty reduction gives.
  [ReduceOp.Max]: { start: -Infinity, step: Math.max, finish: total },
  [ReduceOp.Min]: { start: Infinity, step: Math.min, finish: total },
  [ReduceOp.SumAbs]: { start: 0, step: (acc, x) => acc + Math.abs(x), finish: total },
  // x·x of an f32 is exact in f64.
  [ReduceOp.SumSquares]: { start: 0, step: (acc, x) => acc + x * x, finish: total },
};

export function jsReduceKernels(heap: Heap): ReduceKernels {
  return {
    f32_reduce(op, x, out, outer, size, inner) {
      const r = REDUCTIONS[op as ReduceOp];
      if (r === undefined) throw new RangeError(`wasmgrad: unknown reduce op code ${op}`);
      const v = heap.f32;
      const xi = x >>> 2, oi = out >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = r.start;
          for (let s = 0, k = xi + o * size * inner + i; s < size; s++, k += inner) acc = r.step(acc, v[k]);
          v[oi + o * inner + i] = r.finish(acc, size);
        }
      }
    },

    f32_argmax(x, out, outer, size, inner) {
      const v = heap.f32, idx = heap.i32;
      const xi = x >>> 2, oi = out >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = xi + o * size * inner + i;
          let best = 0;
          let bestValue = v[base];
          for (let s = 1; s < size; s++) {
            const value = v[base + s * inner];
            // Strictly larger keeps the first maximum; the first NaN wins and is never replaced.
            if (value > bestValue || (Number.isNaN(value) && !Number.isNaN(bestValue))) {
              best = s;
              bestValue = value;
            }
          }
          idx[oi + o * inner + i] = best;
        }
      }
    },

    f32_scatter_add_axis(dy, idx, dx, outer, size, inner) {
      const v = heap.f32, index = heap.i32;
      const dyi = dy >>> 2, ii = idx >>> 2, dxi = dx >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const k = o * inner + i;
          v[dxi + (o * size + index[ii + k]) * inner + i] += v[dyi + k];
        }
      }
    },
  };
}
