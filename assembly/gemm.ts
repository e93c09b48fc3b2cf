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

/** Deepest k block: k is cut into ceil(k / KC_MAX) blocks of (nearly) equal depth. */
const KC_MAX: i32 = 512;
/**
 * Columns of a full packed B strip, the main tile's width: 8 in the baseline
 * build (4x8 tiles), 12 with relaxed SIMD (3x12 tiles; see the header).
 */
const NR: i32 = ASC_FEATURE_RELAXED_SIMD ? 12 : 8;
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

// ---------------------------------------------------------------------------
// Packing. A strip holds `width` (4 or 8) lines of an operand, rows of op(A)
// or columns of op(B), interleaved by k: strip[p·width + l] = line l at depth
// p, so a kernel reads one k step from consecutive addresses. Lines past the
// operand's edge are zero: their results are never stored, and zeros keep
// stray denormals out of the arithmetic.

/**
 * op(B)[0..kc, 0..nc] (element (p, j) at src + p·kStep + j·colStep) into strips
 * of NR columns, strip s at panel + s·stripBytes; a last remainder of at most 4
 * columns is a strip of 4.
 */
function f32_gemm_pack_b(
  src: usize, kStep: usize, colStep: usize, kc: i32, nc: i32, panel: usize, stripBytes: usize,
): void {
  let jr = 0;
  let strip = panel;
  if (colStep == 4) {
    const strips = nc / NR;
    jr = strips * NR;
    f32_gemm_pack_rowwise(src, kStep, kc, strips, NR, panel, stripBytes);
    strip += <usize>strips * stripBytes;
  }
  for (; jr < nc; jr += NR) {
    const count = min(NR, nc - jr);
    f32_gemm_pack_strip(src + <usize>jr * colStep, kStep, colStep, kc, count, count > 4 ? NR : 4, strip);
    strip += stripBytes;
  }
}

/** op(A)[0..mc, 0..kc] (element (i, p) at src + i·rowStep + p·kStep) into strips of 4 rows. */
function f32_gemm_pack_a(
  src: usize, rowStep: usize, kStep: usize, kc: i32, mc: i32, packed: usize, stripBytes: usize,
): void {
  let ir = 0;
  if (rowStep == 4) {
    ir = mc & ~3;
    f32_gemm_pack_rowwise(src, kStep, kc, ir >> 2, 4, packed, stripBytes);
  }
  for (; ir < mc; ir += 4) {
    f32_gemm_pack_strip(
      src + <usize>ir * rowStep, kStep, rowStep, kc, min(4, mc - ir), 4,
      packed + <usize>(ir >> 2) * stripBytes,
    );
  }
}

/**
 * `strips` full strips whose lines are adjacent floats in the source: each
 * k step's lines of every strip are one contiguous run of the source (read in
 * order), scattered to the strips.
 */
function f32_gemm_pack_rowwise(
  src: usize, kStep: usize, kc: i32, strips: i32, width: i32, packed: usize, stripBytes: usize,
): void {
  const stepBytes = <usize>width << 2;
  for (let p = 0; p < kc; p++) {
    let s = src + <usize>p * kStep;
    let d = packed + <usize>p * stepBytes;
    if (width == 12) {
      for (let t = 0; t < strips; t++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        v128.store(d, v128.load(s, 32), 32);
        s += 48;
        d += stripBytes;
      }
    } else if (width == 8) {
      for (let t = 0; t < strips; t++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        s += 32;
        d += stripBytes;
      }
    } else {
      for (let t = 0; t < strips; t++) {
        v128.store(d, v128.load(s));
        s += 16;
        d += stripBytes;
      }
    }
  }
}

/**
 * One strip: strip[p·width + l] = src[p·kStep + l·lineStep] for l < count, 0
 * for count ≤ l < width. A full strip of rows of a row-major matrix (kStep = 4)
 * is transposed 4x4 blocks at a time in registers; anything else goes element
 * by element (edges only).
 */
