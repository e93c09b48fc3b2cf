// gemm kernels: see src/backend/kernels.ts for the contract.
//
// C = alpha·op(A)·op(B) + beta·C, GotoBLAS/BLIS style: tiles sized to the 15
// xmm registers V8 leaves free, B packed in strips, k blocked for L1/L2. Why
// each shape and packing, as measured under V8 on x64: docs/gemm-design.md.
//
// Reproducibility across output tilings (the contract): every C element is
// Σ_p a[i,p]·b[p,j] accumulated one product at a time, in increasing p within
// each k block, in f32, mul then add, whatever kernel, strip or tile computes
// it (scalar stores of partial tiles round exactly like the vector ones). In
// the relaxed-SIMD build "mul then add" is f32x4.relaxed_madd, fused or not as
// the engine decides once for the machine (V8: fused where the CPU has FMA3),
// so the property holds within one build on one machine; the two builds differ
// from each other in the last bits. Only the k loops use it: C = alpha·acc +
// beta·C stays mul then add in both builds, as the scalar store does it. The
// k blocks depend on k alone (never on m, n or pointers) and fold into C in
// order: C = alpha·s0 + beta·C, then C = alpha·s1 + C, and so on. So splitting
// C by rows or columns with offset pointers gives bitwise the same C.
//
// No static data and no globals: the constants below are inlined, and scratch
// comes from `work`, so one module can run in several workers over one memory.

import { GemmEpilogue, GemmLayout } from "./opcodes";
import { NR, f32_gemm_pack_a, f32_gemm_pack_b } from "./gemm-packing";
import { f32_gemm_3x12_microkernel, f32_gemm_4x8_microkernel, f32_gemm_4x8_rows_microkernel } from "./gemm-microkernels";
import { f32_gemm_16x2_microkernel, f32_gemm_6x4_rows_microkernel, f32_gemm_8x4_microkernel } from "./gemm-edge-microkernels";

/** Deepest k block: k is cut into ceil(k / KC_MAX) blocks of (nearly) equal depth. */
const KC_MAX: i32 = 512;
/** Columns of B packed at once (a multiple of NR): the packed panel stays in L2. */
const NC: i32 = ASC_FEATURE_RELAXED_SIMD ? 528 : 512;
/** Rows of A packed at once (a multiple of 4): the packed block stays in L2. */
const MC: i32 = 256;
/** Bytes between consecutive packed strips beyond their data (see the header). */
const STRIP_PAD: usize = 64;
/** Up to this n, a transposed A is read in place rather than packed. */
const TN_IN_PLACE_MAX_N: i32 = 32;

const B_STRIP_MAX_BYTES: usize = ((<usize>KC_MAX * NR) << 2) + STRIP_PAD;
const A_STRIP_MAX_BYTES: usize = ((<usize>KC_MAX * 4) << 2) + STRIP_PAD;
const B_PANEL_BYTES: usize = <usize>(NC / NR) * B_STRIP_MAX_BYTES;
const A_BLOCK_BYTES: usize = <usize>(MC / 4) * A_STRIP_MAX_BYTES;
/** Staging for a partial tile (at most 36 floats) before its scalar store. */
const TILE_BYTES: usize = 48 * 4;

export function f32_gemm_workspace_size(): i32 {
  return <i32>(B_PANEL_BYTES + A_BLOCK_BYTES + TILE_BYTES);
}

export function f32_gemm_strip_width(): i32 {
  return NR;
}

