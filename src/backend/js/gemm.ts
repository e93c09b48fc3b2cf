// gemm kernels: see src/backend/kernels.ts for the contract.
//
// The plain-TypeScript GEMM: the oracle the Wasm kernel is tested against and
// the JS side of the benchmarks. Each element's sum runs over k in increasing
// order in an f32 accumulator (each step rounds s + a·b once to f32: the
// product of two f32 is exact in a double), then C = alpha·s + beta·C. The
// loops are ordered so the innermost one walks memory contiguously: i-k-j (a
// row of C gathers rows of op(B)) for NN and TN, and for NT, whose op(B) rows
// are B's columns, dot products of rows of A and B, four columns of C at a
// time so that four independent sums overlap.

import type { Heap } from "../heap.ts";
import { GemmEpilogue, GemmLayout, type GemmKernels } from "../kernels.ts";

export function jsGemmKernels(heap: Heap): GemmKernels {
  // One row of C's sums, reused across calls (grown on demand).
  let rowSums = new Float32Array(64);

  /** sums[j] = Σ_p A[i, p]·B[j, p] for a row-major A (lda) and B (ldb): the NT product's row i. */
  function dotRows(f32: Float32Array, ai: number, b0: number, ldb: number, n: number, k: number, sums: Float32Array): void {
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const bj0 = b0 + j * ldb;
      const bj1 = bj0 + ldb;
      const bj2 = bj1 + ldb;
      const bj3 = bj2 + ldb;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < k; p++) {
        const aip = f32[ai + p];
        s0 = Math.fround(s0 + aip * f32[bj0 + p]);
        s1 = Math.fround(s1 + aip * f32[bj1 + p]);
        s2 = Math.fround(s2 + aip * f32[bj2 + p]);
        s3 = Math.fround(s3 + aip * f32[bj3 + p]);
      }
      sums[j] = s0;
      sums[j + 1] = s1;
      sums[j + 2] = s2;
      sums[j + 3] = s3;
    }
    for (; j < n; j++) {
      const bj = b0 + j * ldb;
      let s = 0;
      for (let p = 0; p < k; p++) s = Math.fround(s + f32[ai + p] * f32[bj + p]);
      sums[j] = s;
    }
  }

  return {
    f32_gemm(layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work, epilogue = GemmEpilogue.None) {
      void work;
      if (m <= 0 || n <= 0) return;
      const relu = epilogue === GemmEpilogue.Relu;
      const f32 = heap.f32;
      const a0 = a >>> 2;
      const b0 = b >>> 2;
      const c0 = c >>> 2;
      if (rowSums.length < n) rowSums = new Float32Array(n);
      const sums = rowSums;
      // op(A)[i, p] = f32[a0 + i·aRowStep + p·aKStep]
      const aRowStep = layout === GemmLayout.TN ? 1 : lda;
      const aKStep = layout === GemmLayout.TN ? lda : 1;
      for (let i = 0; i < m; i++) {
        if (layout === GemmLayout.NT) {
          dotRows(f32, a0 + i * lda, b0, ldb, n, k, sums);
        } else {
          sums.fill(0, 0, n);
          for (let p = 0; p < k; p++) {
            const aip = f32[a0 + i * aRowStep + p * aKStep];
            const bp = b0 + p * ldb;
            for (let j = 0; j < n; j++) sums[j] += aip * f32[bp + j];
          }
        }
        // beta = 0 never reads C (it may hold NaN).
        const ci = c0 + i * ldc;
        for (let j = 0; j < n; j++) {
          const scaled = Math.fround(alpha * sums[j]);
          const v = beta === 0 ? scaled : Math.fround(scaled + Math.fround(beta * f32[ci + j]));
          // Math.max passes NaN through and turns −0 into +0, as f32_unary's ReLU does.
          f32[ci + j] = relu ? Math.max(v, 0) : v;
        }
      }
    },

    f32_gemm_workspace_size() {
      return 0;
    },

    // NT computes four columns at a time.
    f32_gemm_strip_width() {
      return 4;
    },
  };
}
