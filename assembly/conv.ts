// Convolution kernels: see src/backend/kernels.ts (ConvKernels) for the contract.
//
// conv2d is im2col + the packed GEMM (assembly/gemm.ts), over the whole batch
// at once: col is [C·KH·KW, N·OH·OW], so the forward is one GEMM
// W [OC, K] · col [K, N·P] → [OC, N·P] with N·P columns to split over threads,
// and f32_swap_planes moves it to [N, OC, P] adding the bias. The backward uses
// the same layout: dW = dY' · colᵀ (NT) and dcol = Wᵀ · dY' (TN), then
// f32_col2im sums dcol back into the input's planes.
//
// Each kernel works on a range of units [u0, u0 + units): rows of col, planes
// of the output, so threads split a call by units and every unit's result is
// computed the same way whatever the split (bitwise identical for any thread
// count). Within a unit, sums run in a fixed order: col2im adds kernel offsets
// (ki, kj) in increasing order, then output pixels in row-major order.

import { at } from "./lanes";

/** First output index o with o·s − p + off ≥ 0, clamped to [0, outLen]. */
@inline function firstValid(p: i32, off: i32, s: i32, outLen: i32): i32 {
  const need = p - off; // o·s ≥ need
  if (need <= 0) return 0;
  const o = (need + s - 1) / s;
  return o < outLen ? o : outLen;
}

/** One past the last output index o with o·s − p + off < len, clamped to [lo, outLen]. */
@inline function lastValid(p: i32, off: i32, s: i32, len: i32, outLen: i32, lo: i32): i32 {
  const lim = len - 1 + p - off; // o·s ≤ lim
  if (lim < 0) return lo;
  const o = lim / s + 1;
  return o < lo ? lo : o < outLen ? o : outLen;
}

// Rows of a LeNet-sized image are 28 floats: V8's memory.copy / memory.fill
// cost a call each, more than the copy itself, so short spans are moved here.

@inline function copySpan(d: usize, s: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(at(d, i), v128.load(at(s, i)));
  for (; i < len; i++) store<f32>(at(d, i), load<f32>(at(s, i)));
}

@inline function zeroSpan(d: usize, len: i32): void {
  let i = 0;
  const z = f32x4.splat(0);
  for (; i + 4 <= len; i += 4) v128.store(at(d, i), z);
  for (; i < len; i++) store<f32>(at(d, i), 0);
}

/**
 * col[r, n·P + oh·OW + ow] = x[n, c, oh·SH − PH + ki·DH, ow·SW − PW + kj·DW]
 * (0 outside the image) for rows r = (c·KH + ki)·KW + kj in [r0, r0 + rows).
 */
export function f32_im2col(
  x: usize, col: usize, r0: i32, rows: i32, N: i32, C: i32, H: i32, W: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32,
): void {
  const P = OH * OW;
  for (let r = r0; r < r0 + rows; r++) {
    const kj = r % KW;
    const ki = (r / KW) % KH;
    const c = r / (KW * KH);
    const owLo = firstValid(PW, kj * DW, SW, OW);
    const owHi = lastValid(PW, kj * DW, SW, W, OW, owLo);
    const ohLo = firstValid(PH, ki * DH, SH, OH);
    const ohHi = lastValid(PH, ki * DH, SH, H, OH, ohLo);
    let dst = at(col, r * N * P);
    for (let n = 0; n < N; n++) {
      const plane = at(x, (n * C + c) * H * W);
      zeroSpan(dst, ohLo * OW);
      for (let oh = ohLo; oh < ohHi; oh++) {
        const row = at(plane, (oh * SH - PH + ki * DH) * W);
        const d = at(dst, oh * OW);
        zeroSpan(d, owLo);
        const iw0 = owLo * SW - PW + kj * DW;
        if (SW == 1) {
          copySpan(at(d, owLo), at(row, iw0), owHi - owLo);
        } else {
          for (let ow = owLo, iw = iw0; ow < owHi; ow++, iw += SW) store<f32>(at(d, ow), load<f32>(at(row, iw)));
        }
        zeroSpan(at(d, owHi), OW - owHi);
      }
      zeroSpan(at(dst, ohHi * OW), (OH - ohHi) * OW);
      dst = at(dst, P);
    }
  }
}

/** d[i] += s[i] for i < len, four lanes at a time (each element one f32 add, as the scalar loop). */
@inline function addRow(d: usize, s: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(at(d, i), f32x4.add(v128.load(at(d, i)), v128.load(at(s, i))));
  for (; i < len; i++) store<f32>(at(d, i), load<f32>(at(d, i)) + load<f32>(at(s, i)));
}

/**
 * The adjoint of f32_im2col: for planes u = n·C + c in [u0, u0 + units),
 * dx[n, c] = Σ over (ki, kj) then (oh, ow) of col's entries that im2col read
 * from each pixel. dx is written whole (not accumulated onto).
 */
export function f32_col2im(
  col: usize, dx: usize, u0: i32, units: i32, N: i32, C: i32, H: i32, W: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32,
): void {
  const P = OH * OW;
  for (let u = u0; u < u0 + units; u++) {
    const n = u / C;
    const c = u % C;
    const plane = at(dx, u * H * W);
    zeroSpan(plane, H * W);
    for (let ki = 0; ki < KH; ki++) {
      const ohLo = firstValid(PH, ki * DH, SH, OH);
      const ohHi = lastValid(PH, ki * DH, SH, H, OH, ohLo);
      for (let kj = 0; kj < KW; kj++) {
        const owLo = firstValid(PW, kj * DW, SW, OW);
        const owHi = lastValid(PW, kj * DW, SW, W, OW, owLo);
        const src = at(col, (((c * KH + ki) * KW + kj) * N + n) * P);
        const iw0 = owLo * SW - PW + kj * DW;
        for (let oh = ohLo; oh < ohHi; oh++) {
          const row = at(plane, (oh * SH - PH + ki * DH) * W);
          const s = at(src, oh * OW);
          if (SW == 1) {
            addRow(at(row, iw0), at(s, owLo), owHi - owLo);
          } else {
            for (let ow = owLo, iw = iw0; ow < owHi; ow++, iw += SW) {
              store<f32>(at(row, iw), load<f32>(at(row, iw)) + load<f32>(at(s, ow)));
            }
          }
        }
      }
    }
  }
}

/**
 * dst [B, A, P] from src [A, B, P]: dst[b, a] = src[a, b] (+ bias[a] when
 * hasBias = 1) for destination planes u = b·A + a in [u0, u0 + units).
 */
export function f32_swap_planes(
  src: usize, dst: usize, bias: usize, u0: i32, units: i32, A: i32, B: i32, P: i32, hasBias: i32,
): void {
  for (let u = u0; u < u0 + units; u++) {
    const b = u / A;
    const a = u % A;
    const d = at(dst, u * P);
    const s = at(src, (a * B + b) * P);
    if (hasBias == 0) {
      copySpan(d, s, P);
      continue;
    }
    const bv = load<f32>(at(bias, a));
    const bb = f32x4.splat(bv);
    let i = 0;
    for (; i + 4 <= P; i += 4) v128.store(at(d, i), f32x4.add(v128.load(at(s, i)), bb));
    for (; i < P; i++) store<f32>(at(d, i), load<f32>(at(s, i)) + bv);
  }
}
