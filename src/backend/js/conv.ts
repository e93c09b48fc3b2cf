// Convolution kernels in plain TypeScript: the oracle for assembly/conv.ts,
// the same loops in the same order (see there for the layout).

import type { Heap } from "../heap.ts";
import type { ConvKernels } from "../kernels.ts";

/** First output index o with o·s − p + off ≥ 0, clamped to [0, outLen]. */
function firstValid(p: number, off: number, s: number, outLen: number): number {
  const need = p - off;
  if (need <= 0) return 0;
  return Math.min(Math.floor((need + s - 1) / s), outLen);
}

/** One past the last output index o with o·s − p + off < len, clamped to [lo, outLen]. */
function lastValid(p: number, off: number, s: number, len: number, outLen: number, lo: number): number {
  const lim = len - 1 + p - off;
  if (lim < 0) return lo;
  return Math.max(lo, Math.min(Math.floor(lim / s) + 1, outLen));
}

export function jsConvKernels(heap: Heap): ConvKernels {
  return {
    f32_im2col(x, col, r0, rows, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW) {
      const f32 = heap.f32;
      const P = OH * OW;
      const x0 = x >>> 2;
      for (let r = r0; r < r0 + rows; r++) {
        const kj = r % KW;
        const ki = Math.floor(r / KW) % KH;
        const c = Math.floor(r / (KW * KH));
        const rowBase = (col >>> 2) + r * N * P;
        for (let n = 0; n < N; n++) {
          const plane = x0 + (n * C + c) * H * W;
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * SH - PH + ki * DH;
            for (let ow = 0; ow < OW; ow++) {
              const iw = ow * SW - PW + kj * DW;
              const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
              f32[rowBase + n * P + oh * OW + ow] = inside ? f32[plane + ih * W + iw] : 0;
            }
          }
        }
      }
    },

    f32_col2im(col, dx, u0, units, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW) {
      const f32 = heap.f32;
      const P = OH * OW;
      for (let u = u0; u < u0 + units; u++) {
        const n = Math.floor(u / C);
        const c = u % C;
        const plane = (dx >>> 2) + u * H * W;
        f32.fill(0, plane, plane + H * W);
        for (let ki = 0; ki < KH; ki++) {
          const ohLo = firstValid(PH, ki * DH, SH, OH);
          const ohHi = lastValid(PH, ki * DH, SH, H, OH, ohLo);
          for (let kj = 0; kj < KW; kj++) {
            const owLo = firstValid(PW, kj * DW, SW, OW);
            const owHi = lastValid(PW, kj * DW, SW, W, OW, owLo);
            const src = (col >>> 2) + (((c * KH + ki) * KW + kj) * N + n) * P;
            for (let oh = ohLo; oh < ohHi; oh++) {
              const row = plane + (oh * SH - PH + ki * DH) * W;
              for (let ow = owLo; ow < owHi; ow++) f32[row + ow * SW - PW + kj * DW] += f32[src + oh * OW + ow];
            }
          }
        }
      }
    },

    f32_swap_planes(src, dst, bias, u0, units, A, B, P, hasBias) {
      const f32 = heap.f32;
      for (let u = u0; u < u0 + units; u++) {
        const a = u % A;
        const b = Math.floor(u / A);
        const d = (dst >>> 2) + u * P;
        const s = (src >>> 2) + (a * B + b) * P;
        const bv = hasBias ? f32[(bias >>> 2) + a] : 0;
        for (let i = 0; i < P; i++) f32[d + i] = hasBias ? f32[s + i] + bv : f32[s + i];
      }
    },
  };
}