export function f32_gemm(
  layout: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32,
  c: usize, ldc: i32, work: usize, epilogue: i32,
): void {
  if (m <= 0 || n <= 0) return;
  const ldcBytes = <usize>ldc << 2;
  const relu = epilogue == GemmEpilogue.Relu;
  if (k <= 0) {
    f32_gemm_scale_c(m, n, beta, c, ldcBytes);
    if (relu) f32_gemm_relu(m, n, c, ldcBytes);
    return;
  }
  // op(A)[i, p] is at a + i·aRowStep + p·aKStep; op(B)[p, j] at b + p·bKStep + j·bColStep.
  const ldaBytes = <usize>lda << 2;
  const ldbBytes = <usize>ldb << 2;
  const transA = layout == GemmLayout.TN;
  const aRowStep: usize = transA ? 4 : ldaBytes;
  const aKStep: usize = transA ? ldaBytes : 4;
  const transB = layout == GemmLayout.NT;
  const bKStep: usize = transB ? 4 : ldbBytes;
  const bColStep: usize = transB ? ldbBytes : 4;

  const bPanel = work;
  const aPacked = work + B_PANEL_BYTES;
  const tile = aPacked + A_BLOCK_BYTES;
  // Whether op(A) is read in 4-row strips (packed, or a transposed A in place)
  // or through row pointers (see the header).
  const nRest = n % NR;
  const packA = transA ? n > TN_IN_PLACE_MAX_N : n > NR && nRest != 0 && nRest <= 2;
  const stripsInPlace = transA && !packA;
  const blocks = (k + KC_MAX - 1) / KC_MAX;
  const kcBlock = (k + blocks - 1) / blocks;

  for (let pc = 0; pc < k; pc += kcBlock) {
    const kc = min(kcBlock, k - pc);
    const bStripBytes = ((<usize>kc * NR) << 2) + STRIP_PAD;
    const aStripBytes = ((<usize>kc * 4) << 2) + STRIP_PAD;
    // Later k blocks add onto the partial sums already in C.
    const blockBeta: f32 = pc == 0 ? beta : 1;
    // The epilogue runs on each strip of C as the last k block leaves it, still in L1.
    const reluNow = relu && pc + kc >= k;
    for (let jc = 0; jc < n; jc += NC) {
      const nc = min(NC, n - jc);
      f32_gemm_pack_b(b + <usize>pc * bKStep + <usize>jc * bColStep, bKStep, bColStep, kc, nc, bPanel, bStripBytes);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        const aBlock = a + <usize>ic * aRowStep + <usize>pc * aKStep;
        // Strips of op(A): packed (the next k step 16 bytes on), or a transposed A
        // in place (lda on), whole strips only: rows past the last one are left
        // to the row-pointer kernels, which never read beyond row m - 1.
        let aStrips = aPacked;
        let aStripStep = aStripBytes;
        let aStripKStep: usize = 16;
        let stripRows = mc;
        if (packA) {
          f32_gemm_pack_a(aBlock, aRowStep, aKStep, kc, mc, aPacked, aStripBytes);
        } else if (stripsInPlace) {
          aStrips = aBlock;
          aStripStep = 16;
          aStripKStep = aKStep;
          stripRows = mc & ~3;
        }
        const useStrips = packA || stripsInPlace;
        const cBlock = c + <usize>ic * ldcBytes + (<usize>jc << 2);
        let bStrip = bPanel;
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const cStrip = cBlock + (<usize>jr << 2);
          if (ASC_FEATURE_RELAXED_SIMD && nr > 4) {
            // Row i of op(A) at a + (i >> 2)·stripStep + (i & 3)·laneStep: the
            // 3x12 kernel takes every layout of A through row pointers.
            if (packA) {
              f32_gemm_3x12_microkernel(mc, nr, kc, aPacked, aStripBytes, 4, 16, bStrip, cStrip, ldcBytes, alpha, blockBeta, tile);
            } else {
              f32_gemm_3x12_microkernel(mc, nr, kc, aBlock, aRowStep << 2, aRowStep, aKStep, bStrip, cStrip, ldcBytes, alpha, blockBeta, tile);
            }
            if (reluNow) f32_gemm_relu(mc, nr, cStrip, ldcBytes);
            bStrip += bStripBytes;
            continue;
          }
          let rowsDone = 0;
          if (useStrips) {
            rowsDone = stripRows;
            if (nr > 4) {
              f32_gemm_4x8_microkernel(stripRows, nr, kc, aStrips, aStripStep, aStripKStep, bStrip, cStrip, ldcBytes, alpha, blockBeta, tile);
            } else if (nr <= 2) {
              f32_gemm_16x2_microkernel(stripRows, nr, kc, aStrips, aStripStep, aStripKStep, bStrip, cStrip, ldcBytes, alpha, blockBeta, tile);
            } else {
              f32_gemm_8x4_microkernel(stripRows, nr, kc, aStrips, aStripStep, aStripKStep, bStrip, cStrip, ldcBytes, alpha, blockBeta, tile);
            }
          }
          if (rowsDone < mc) {
            const aRest = aBlock + <usize>rowsDone * aRowStep;
            const cRest = cStrip + <usize>rowsDone * ldcBytes;
            if (nr > 4) {
              f32_gemm_4x8_rows_microkernel(mc - rowsDone, nr, kc, aRest, aRowStep, aKStep, bStrip, cRest, ldcBytes, alpha, blockBeta, tile);
            } else {
              f32_gemm_6x4_rows_microkernel(mc - rowsDone, nr, kc, aRest, aRowStep, aKStep, bStrip, cRest, ldcBytes, alpha, blockBeta, tile);
            }
          }
          if (reluNow) f32_gemm_relu(mc, nr, cStrip, ldcBytes);
          bStrip += bStripBytes;
        }
      }
    }
  }
}

/** C = beta·C: the whole product when k = 0. beta = 0 writes zeros. */
function f32_gemm_scale_c(m: i32, n: i32, beta: f32, c: usize, ldcBytes: usize): void {
  for (let i = 0; i < m; i++) {
    const row = c + <usize>i * ldcBytes;
    for (let j = 0; j < n; j++) {
      const p = row + (<usize>j << 2);
      store<f32>(p, beta == 0 ? 0 : beta * load<f32>(p));
    }
  }
}

/**
 * C = max(C, +0) over an [m, n] block, lane for lane f32_unary's ReLU (NaN
 * passes through, −0 becomes +0), so Linear + ReLU fused is bitwise the pair.
 */
function f32_gemm_relu(m: i32, n: i32, c: usize, ldcBytes: usize): void {
  const zero = f32x4.splat(0);
  const vectorBytes = <usize>(n & ~3) << 2;
  const rowBytes = <usize>n << 2;
  for (let i = 0; i < m; i++) {
    const row = c + <usize>i * ldcBytes;
    let o: usize = 0;
    for (; o < vectorBytes; o += 16) v128.store(row + o, f32x4.max(v128.load(row + o), zero));
    for (; o < rowBytes; o += 4) store<f32>(row + o, f32x4.extract_lane(f32x4.max(f32x4.splat(load<f32>(row + o)), zero), 0));
  }
}
