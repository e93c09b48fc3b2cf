// dropout kernels: see src/backend/kernels.ts for the contract.
// The same decisions as assembly/dropout.ts: both compare the same exact
// uniforms (multiples of 2^-24) against the same threshold, so masks agree bit
// for bit across backends.

import type { Heap } from "../heap.ts";
import type { DropoutKernels } from "../kernels.ts";
import { forEachPhiloxBlock } from "./random.ts";

/**
 * Keep iff the uniform's 24-bit numerator k = word >>> 8 reaches ⌈p·2^24⌉
 * (clamped to [0, 2^24]): exactly u = k·2^-24 ≥ p. NaN keeps all.
 */
function keepThresholdTicks(p: number): number {
  const ticks = Math.ceil(p * 16777216);
  if (!(ticks > 0)) return 0;
  return Math.min(ticks, 16777216);
}

/** PyTorch's survivor scale: 1 / (1 − p) divided in f32. Infinite at p = 1, where nothing survives to use it. */
function survivorScale(p: number): number {
  return Math.fround(1 / Math.fround(1 - p));
}

export function jsDropoutKernels(heap: Heap): DropoutKernels {
  return {
    f32_dropout(x, y, mask, n, p, seedLo, seedHi, offset) {
      const f32 = heap.f32;
      const u8 = heap.u8;
      const threshold = keepThresholdTicks(p);
      const scale = survivorScale(p);
      const xb = x >>> 2;
      const yb = y >>> 2;
      forEachPhiloxBlock(n, seedLo, seedHi, offset, (b, words) => {
        const end = Math.min(4, n - 4 * b);
        for (let lane = 0; lane < end; lane++) {
          const i = 4 * b + lane;
          // Dropped elements are set to +0, not x·0: x·∞ at p = 1 would be NaN.
          const keep = words[lane] >>> 8 >= threshold;
          f32[yb + i] = keep ? f32[xb + i] * scale : 0;
          u8[mask + i] = keep ? 1 : 0;
        }
      });
    },

    f32_relu_dropout(x, y, n, p, seedLo, seedHi, offset) {
      const f32 = heap.f32;
      const threshold = keepThresholdTicks(p);
      const scale = survivorScale(p);
      const xb = x >>> 2;
      const yb = y >>> 2;
      forEachPhiloxBlock(n, seedLo, seedHi, offset, (b, words) => {
        const end = Math.min(4, n - 4 * b);
        for (let lane = 0; lane < end; lane++) {
          const i = 4 * b + lane;
          // f32_unary's relu, then f32_dropout's decision.
          f32[yb + i] = words[lane] >>> 8 >= threshold ? Math.max(f32[xb + i], 0) * scale : 0;
        }
      });
    },

    f32_relu_dropout_backward(dy, y, dx, n, p) {
      const f32 = heap.f32;
      const scale = survivorScale(p);
      const dyb = dy >>> 2;
      const yb = y >>> 2;
      const dxb = dx >>> 2;
      for (let i = 0; i < n; i++) {
        f32[dxb + i] = f32[yb + i] > 0 ? f32[dyb + i] * scale : 0;
      }
    },

    f32_dropout_backward(dy, mask, dx, n, p) {
      const f32 = heap.f32;
      const u8 = heap.u8;
      const scale = survivorScale(p);
      const dyb = dy >>> 2;
      const dxb = dx >>> 2;
      for (let i = 0; i < n; i++) {
        f32[dxb + i] = u8[mask + i] !== 0 ? f32[dyb + i] * scale : 0;
      }
    },
  };
}
