// GEMM packing: copies of op(A) and op(B) into k-interleaved strips that the
// microkernels (gemm-microkernels.ts) read from consecutive addresses. The
// driver and its blocking: gemm.ts.

/**
 * Columns of a full packed B strip, the main tile's width: 8 in the baseline
 * build (4x8 tiles), 12 with relaxed SIMD (3x12 tiles; see gemm.ts).
 */
export const NR: i32 = ASC_FEATURE_RELAXED_SIMD ? 12 : 8;

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
export function f32_gemm_pack_b(
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
export function f32_gemm_pack_a(
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
