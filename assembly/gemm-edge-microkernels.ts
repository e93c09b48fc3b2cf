// GEMM edge microkernels: the last strip of C when it is 1 to 4 columns wide,
// and the scalar store of a partial tile. Same contract as gemm-microkernels.ts.

import { f32_gemm_madd } from "./gemm-microkernels";

/**
 * 16x2 tiles for a last strip of 1 or 2 columns, A in strips: A's 4-row vectors
 * multiply broadcast B elements, so an accumulator holds 4 rows of one column
 * of C. Past the last strip of A the pointers repeat it.
 */
export function f32_gemm_16x2_microkernel(
  mc: i32, nr: i32, kc: i32, aStrips: usize, aStripStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  for (let ir = 0; ir < mc; ir += 16) {
    const mr = min(16, mc - ir);
    let a0 = aStrips + <usize>(ir >> 2) * aStripStep;
    let a1 = mr > 4 ? a0 + aStripStep : a0;
    let a2 = mr > 8 ? a1 + aStripStep : a1;
    let a3 = mr > 12 ? a2 + aStripStep : a2;
    let b = bStrip;
    let c00 = f32x4.splat(0), c01 = c00;
    let c10 = c00, c11 = c00;
    let c20 = c00, c21 = c00;
    let c30 = c00, c31 = c00;
    const bEnd = b + (<usize>kc << 4);
    while (b < bEnd) {
      const va0 = v128.load(a0);
      const va1 = v128.load(a1);
      const va2 = v128.load(a2);
      const va3 = v128.load(a3);
      const vb0 = v128.load32_splat(b);
      const vb1 = v128.load32_splat(b, 4);
      c00 = f32_gemm_madd(va0, vb0, c00);
      c01 = f32_gemm_madd(va0, vb1, c01);
      c10 = f32_gemm_madd(va1, vb0, c10);
      c11 = f32_gemm_madd(va1, vb1, c11);
      c20 = f32_gemm_madd(va2, vb0, c20);
      c21 = f32_gemm_madd(va2, vb1, c21);
      c30 = f32_gemm_madd(va3, vb0, c30);
      c31 = f32_gemm_madd(va3, vb1, c31);
      a0 += aKStep;
      a1 += aKStep;
      a2 += aKStep;
      a3 += aKStep;
      b += 16;
    }
    // Staged column by column: tile[j·16 + i].
    const va = f32x4.splat(alpha);
    v128.store(tile, f32x4.mul(c00, va)); v128.store(tile, f32x4.mul(c10, va), 16);
    v128.store(tile, f32x4.mul(c20, va), 32); v128.store(tile, f32x4.mul(c30, va), 48);
    v128.store(tile, f32x4.mul(c01, va), 64); v128.store(tile, f32x4.mul(c11, va), 80);
    v128.store(tile, f32x4.mul(c21, va), 96); v128.store(tile, f32x4.mul(c31, va), 112);
    f32_gemm_store_tile(tile, 1, 16, mr, nr, c + <usize>ir * ldcBytes, ldcBytes, beta);
  }
}

/** As the 16x2 kernel, 8 rows by 4 columns, for a last strip of 3 or 4 columns. */
export function f32_gemm_8x4_microkernel(
  mc: i32, nr: i32, kc: i32, aStrips: usize, aStripStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  for (let ir = 0; ir < mc; ir += 8) {
    const mr = min(8, mc - ir);
    let a0 = aStrips + <usize>(ir >> 2) * aStripStep;
    let a1 = mr > 4 ? a0 + aStripStep : a0;
    let b = bStrip;
    let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
    let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    const bEnd = b + (<usize>kc << 4);
    while (b < bEnd) {
      const va0 = v128.load(a0);
      const va1 = v128.load(a1);
      const vb0 = v128.load32_splat(b);
      const vb1 = v128.load32_splat(b, 4);
      const vb2 = v128.load32_splat(b, 8);
      const vb3 = v128.load32_splat(b, 12);
      c00 = f32_gemm_madd(va0, vb0, c00);
      c01 = f32_gemm_madd(va0, vb1, c01);
      c02 = f32_gemm_madd(va0, vb2, c02);
      c03 = f32_gemm_madd(va0, vb3, c03);
      c10 = f32_gemm_madd(va1, vb0, c10);
      c11 = f32_gemm_madd(va1, vb1, c11);
      c12 = f32_gemm_madd(va1, vb2, c12);
      c13 = f32_gemm_madd(va1, vb3, c13);
      a0 += aKStep;
      a1 += aKStep;
      b += 16;
    }
    // Staged column by column: tile[j·8 + i].
    const va = f32x4.splat(alpha);
    v128.store(tile, f32x4.mul(c00, va)); v128.store(tile, f32x4.mul(c10, va), 16);
    v128.store(tile, f32x4.mul(c01, va), 32); v128.store(tile, f32x4.mul(c11, va), 48);
    v128.store(tile, f32x4.mul(c02, va), 64); v128.store(tile, f32x4.mul(c12, va), 80);
    v128.store(tile, f32x4.mul(c03, va), 96); v128.store(tile, f32x4.mul(c13, va), 112);
    f32_gemm_store_tile(tile, 1, 8, mr, nr, c + <usize>ir * ldcBytes, ldcBytes, beta);
  }
}

