// Pooling kernels in plain TypeScript: the oracle for assembly/pool.ts.

import type { Heap } from "../heap.ts";
import type { PoolKernels } from "../kernels.ts";

interface Window {
  hs: number;
  he: number;
  ws: number;
  we: number;
}

/** The window of output (oh, ow), clipped to the image. */
function windowOf(oh: number, ow: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number, PH: number, PW: number): Window {
  const h0 = oh * SH - PH;
  const w0 = ow * SW - PW;
  return { hs: Math.max(h0, 0), he: Math.min(h0 + KH, H), ws: Math.max(w0, 0), we: Math.min(w0 + KW, W) };
}

export function jsPoolKernels(heap: Heap): PoolKernels {
  return {
    f32_max_pool2d(x, y, idx, u0, units, H, W, OH, OW, KH, KW, SH, SW, PH, PW) {
      const f = heap.f32;
      const ix = heap.i32;
      for (let u = u0; u < u0 + units; u++) {
        const plane = (x >>> 2) + u * H * W;
        const out = u * OH * OW;
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const { hs, he, ws, we } = windowOf(oh, ow, H, W, KH, KW, SH, SW, PH, PW);
            let best = -Infinity;
            let bi = hs * W + ws;
            for (let ih = hs; ih < he; ih++) {
              for (let iw = ws; iw < we; iw++) {
                const v = f[plane + ih * W + iw];
                if (v > best || Number.isNaN(v)) {
                  best = v;
                  bi = ih * W + iw;
                }
              }
            }
            f[(y >>> 2) + out + oh * OW + ow] = best;
            ix[(idx >>> 2) + out + oh * OW + ow] = bi;
          }
        }
      }
    },

    f32_max_pool2d_backward(dy, idx, dx, u0, units, HW, OHW) {
      const f = heap.f32;
      const ix = heap.i32;
      for (let u = u0; u < u0 + units; u++) {
        const plane = (dx >>> 2) + u * HW;
        f.fill(0, plane, plane + HW);
        for (let i = 0; i < OHW; i++) f[plane + ix[(idx >>> 2) + u * OHW + i]] += f[(dy >>> 2) + u * OHW + i];
      }
    },

    f32_avg_pool2d(x, y, u0, units, H, W, OH, OW, KH, KW, SH, SW, PH, PW, countIncludePad) {
      const f = heap.f32;
      for (let u = u0; u < u0 + units; u++) {
        const plane = (x >>> 2) + u * H * W;
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const { hs, he, ws, we } = windowOf(oh, ow, H, W, KH, KW, SH, SW, PH, PW);
            let s = 0;
            for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) s = Math.fround(s + f[plane + ih * W + iw]);
            const div = countIncludePad ? KH * KW : (he - hs) * (we - ws);
            f[(y >>> 2) + u * OH * OW + oh * OW + ow] = s / div;
          }
        }
      }
    },

    f32_avg_pool2d_backward(dy, dx, u0, units, H, W, OH, OW, KH, KW, SH, SW, PH, PW, countIncludePad) {
      const f = heap.f32;
      for (let u = u0; u < u0 + units; u++) {
        const plane = (dx >>> 2) + u * H * W;
        f.fill(0, plane, plane + H * W);
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const { hs, he, ws, we } = windowOf(oh, ow, H, W, KH, KW, SH, SW, PH, PW);
            const div = countIncludePad ? KH * KW : (he - hs) * (we - ws);
            const g = Math.fround(f[(dy >>> 2) + u * OH * OW + oh * OW + ow] / div);
            for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) f[plane + ih * W + iw] += g;
          }
        }
      }
    },
  };
}
