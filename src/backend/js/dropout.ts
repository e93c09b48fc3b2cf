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

/** Calls decide(i, kept) for i in 0..n, kept deciding element i from the uniform stream (seed, offset). */
function forEachDecision(
  n: number, p: number, seedLo: number, seedHi: number, offset: number, decide: (i: number, kept: boolean) => void,
): void {
  const threshold = keepThresholdTicks(p);
  forEachPhiloxBlock(n, seedLo, seedHi, offset, (b, words) => {
    const end = Math.min(4, n - 4 * b);
    for (let lane = 0; lane < end; lane++) decide(4 * b + lane, words[lane] >>> 8 >= threshold);
  });
}

export function jsDropoutKernels(heap: Heap): DropoutKernels {
  return {
    f32_dropout(x, y, mask, n, p, seedLo, seedHi, offset) {
      const f32 = heap.f32;
      const u8 = heap.u8;
      const scale = survivorScale(p);
      const xb = x >>> 2;
      const yb = y >>> 2;
      forEachDecision(n, p, seedLo, seedHi, offset, (i, keep) => {
        // Dropped elements are set to +0, not x·0: x·∞ at p = 1 would be NaN.
        f32[yb + i] = keep ? f32[xb + i] * scale : 0;
        u8[mask + i] = keep ? 1 : 0;
      });
    },

    f32_relu_dropout(x, y, n, p, seedLo, seedHi, offset) {
      const f32 = heap.f32;
      const scale = survivorScale(p);
      const xb = x >>> 2;
      const yb = y >>> 2;
      // f32_unary's relu (Math.max: NaN passes), then f32_dropout's decision.
      forEachDecision(n, p, seedLo, seedHi, offset, (i, keep) => {
        f32[yb + i] = keep ? Math.max(f32[xb + i], 0) * scale : 0;
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