/** 6x4 tiles for a last strip of at most 4 columns, A through row pointers as in the 4x8 rows kernel. */
export function f32_gemm_6x4_rows_microkernel(
  mc: i32, nr: i32, kc: i32, a: usize, aRowStep: usize, aKStep: usize, bStrip: usize,
  cStrip: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  for (let ir = 0; ir < mc; ir += 6) {
    const mr = min(6, mc - ir);
    let a0 = a + <usize>ir * aRowStep;
    let a1 = mr > 1 ? a0 + aRowStep : a0;
    let a2 = mr > 2 ? a1 + aRowStep : a1;
    let a3 = mr > 3 ? a2 + aRowStep : a2;
    let a4 = mr > 4 ? a3 + aRowStep : a3;
    let a5 = mr > 5 ? a4 + aRowStep : a4;
    let b = bStrip;
    let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    const bEnd = b + (<usize>kc << 4);
    while (b < bEnd) {
      const b0 = v128.load(b);
      c0 = f32_gemm_madd(v128.load32_splat(a0), b0, c0);
      c1 = f32_gemm_madd(v128.load32_splat(a1), b0, c1);
      c2 = f32_gemm_madd(v128.load32_splat(a2), b0, c2);
      c3 = f32_gemm_madd(v128.load32_splat(a3), b0, c3);
      c4 = f32_gemm_madd(v128.load32_splat(a4), b0, c4);
      c5 = f32_gemm_madd(v128.load32_splat(a5), b0, c5);
      a0 += aKStep;
      a1 += aKStep;
      a2 += aKStep;
      a3 += aKStep;
      a4 += aKStep;
      a5 += aKStep;
      b += 16;
    }
    const va = f32x4.splat(alpha);
    c0 = f32x4.mul(c0, va); c1 = f32x4.mul(c1, va); c2 = f32x4.mul(c2, va);
    c3 = f32x4.mul(c3, va); c4 = f32x4.mul(c4, va); c5 = f32x4.mul(c5, va);
    const c = cStrip + <usize>ir * ldcBytes;
    if (mr == 6 && nr == 4) {
      const r0 = c, r1 = r0 + ldcBytes, r2 = r1 + ldcBytes, r3 = r2 + ldcBytes, r4 = r3 + ldcBytes, r5 = r4 + ldcBytes;
      if (beta != 0) {
        const vb = f32x4.splat(beta);
        c0 = f32x4.add(c0, f32x4.mul(vb, v128.load(r0)));
        c1 = f32x4.add(c1, f32x4.mul(vb, v128.load(r1)));
        c2 = f32x4.add(c2, f32x4.mul(vb, v128.load(r2)));
        c3 = f32x4.add(c3, f32x4.mul(vb, v128.load(r3)));
        c4 = f32x4.add(c4, f32x4.mul(vb, v128.load(r4)));
        c5 = f32x4.add(c5, f32x4.mul(vb, v128.load(r5)));
      }
      v128.store(r0, c0); v128.store(r1, c1); v128.store(r2, c2);
      v128.store(r3, c3); v128.store(r4, c4); v128.store(r5, c5);
    } else {
      v128.store(tile, c0); v128.store(tile, c1, 16); v128.store(tile, c2, 32);
      v128.store(tile, c3, 48); v128.store(tile, c4, 64); v128.store(tile, c5, 80);
      f32_gemm_store_tile(tile, 4, 1, mr, nr, c, ldcBytes, beta);
    }
  }
}

/**
 * C[i, j] = t + beta·C[i, j] (t alone when beta = 0), t = tile[i·rowStride +
 * j·colStride], for the mr·nr real elements of a staged tile that already holds
 * alpha·acc. Scalar f32 rounds exactly like the vector stores.
 */
export function f32_gemm_store_tile(
  tile: usize, rowStride: i32, colStride: i32, mr: i32, nr: i32, c: usize, ldcBytes: usize, beta: f32,
): void {
  for (let i = 0; i < mr; i++) {
    const row = c + <usize>i * ldcBytes;
    for (let j = 0; j < nr; j++) {
      const o = <usize>j << 2;
      const t = load<f32>(tile + (<usize>(i * rowStride + j * colStride) << 2));
      store<f32>(row + o, beta == 0 ? t : t + beta * load<f32>(row + o));
    }
  }
}
