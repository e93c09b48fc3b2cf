// GEMM microkernels for the full tiles: 4x8 (baseline build) and 3x12 (relaxed
// SIMD), each computing a column strip of C over one k block from packed B.
// The last narrow strips and partial tiles: gemm-edge-microkernels.ts.

import { f32_gemm_store_tile } from "./gemm-edge-microkernels";
import { is } from "./lanes";

/**
 * acc + a·b, the one multiply-accumulate of every microkernel's k loop:
 * f32x4.relaxed_madd in the relaxed-SIMD build, f32x4.mul then f32x4.add in
 * the baseline one (resolved at compile time: the baseline's code is the same
 * as with the expression written out).
 */
@inline export function f32_gemm_madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// ---------------------------------------------------------------------------
// Microkernels. Each computes a column strip of C (mc rows, nr ≤ 8 columns)
// over one k block, tile by tile: a tile's accumulators stay in registers for
// the whole block, then C = alpha·acc + beta·C (C is not read when beta = 0).
// "Strips" kernels take op(A) as 4-row strips: strip s at aStrips + s·aStripStep,
// its k step p at + p·aKStep, holding rows 4s .. 4s+3 as 4 adjacent floats.

/** Where a 4x8 kernel reads op(A): 4-row strips (see above), or rows through pointers. */
class AStrips {}
class ARows {}

/**
 * 4x8 tiles, B in an 8-wide strip; A in strips (aStep = aStripStep) or through
 * row pointers (aStep = aRowStep: row i at a + i·aRowStep), stepping aKStep
 * bytes per k. Rows past the edge repeat the last real row: read, computed,
 * never stored.
 */
function f32_gemm_4x8<A>(
  mc: i32, nr: i32, kc: i32, a: usize, aStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  const strips = is<A, AStrips>();
  for (let ir = 0; ir < mc; ir += 4) {
    let a0 = a + <usize>(strips ? ir >> 2 : ir) * aStep;
    let a1: usize = 0, a2: usize = 0, a3: usize = 0;
    let mr = 4;
    if (!strips) {
      mr = min(4, mc - ir);
      a1 = mr > 1 ? a0 + aStep : a0;
      a2 = mr > 2 ? a1 + aStep : a1;
      a3 = mr > 3 ? a2 + aStep : a2;
    }
    let b = bStrip;
    let c00 = f32x4.splat(0), c01 = c00;
    let c10 = c00, c11 = c00;
    let c20 = c00, c21 = c00;
    let c30 = c00, c31 = c00;
    const bEnd = b + (<usize>kc << 5);
    while (b < bEnd) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      const va0 = v128.load32_splat(a0);
      const va1 = strips ? v128.load32_splat(a0, 4) : v128.load32_splat(a1);
      const va2 = strips ? v128.load32_splat(a0, 8) : v128.load32_splat(a2);
      const va3 = strips ? v128.load32_splat(a0, 12) : v128.load32_splat(a3);
      c00 = f32_gemm_madd(va0, b0, c00);
      c01 = f32_gemm_madd(va0, b1, c01);
      c10 = f32_gemm_madd(va1, b0, c10);
      c11 = f32_gemm_madd(va1, b1, c11);
      c20 = f32_gemm_madd(va2, b0, c20);
      c21 = f32_gemm_madd(va2, b1, c21);
      c30 = f32_gemm_madd(va3, b0, c30);
      c31 = f32_gemm_madd(va3, b1, c31);
      a0 += aKStep;
      if (!strips) {
        a1 += aKStep;
        a2 += aKStep;
        a3 += aKStep;
      }
      b += 32;
    }
    f32_gemm_4x8_store(
      c00, c01, c10, c11, c20, c21, c30, c31,
      strips ? min(4, mc - ir) : mr, nr, c + <usize>ir * ldcBytes, ldcBytes, alpha, beta, tile,
    );
  }
}

/** 4x8 tiles, A in strips. */
export function f32_gemm_4x8_microkernel(
  mc: i32, nr: i32, kc: i32, aStrips: usize, aStripStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  f32_gemm_4x8<AStrips>(mc, nr, kc, aStrips, aStripStep, aKStep, bStrip, c, ldcBytes, alpha, beta, tile);
}