function f32_gemm_pack_strip(
  src: usize, kStep: usize, lineStep: usize, kc: i32, count: i32, width: i32, strip: usize,
): void {
  const stepBytes = <usize>width << 2;
  if (count == width && kStep == 4) {
    for (let l = 0; l < width; l += 4) {
      const r0 = src + <usize>l * lineStep;
      const r1 = r0 + lineStep;
      const r2 = r1 + lineStep;
      const r3 = r2 + lineStep;
      const dst = strip + (<usize>l << 2);
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p << 2;
        const x0 = v128.load(r0 + o);
        const x1 = v128.load(r1 + o);
        const x2 = v128.load(r2 + o);
        const x3 = v128.load(r3 + o);
        const lo01 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
        const hi01 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const lo23 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const hi23 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        const d = dst + <usize>p * stepBytes;
        v128.store(d, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
        v128.store(d + stepBytes, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7));
        v128.store(d + 2 * stepBytes, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
        v128.store(d + 3 * stepBytes, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
      }
      for (; p < kc; p++) {
        const o = <usize>p << 2;
        const d = dst + <usize>p * stepBytes;
        store<f32>(d, load<f32>(r0 + o));
        store<f32>(d, load<f32>(r1 + o), 4);
        store<f32>(d, load<f32>(r2 + o), 8);
        store<f32>(d, load<f32>(r3 + o), 12);
      }
    }
  } else {
    for (let p = 0; p < kc; p++) {
      const s = src + <usize>p * kStep;
      const d = strip + <usize>p * stepBytes;
      let l = 0;
      for (; l < count; l++) store<f32>(d + (<usize>l << 2), load<f32>(s + <usize>l * lineStep));
      for (; l < width; l++) store<f32>(d + (<usize>l << 2), 0);
    }
  }
}

/**
 * acc + a·b, the one multiply-accumulate of every microkernel's k loop:
 * f32x4.relaxed_madd in the relaxed-SIMD build, f32x4.mul then f32x4.add in
 * the baseline one (resolved at compile time: the baseline's code is the same
 * as with the expression written out).
 */
@inline function f32_gemm_madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// ---------------------------------------------------------------------------
// Microkernels. Each computes a column strip of C (mc rows, nr ≤ 8 columns)
// over one k block, tile by tile: a tile's accumulators stay in registers for
// the whole block, then C = alpha·acc + beta·C (C is not read when beta = 0).
// "Strips" kernels take op(A) as 4-row strips: strip s at aStrips + s·aStripStep,
// its k step p at + p·aKStep, holding rows 4s .. 4s+3 as 4 adjacent floats.

/** 4x8 tiles, A in strips, B in an 8-wide strip. */
function f32_gemm_4x8_microkernel(
  mc: i32, nr: i32, kc: i32, aStrips: usize, aStripStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  for (let ir = 0; ir < mc; ir += 4) {
    let a = aStrips + <usize>(ir >> 2) * aStripStep;
    let b = bStrip;
    let c00 = f32x4.splat(0), c01 = c00;
    let c10 = c00, c11 = c00;
    let c20 = c00, c21 = c00;
    let c30 = c00, c31 = c00;
    const bEnd = b + (<usize>kc << 5);
    while (b < bEnd) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      const va0 = v128.load32_splat(a);
      const va1 = v128.load32_splat(a, 4);
      const va2 = v128.load32_splat(a, 8);
      const va3 = v128.load32_splat(a, 12);
      c00 = f32_gemm_madd(va0, b0, c00);
      c01 = f32_gemm_madd(va0, b1, c01);
      c10 = f32_gemm_madd(va1, b0, c10);
      c11 = f32_gemm_madd(va1, b1, c11);
      c20 = f32_gemm_madd(va2, b0, c20);
      c21 = f32_gemm_madd(va2, b1, c21);
      c30 = f32_gemm_madd(va3, b0, c30);
      c31 = f32_gemm_madd(va3, b1, c31);
      a += aKStep;
      b += 32;
    }
    f32_gemm_4x8_store(
      c00, c01, c10, c11, c20, c21, c30, c31,
      min(4, mc - ir), nr, c + <usize>ir * ldcBytes, ldcBytes, alpha, beta, tile,
    );
  }
}

/** 4x8 tiles, A through row pointers: row i at a + i·aRowStep, stepping aKStep bytes per k. */
function f32_gemm_4x8_rows_microkernel(
  mc: i32, nr: i32, kc: i32, a: usize, aRowStep: usize, aKStep: usize, bStrip: usize,
  c: usize, ldcBytes: usize, alpha: f32, beta: f32, tile: usize,
): void {
  for (let ir = 0; ir < mc; ir += 4) {
    const mr = min(4, mc - ir);
    let a0 = a + <usize>ir * aRowStep;
    let a1 = mr > 1 ? a0 + aRowStep : a0;
    let a2 = mr > 2 ? a1 + aRowStep : a1;
    let a3 = mr > 3 ? a2 + aRowStep : a2;
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
      const va1 = v128.load32_splat(a1);
      const va2 = v128.load32_splat(a2);
      const va3 = v128.load32_splat(a3);
      c00 = f32_gemm_madd(va0, b0, c00);
      c01 = f32_gemm_madd(va0, b1, c01);
      c10 = f32_gemm_madd(va1, b0, c10);
      c11 = f32_gemm_madd(va1, b1, c11);
      c20 = f32_gemm_madd(va2, b0, c20);
      c21 = f32_gemm_madd(va2, b1, c21);
      c30 = f32_gemm_madd(va3, b0, c30);
      c31 = f32_gemm_madd(va3, b1, c31);
      a0 += aKStep;
      a1 += aKStep;
      a2 += aKStep;
      a3 += aKStep;
      b += 32;
    }
    f32_gemm_4x8_store(
      c00, c01, c10, c11, c20, c21, c30, c31,
      mr, nr, c + <usize>ir * ldcBytes, ldcBytes, alpha, beta, tile,
    );
  }
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
function f32_gemm_3x12_microkernel(
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

/**
 * 16x2 tiles for a last strip of 1 or 2 columns, A in strips: A's 4-row vectors
 * multiply broadcast B elements, so an accumulator holds 4 rows of one column
 * of C. Past the last strip of A the pointers repeat it.
 */
function f32_gemm_16x2_microkernel(
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
function f32_gemm_8x4_microkernel(
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
function f32_gemm_6x4_rows_microkernel(
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
function f32_gemm_store_tile(
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
