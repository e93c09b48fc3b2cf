// Indexing kernels in plain TypeScript: the oracle for assembly/indexing.ts.
// Copies go through the Int32Array view, bit for bit, as the Wasm kernels do.

import type { Heap } from "../heap.ts";
import type { IndexingKernels } from "../kernels.ts";

export function jsIndexingKernels(heap: Heap): IndexingKernels {
  return {
    f32_copy_strided(src, dst, ndim, meta) {
      const m = heap.i32.slice(meta >>> 2, (meta >>> 2) + 3 * ndim);
      const shape = m.subarray(0, ndim);
      const total = shape.reduce((a, b) => a * b, 1);
      const v = heap.i32;
      for (let i = 0; i < total; i++) {
        let s = src >>> 2, d = dst >>> 2, rem = i;
        for (let k = ndim - 1; k >= 0; k--) {
          const c = rem % shape[k];
          rem = Math.floor(rem / shape[k]);
          s += c * m[ndim + k];
          d += c * m[2 * ndim + k];
        }
        v[d] = v[s];
      }
    },

    i32_check_range(idx, n, size) {
      const v = heap.i32;
      for (let i = 0; i < n; i++) {
        const x = v[(idx >>> 2) + i];
        if (x < 0 || x >= size) return i;
      }
      return -1;
    },

    f32_index_select(x, idx, out, outer, size, inner, nidx) {
      const v = heap.i32;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < nidx; j++) {
          const from = (x >>> 2) + (o * size + v[(idx >>> 2) + j]) * inner;
          v.copyWithin((out >>> 2) + (o * nidx + j) * inner, from, from + inner);
        }
      }
    },

    f32_index_add(dy, idx, dx, outer, size, inner, nidx) {
      const f32 = heap.f32;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < nidx; j++) {
          const s = (dy >>> 2) + (o * nidx + j) * inner;
          const d = (dx >>> 2) + (o * size + heap.i32[(idx >>> 2) + j]) * inner;
          for (let i = 0; i < inner; i++) f32[d + i] += f32[s + i];
        }
      }
    },

    f32_gather(x, idx, out, outer, size, inner, isize) {
      const v = heap.i32;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < isize; j++) {
          for (let i = 0; i < inner; i++) {
            const q = (o * isize + j) * inner + i;
            v[(out >>> 2) + q] = v[(x >>> 2) + (o * size + v[(idx >>> 2) + q]) * inner + i];
          }
        }
      }
    },

    f32_scatter_add(dy, idx, dx, outer, size, inner, isize) {
      const f32 = heap.f32;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < isize; j++) {
          for (let i = 0; i < inner; i++) {
            const q = (o * isize + j) * inner + i;
            f32[(dx >>> 2) + (o * size + heap.i32[(idx >>> 2) + q]) * inner + i] += f32[(dy >>> 2) + q];
          }
        }
      }
    },

    f32_where(cond, a, b, out, n) {
      const f32 = heap.f32, v = heap.i32;
      for (let i = 0; i < n; i++) v[(out >>> 2) + i] = f32[(cond >>> 2) + i] !== 0 ? v[(a >>> 2) + i] : v[(b >>> 2) + i];
    },

    f32_masked_fill(x, mask, out, n, value) {
      const f32 = heap.f32;
      for (let i = 0; i < n; i++) f32[(out >>> 2) + i] = f32[(mask >>> 2) + i] !== 0 ? value : f32[(x >>> 2) + i];
    },

    f32_count_nonzero(x, n) {
      let count = 0;
      for (let i = 0; i < n; i++) if (heap.f32[(x >>> 2) + i] !== 0) count++;
      return count;
    },

    f32_masked_select(x, mask, out, n) {
      let j = 0;
      for (let i = 0; i < n; i++) if (heap.f32[(mask >>> 2) + i] !== 0) heap.i32[(out >>> 2) + j++] = heap.i32[(x >>> 2) + i];
      return j;
    },

    f32_masked_scatter(g, mask, dx, n) {
      const f32 = heap.f32;
      let j = 0;
      for (let i = 0; i < n; i++) f32[(dx >>> 2) + i] = f32[(mask >>> 2) + i] !== 0 ? f32[(g >>> 2) + j++] : 0;
    },

    f32_to_i32(src, dst, n) {
      for (let i = 0; i < n; i++) heap.i32[(dst >>> 2) + i] = Math.trunc(heap.f32[(src >>> 2) + i]);
    },
  };
}