/** 4x8 tiles, A through row pointers: row i at a + i·aRowStep, stepping aKStep bytes per k. */
export function f32_gemm_4x8_rows_microkernel(
  mc: i32, nr: i32, kc: i32, a: usize, aRowStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  f32_gemm_4x8<ARows>(mc, nr, kc, a, aRowStep, aKStep, bStrip, c, ldcBytes, alpha, beta, tile);
}

/** Stores rows 0..mr, columns 0..nr of a 4x8 tile of accumulators. */
@inline function f32_gemm_4x8_store(
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
  mr: i32, nr: i32, c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  const va = f32x4.splat(alpha);
  c00 = f32x4.mul(c00, va); c01 = f32x4.mul(c01, va);
  c10 = f32x4.mul(c10, va); c11 = f32x4.mul(c11, va);
  c20 = f32x4.mul(c20, va); c21 = f32x4.mul(c21, va);
  c30 = f32x4.mul(c30, va); c31 = f32x4.mul(c31, va);
  if (mr == 4 && nr == 8) {
    const r0 = c, r1 = r0 + ldcBytes, r2 = r1 + ldcBytes, r3 = r2 + ldcBytes;
    if (beta != 0) {
      const vb = f32x4.splat(beta);
      c00 = f32x4.add(c00, f32x4.mul(vb, v128.load(r0))); c01 = f32x4.add(c01, f32x4.mul(vb, v128.load(r0, 16)));
      c10 = f32x4.add(c10, f32x4.mul(vb, v128.load(r1))); c11 = f32x4.add(c11, f32x4.mul(vb, v128.load(r1, 16)));
      c20 = f32x4.add(c20, f32x4.mul(vb, v128.load(r2))); c21 = f32x4.add(c21, f32x4.mul(vb, v128.load(r2, 16)));
      c30 = f32x4.add(c30, f32x4.mul(vb, v128.load(r3))); c31 = f32x4.add(c31, f32x4.mul(vb, v128.load(r3, 16)));
    }
    v128.store(r0, c00); v128.store(r0, c01, 16);
    v128.store(r1, c10); v128.store(r1, c11, 16);
    v128.store(r2, c20); v128.store(r2, c21, 16);
    v128.store(r3, c30); v128.store(r3, c31, 16);
  } else {
    v128.store(tile, c00); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    f32_gemm_store_tile(tile, 8, 1, mr, nr, c, ldcBytes, beta);
  }
}

/**
 * 3x12 tiles, the relaxed-SIMD build's main kernel: B in a 12-wide strip (5 to
 * 12 real columns), A through row pointers, row i at a + (i >> 2)·aStripStep +
 * (i & 3)·aLaneStep, stepping aKStep bytes per k. That covers a row-major A
 * (aStripStep = 4·lda, aLaneStep = lda), a transposed A in place (16 and 4) and
 * packed 4-row strips (the strip's bytes and 4) alike. Rows past the edge
 * repeat the last real row: read, computed, never stored.
 */
