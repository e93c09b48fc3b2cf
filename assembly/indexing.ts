// Indexing kernels: strided copies in both directions, index_select / gather
// and the scatter-adds their backwards need, where / masked_fill /
// masked_select. See src/backend/kernels.ts (IndexingKernels) for the contract.
//
// Elements are 4 bytes; copies move them as i32 so that int32 and bool data
// (and any NaN payload) pass bit for bit. Masks and conditions are float32
// 0 / 1 (the bool dtype's storage): "true" is any nonzero value.

import { at, dim } from "./lanes";

/** dst[dstStrides·i] = src[srcStrides·i] over `shape`; meta = shape, srcStrides, dstStrides (elements). */
export function f32_copy_strided(src: usize, dst: usize, ndim: i32, meta: usize): void {
  let total = 1;
  for (let d = 0; d < ndim; d++) total *= dim(meta, d);
  if (total == 0) return;
  if (ndim == 0) {
    store<i32>(dst, load<i32>(src));
    return;
  }
  const last = ndim - 1;
  const len = dim(meta, last);
  const ss = dim(meta, ndim + last);
  const ds = dim(meta, 2 * ndim + last);
  const rows = total / len;
  for (let r = 0; r < rows; r++) {
    // The row's offsets from its index (no scratch: kernels allocate nothing).
    let so = 0, dOff = 0, rem = r;
    for (let d = last - 1; d >= 0; d--) {
      const size = dim(meta, d);
      const c = rem % size;
      rem /= size;
      so += c * dim(meta, ndim + d);
      dOff += c * dim(meta, 2 * ndim + d);
    }
    if (ss == 1 && ds == 1) memory.copy(at(dst, dOff), at(src, so), <usize>len << 2);
    else for (let j = 0; j < len; j++) store<i32>(at(dst, dOff + j * ds), load<i32>(at(src, so + j * ss)));
  }
}

/** The first position whose index is outside [0, size), or −1 when all are inside. */
export function i32_check_range(idx: usize, n: i32, size: i32): i32 {
  for (let i = 0; i < n; i++) {
    const v = load<i32>(at(idx, i));
    if (v < 0 || v >= size) return i;
  }
  return -1;
}

/** out[o, j, :] = x[o, idx[j], :] for x [outer, size, inner], idx [nidx]. */
export function f32_index_select(x: usize, idx: usize, out: usize, outer: i32, size: i32, inner: i32, nidx: i32): void {
  const row = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nidx; j++) {
      memory.copy(at(out, (o * nidx + j) * inner), at(x, (o * size + load<i32>(at(idx, j))) * inner), row);
    }
  }
}

/** dx[o, idx[j], :] += dy[o, j, :], in order of j (index_select's backward). */
export function f32_index_add(dy: usize, idx: usize, dx: usize, outer: i32, size: i32, inner: i32, nidx: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nidx; j++) {
      const s = at(dy, (o * nidx + j) * inner);
      const d = at(dx, (o * size + load<i32>(at(idx, j))) * inner);
      for (let i = 0; i < inner; i++) store<f32>(at(d, i), load<f32>(at(d, i)) + load<f32>(at(s, i)));
    }
  }
}

/** out[o, j, i] = x[o, idx[o, j, i], i] for x [outer, size, inner], idx and out [outer, isize, inner]. */
export function f32_gather(x: usize, idx: usize, out: usize, outer: i32, size: i32, inner: i32, isize: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < isize; j++) {
      const q = (o * isize + j) * inner;
      for (let i = 0; i < inner; i++) {
        store<i32>(at(out, q + i), load<i32>(at(x, (o * size + load<i32>(at(idx, q + i))) * inner + i)));
      }
    }
  }
}

/** dx[o, idx[o, j, i], i] += dy[o, j, i], in order (gather's backward). */
export function f32_scatter_add(dy: usize, idx: usize, dx: usize, outer: i32, size: i32, inner: i32, isize: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < isize; j++) {
      const q = (o * isize + j) * inner;
      for (let i = 0; i < inner; i++) {
        const d = at(dx, (o * size + load<i32>(at(idx, q + i))) * inner + i);
        store<f32>(d, load<f32>(d) + load<f32>(at(dy, q + i)));
      }
    }
  }
}

/** out = cond ≠ 0 ? a : b, elementwise over n (bits of a or b, unchanged). */
export function f32_where(cond: usize, a: usize, b: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<i32>(at(out, i), load<f32>(at(cond, i)) != 0 ? load<i32>(at(a, i)) : load<i32>(at(b, i)));
  }
}

/** out = mask ≠ 0 ? value : x. In place ok. */
export function f32_masked_fill(x: usize, mask: usize, out: usize, n: i32, value: f32): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), load<f32>(at(mask, i)) != 0 ? value : load<f32>(at(x, i)));
}

/** How many of the n values are nonzero. */
export function f32_count_nonzero(x: usize, n: i32): i32 {
  let count = 0;
  for (let i = 0; i < n; i++) if (load<f32>(at(x, i)) != 0) count++;
  return count;
}

/** Packs x[i] where mask[i] ≠ 0 into out, in order; returns how many. */
export function f32_masked_select(x: usize, mask: usize, out: usize, n: i32): i32 {
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (load<f32>(at(mask, i)) != 0) {
      store<i32>(at(out, j), load<i32>(at(x, i)));
      j++;
    }
  }
  return j;
}

/** dx[i] = mask[i] ≠ 0 ? g[next packed] : 0 (masked_select's backward). */
export function f32_masked_scatter(g: usize, mask: usize, dx: usize, n: i32): void {
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (load<f32>(at(mask, i)) != 0) {
      store<f32>(at(dx, i), load<f32>(at(g, j)));
      j++;
    } else {
      store<f32>(at(dx, i), 0);
    }
  }
}

/** Truncates toward zero (counts of a bool sum are exact integers below 2^24). */
export function f32_to_i32(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(at(dst, i), <i32>load<f32>(at(src, i)));
}
