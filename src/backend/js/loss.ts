// loss kernels: see src/backend/kernels.ts for the contract.
//
// Cross-entropy works per row in f64 after subtracting the row maximum, so
// exp never overflows (logits of ±1e4 are fine) and the log-sum-exp keeps its
// digits; results are rounded to f32 once, at the end.

import type { Heap } from "../heap.ts";
import type { LossKernels } from "../kernels.ts";

export function jsLossKernels(heap: Heap): LossKernels {
  return {
    f32_cross_entropy(logits, labels, losses, lse, n, c) {
      const f32 = heap.f32;
      const i32 = heap.i32;
      for (let i = 0; i < n; i++) {
        const label = i32[(labels >>> 2) + i];
        // The caller reports this row; nothing from it on is written.
        if (!(label >= 0 && label < c)) return i;
        const row = (logits >>> 2) + i * c;
        // NaN anywhere in the row makes the max NaN, so a poisoned row shows as NaN, not a wrong loss.
        let m = f32[row];
        for (let j = 1; j < c; j++) m = Math.max(m, f32[row + j]);
        let sum = 0;
        for (let j = 0; j < c; j++) sum += Math.exp(f32[row + j] - m);
        const logSumExp = m + Math.log(sum);
        f32[(lse >>> 2) + i] = logSumExp;
        f32[(losses >>> 2) + i] = logSumExp - f32[row + label];
      }
      return -1;
    },

    // As in assembly/loss.ts, the stored lse is not used: rounded to f32 it is only
    // good to ~7 digits of its magnitude (5e-4 absolute for logits of 1e4), so the
    // softmax is recomputed from the row max, exactly as the Wasm kernel does.
    f32_cross_entropy_backward(logits, labels, lse, dloss, dlossStride, dlogits, n, c) {
      void lse;
      if (c <= 0) return;
      const f32 = heap.f32;
      const i32 = heap.i32;
      for (let i = 0; i < n; i++) {
        const g = f32[(dloss >>> 2) + i * dlossStride];
        const row = (logits >>> 2) + i * c;
        const out = (dlogits >>> 2) + i * c;
        let m = f32[row];
        for (let j = 1; j < c; j++) m = Math.max(m, f32[row + j]);
        // Read before the row may be overwritten (dlogits = logits is allowed). An
        // out-of-range label matches no column: nothing is read or written out of bounds.
        const label = i32[(labels >>> 2) + i];
        const labelValid = label >= 0 && label < c;
        const labelLogit = labelValid ? f32[row + label] : 0;
        let sum = 0;
        for (let j = 0; j < c; j++) {
          const e = Math.exp(f32[row + j] - m);
          sum += e;
          f32[out + j] = e;
        }
        const scale = g / sum;
        for (let j = 0; j < c; j++) f32[out + j] = scale * f32[out + j];
        // softmax − 1 cancels near 1: the label's term is recomputed in f64.
        if (labelValid) f32[out + label] = g * (Math.exp(labelLogit - m) / sum - 1);
      }
    },

    f32_mse(pred, target, n) {
      // Four accumulators, element i into lane i % 4, combined as (s0 + s1) + (s2 + s3):
      // the order of the Wasm kernel's two f64x2 accumulators, so both backends return the same f64.
      const f32 = heap.f32;
      const p = pred >>> 2;
      const t = target >>> 2;
      const s = new Float64Array(4);
      for (let i = 0; i < n; i++) {
        const d = Math.fround(f32[p + i] - f32[t + i]);
        s[i & 3] += d * d;
      }
      return (s[0] + s[1]) + (s[2] + s[3]);
    },

    f32_mse_backward(pred, target, dpred, n, scale) {
      const f32 = heap.f32;
      const factor = Math.fround(2 * scale);
      const p = pred >>> 2;
      const t = target >>> 2;
      const d = dpred >>> 2;
      for (let i = 0; i < n; i++) f32[d + i] = factor * Math.fround(f32[p + i] - f32[t + i]);
    },
  };
}
