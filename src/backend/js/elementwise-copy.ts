// Copies, fills and conversions in plain TypeScript: the oracle for
// assembly/elementwise-copy.ts.

import type { Heap } from "../heap.ts";
import type { ElementwiseKernels } from "../kernels.ts";

/**
 * Visits the elements of a contiguous output of `shape` in order: visit(index, offsets) with
 * offsets[s] the element's offset (in elements) under stride set s. `meta` holds the shape,
 * then `sets` stride sets, ndim i32 each.
 */
export function forEachStrided(
  i32: Int32Array, ndim: number, meta: number, sets: number,
  visit: (index: number, offsets: Int32Array) => void,
): void {
  const m = meta >>> 2;
  const shape = i32.slice(m, m + ndim);
  const strides = i32.slice(m + ndim, m + ndim * (1 + sets));
  let total = 1;
  for (const size of shape) total *= size;
  if (total === 0) return;
  const counter = new Int32Array(ndim);
  const offsets = new Int32Array(sets);
  for (let index = 0; index < total; index++) {
    visit(index, offsets);
    // Odometer: bump the last axis, carrying into earlier ones.
    for (let d = ndim - 1; d >= 0; d--) {
      counter[d]++;
      for (let s = 0; s < sets; s++) offsets[s] += strides[s * ndim + d];
      if (counter[d] < shape[d]) break;
      for (let s = 0; s < sets; s++) offsets[s] -= strides[s * ndim + d] * shape[d];
      counter[d] = 0;
    }
  }
}

export function jsElementwiseCopyKernels(
  heap: Heap,
): Pick<
  ElementwiseKernels,
  | "f32_strided_copy" | "f32_fill" | "f32_arange" | "i32_to_f32" | "u8_to_f32" | "u8_gather_rows_to_f32"
  | "f32_gather_rows" | "f32_broadcast_rows"
> {
  return {
    f32_strided_copy(src, dst, ndim, meta) {
      // As i32: int32 and bool tensors are copied too, and a Float32Array would canonicalise NaN payloads.
      const v = heap.i32;
      const si = src >>> 2, di = dst >>> 2;
      forEachStrided(heap.i32, ndim, meta, 1, (index, offsets) => {
        v[di + index] = v[si + offsets[0]];
      });
    },

    f32_fill(out, n, value) {
      heap.f32.fill(value, out >>> 2, (out >>> 2) + n);
    },

    f32_arange(out, n, start, step) {
      const v = heap.f32;
      const oi = out >>> 2;
      for (let i = 0; i < n; i++) v[oi + i] = start + i * step;
    },

    i32_to_f32(src, dst, n) {
      const from = heap.i32, to = heap.f32;
      const si = src >>> 2, di = dst >>> 2;
      for (let i = 0; i < n; i++) to[di + i] = from[si + i];
    },

    u8_to_f32(src, dst, n, scale) {
      const from = heap.u8, to = heap.f32;
      const s = Math.fround(scale);
      const di = dst >>> 2;
      for (let i = 0; i < n; i++) to[di + i] = from[src + i] * s;
    },

    u8_gather_rows_to_f32(src, indices, dst, r0, rows, rowLength, scale) {
      const from = heap.u8, to = heap.f32, index = heap.i32;
      const s = Math.fround(scale);
      for (let r = r0; r < r0 + rows; r++) {
        const si = src + index[(indices >>> 2) + r] * rowLength;
        const di = (dst >>> 2) + r * rowLength;
        for (let j = 0; j < rowLength; j++) to[di + j] = from[si + j] * s;
      }
    },

    f32_gather_rows(src, indices, dst, r0, rows, rowLength) {
      // As i32, like f32_strided_copy: bits move unchanged.
      const v = heap.i32;
      for (let r = r0; r < r0 + rows; r++) {
        const from = (src >>> 2) + v[(indices >>> 2) + r] * rowLength;
        v.copyWithin((dst >>> 2) + r * rowLength, from, from + rowLength);
      }
    },

    f32_broadcast_rows(bias, c, m, n) {
      const v = heap.f32;
      const row = v.subarray(bias >>> 2, (bias >>> 2) + n);
      for (let r = 0; r < m; r++) v.set(row, (c >>> 2) + r * n);
    },
  };
}
