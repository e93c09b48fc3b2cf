// Row-range cross-entropy kernels: see LossRowKernels in src/backend/kernels.ts.
// Each is the whole-batch kernel of loss.ts on the rows' part of the batch, as
// the AssemblyScript twins in assembly/loss.ts are.

import type { Heap } from "../heap.ts";
import type { LossRowKernels } from "../kernels.ts";
import { jsLossKernels } from "./loss.ts";

export function jsLossRowKernels(heap: Heap): LossRowKernels {
  const whole = jsLossKernels(heap);
  return {
    f32_cross_entropy_rows(logits, labels, losses, lse, r0, rows, c) {
      const o = 4 * r0;
      whole.f32_cross_entropy(logits + o * c, labels + o, losses + o, lse + o, rows, c);
    },
    f32_cross_entropy_backward_rows(logits, labels, dloss, dlossStride, dlogits, r0, rows, c) {
      const o = 4 * r0;
      whole.f32_cross_entropy_backward(logits + o * c, labels + o, 0, dloss + o * dlossStride, dlossStride, dlogits + o * c, rows, c);
    },
  };
}