export function f32_gemm_3x12_microkernel(
  mc: i32, nr: i32, kc: i32, a: usize, aStripStep: usize, aLaneStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  for (let ir = 0; ir < mc; ir += 3) {
    const mr = min(3, mc - ir);
    let a0 = a + <usize>(ir >> 2) * aStripStep + <usize>(ir & 3) * aLaneStep;
    let a1 = a0;
    let a2 = a0;
    if (mr > 1) a1 = a + <usize>((ir + 1) >> 2) * aStripStep + <usize>((ir + 1) & 3) * aLaneStep;
    if (mr > 2) a2 = a + <usize>((ir + 2) >> 2) * aStripStep + <usize>((ir + 2) & 3) * aLaneStep;
    else a2 = a1;
    let b = bStrip;
    let c00 = f32x4.splat(0), c01 = c00, c02 = c00;
    let c10 = c00, c11 = c00, c12 = c00;
    let c20 = c00, c21 = c00, c22 = c00;
    const bEnd = b + <usize>kc * 48;
    while (b < bEnd) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      const b2 = v128.load(b, 32);
      const va0 = v128.load32_splat(a0);
      const va1 = v128.load32_splat(a1);
      const va2 = v128.load32_splat(a2);
      c00 = f32_gemm_madd(va0, b0, c00);
      c01 = f32_gemm_madd(va0, b1, c01);
      c02 = f32_gemm_madd(va0, b2, c02);
      c10 = f32_gemm_madd(va1, b0, c10);
      c11 = f32_gemm_madd(va1, b1, c11);
      c12 = f32_gemm_madd(va1, b2, c12);
      c20 = f32_gemm_madd(va2, b0, c20);
      c21 = f32_gemm_madd(va2, b1, c21);
      c22 = f32_gemm_madd(va2, b2, c22);
      a0 += aKStep;
      a1 += aKStep;
      a2 += aKStep;
      b += 48;
    }
    const va = f32x4.splat(alpha);
    c00 = f32x4.mul(c00, va); c01 = f32x4.mul(c01, va); c02 = f32x4.mul(c02, va);
    c10 = f32x4.mul(c10, va); c11 = f32x4.mul(c11, va); c12 = f32x4.mul(c12, va);
    c20 = f32x4.mul(c20, va); c21 = f32x4.mul(c21, va); c22 = f32x4.mul(c22, va);
    const r0 = c + <usize>ir * ldcBytes;
    if (mr == 3 && nr == 12) {
      const r1 = r0 + ldcBytes, r2 = r1 + ldcBytes;
      if (beta != 0) {
        const vb = f32x4.splat(beta);
        c00 = f32x4.add(c00, f32x4.mul(vb, v128.load(r0)));
        c01 = f32x4.add(c01, f32x4.mul(vb, v128.load(r0, 16)));
        c02 = f32x4.add(c02, f32x4.mul(vb, v128.load(r0, 32)));
        c10 = f32x4.add(c10, f32x4.mul(vb, v128.load(r1)));
        c11 = f32x4.add(c11, f32x4.mul(vb, v128.load(r1, 16)));
        c12 = f32x4.add(c12, f32x4.mul(vb, v128.load(r1, 32)));
        c20 = f32x4.add(c20, f32x4.mul(vb, v128.load(r2)));
        c21 = f32x4.add(c21, f32x4.mul(vb, v128.load(r2, 16)));
        c22 = f32x4.add(c22, f32x4.mul(vb, v128.load(r2, 32)));
      }
      v128.store(r0, c00); v128.store(r0, c01, 16); v128.store(r0, c02, 32);
      v128.store(r1, c10); v128.store(r1, c11, 16); v128.store(r1, c12, 32);
      v128.store(r2, c20); v128.store(r2, c21, 16); v128.store(r2, c22, 32);
    } else if (mr == 3 && nr > 8) {
      // A strip of 9 to 11 columns (the 10-class output layer): whole vectors
      // for the first 8, staged lanes for the rest (an all-scalar store of the
      // tile cost ~13% of the strip). Kept apart from the full-tile branch: one
      // branch for both measured 1-2% slower on the full tiles.
      const r1 = r0 + ldcBytes, r2 = r1 + ldcBytes;
      if (beta != 0) {
        const vb = f32x4.splat(beta);
        c00 = f32x4.add(c00, f32x4.mul(vb, v128.load(r0)));
        c01 = f32x4.add(c01, f32x4.mul(vb, v128.load(r0, 16)));
        c10 = f32x4.add(c10, f32x4.mul(vb, v128.load(r1)));
        c11 = f32x4.add(c11, f32x4.mul(vb, v128.load(r1, 16)));
        c20 = f32x4.add(c20, f32x4.mul(vb, v128.load(r2)));
        c21 = f32x4.add(c21, f32x4.mul(vb, v128.load(r2, 16)));
      }
      v128.store(r0, c00); v128.store(r0, c01, 16);
      v128.store(r1, c10); v128.store(r1, c11, 16);
      v128.store(r2, c20); v128.store(r2, c21, 16);
      v128.store(tile, c02); v128.store(tile, c12, 16); v128.store(tile, c22, 32);
      f32_gemm_store_tile(tile, 4, 1, 3, nr - 8, r0 + 32, ldcBytes, beta);
    } else {
      v128.store(tile, c00); v128.store(tile, c01, 16); v128.store(tile, c02, 32);
      v128.store(tile, c10, 48); v128.store(tile, c11, 64); v128.store(tile, c12, 80);
      v128.store(tile, c20, 96); v128.store(tile, c21, 112); v128.store(tile, c22, 128);
      f32_gemm_store_tile(tile, 12, 1, mr, nr, r0, ldcBytes, beta);
    }
  }
}
