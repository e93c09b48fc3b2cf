// Batch-norm kernels in plain TypeScript: the oracle for assembly/batchnorm.ts
// (f64 sums in n-then-s order, two-pass variance).

import type { Heap } from "../heap.ts";
import type { BatchNormKernels } from "../kernels.ts";

export function jsBatchNormKernels(heap: Heap): BatchNormKernels {
  /** Σ over channel c of (x − shift) or its square. */
  function channelSum(x: number, c: number, N: number, C: number, S: number, shift: number, square: boolean): number {
    const v = heap.f32;
    let acc = 0;
    for (let n = 0; n < N; n++) {
      const p = (x >>> 2) + (n * C + c) * S;
      for (let s = 0; s < S; s++) {
        const d = v[p + s] - shift;
        acc += square ? d * d : d;
      }
    }
    return acc;
  }
  return {
    f32_batch_norm(x, y, weight, bias, mean, invstd, runMean, runVar, c0, cs, N, C, S, eps, momentum, mode, affine) {
      const v = heap.f32;
      const M = N * S;
      for (let c = c0; c < c0 + cs; c++) {
        let mu: number;
        let va: number;
        if (mode === 0) {
          mu = v[(runMean >>> 2) + c];
          va = v[(runVar >>> 2) + c];
        } else {
          mu = channelSum(x, c, N, C, S, 0, false) / M;
          va = channelSum(x, c, N, C, S, mu, true) / M;
          if (mode === 2) {
            const unbiased = M > 1 ? (va * M) / (M - 1) : va;
            v[(runMean >>> 2) + c] = (1 - momentum) * v[(runMean >>> 2) + c] + momentum * mu;
            v[(runVar >>> 2) + c] = (1 - momentum) * v[(runVar >>> 2) + c] + momentum * unbiased;
          }
        }
        const inv = 1 / Math.sqrt(va + eps);
        v[(mean >>> 2) + c] = mu;
        v[(invstd >>> 2) + c] = inv;
        const a = affine ? inv * v[(weight >>> 2) + c] : inv;
        const b = (affine ? v[(bias >>> 2) + c] : 0) - mu * a;
        for (let n = 0; n < N; n++) {
          const o = (n * C + c) * S;
          for (let s = 0; s < S; s++) v[(y >>> 2) + o + s] = v[(x >>> 2) + o + s] * a + b;
        }
      }
    },

    f32_batch_norm_backward(x, dy, dx, weight, mean, invstd, dweight, dbias, c0, cs, N, C, S, training, affine) {
      const v = heap.f32;
      const M = N * S;
      for (let c = c0; c < c0 + cs; c++) {
        const mu = v[(mean >>> 2) + c];
        const inv = v[(invstd >>> 2) + c];
        let sumDy = 0;
        let sumDyXhat = 0;
        for (let n = 0; n < N; n++) {
          const o = (n * C + c) * S;
          for (let s = 0; s < S; s++) {
            const g = v[(dy >>> 2) + o + s];
            sumDy += g;
            sumDyXhat += g * (v[(x >>> 2) + o + s] - mu) * inv;
          }
        }
        if (affine) {
          v[(dweight >>> 2) + c] = sumDyXhat;
          v[(dbias >>> 2) + c] = sumDy;
        }
        const k = inv * (affine ? v[(weight >>> 2) + c] : 1);
        const meanDy = training ? sumDy / M : 0;
        const meanDyXhat = training ? sumDyXhat / M : 0;
        for (let n = 0; n < N; n++) {
          const o = (n * C + c) * S;
          for (let s = 0; s < S; s++) {
            const xhat = (v[(x >>> 2) + o + s] - mu) * inv;
            v[(dx >>> 2) + o + s] = k * (v[(dy >>> 2) + o + s] - meanDy - xhat * meanDyXhat);
          }
        }
      }
    },
  };
}
