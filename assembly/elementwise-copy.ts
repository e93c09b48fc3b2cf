// Copies, fills and conversions: see src/backend/kernels.ts for the contract.

import { at, dim } from "./lanes";

@inline function fillRun(out: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(out, i), v);
  for (; i < n; i++) store<f32>(at(out, i), value);
}

/**
 * dst[r, j] = src[r + j·stride]: src read down its columns. 4×4 blocks, each
 * four vector loads, a shuffle transpose and four vector stores; a band of four
 * dst rows at a time, so that the lines written stay few (rows a power-of-two
 * apart share a cache set).
 */
function transpose(src: usize, stride: i32, dst: usize, rows: i32, length: i32): void {
  const step = <usize>stride << 2;
  const pitch = <usize>length << 2;
  let r = 0;
  for (; r <= rows - 4; r += 4) {
    let j = 0;
    for (; j <= length - 4; j += 4) {
      const s = at(src, r + j * stride);
      const a = v128.load(s);
      const b = v128.load(s + step);
      const c = v128.load(s + 2 * step);
      const d = v128.load(s + 3 * step);
      const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
      const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
      const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
      const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
      const t = at(dst, r * length + j);
      v128.store(t, i32x4.shuffle(ab01, cd01, 0, 1, 4, 5));
      v128.store(t + pitch, i32x4.shuffle(ab01, cd01, 2, 3, 6, 7));
      v128.store(t + 2 * pitch, i32x4.shuffle(ab23, cd23, 0, 1, 4, 5));
      v128.store(t + 3 * pitch, i32x4.shuffle(ab23, cd23, 2, 3, 6, 7));
    }
    for (; j < length; j++) {
      const s = at(src, r + j * stride);
      for (let k = 0; k < 4; k++) store<f32>(at(dst, (r + k) * length + j), load<f32>(at(s, k)));
    }
  }
  for (; r < rows; r++) {
    for (let j = 0; j < length; j++) store<f32>(at(dst, r * length + j), load<f32>(at(src, r + j * stride)));
  }
}

/** dst[r, j] = src[r·rowStride + j·stride] for a run of `length` elements in each of `rows` rows. */
function copyRows(src: usize, rowStride: i32, stride: i32, dst: usize, rows: i32, length: i32): void {
  if (stride == 1) {
    for (let r = 0; r < rows; r++) memory.copy(at(dst, r * length), at(src, r * rowStride), <usize>length << 2);
  } else if (stride == 0) {
    for (let r = 0; r < rows; r++) fillRun(at(dst, r * length), length, load<f32>(at(src, r * rowStride)));
  } else if (rowStride == 1) {
    transpose(src, stride, dst, rows, length);
  } else {
    const step = <usize>stride << 2;
    for (let r = 0; r < rows; r++) {
      let s = at(src, r * rowStride);
      const t = at(dst, r * length);
      for (let j = 0; j < length; j++) {
        store<f32>(at(t, j), load<f32>(s));
        s += step;
      }
    }
  }
}

export function f32_strided_copy(src: usize, dst: usize, ndim: i32, meta: usize): void {
  const shape = meta;
  const strides = at(meta, ndim);
  for (let d = 0; d < ndim; d++) if (dim(shape, d) == 0) return;
  // The same walk as f32_binary_broadcast, with one operand.
  let d = ndim - 1;
  let runLength = 1, runStride = 0;
  for (; d >= 0; d--) {
    const size = dim(shape, d);
    if (size == 1) continue;
    const stride = dim(strides, d);
    if (runLength == 1) runStride = stride;
    else if (stride != runStride * runLength) break;
    runLength *= size;
  }
  let rows = 1, rowStride = 0;
  for (; d >= 0; d--) {
    const size = dim(shape, d);
    if (size == 1) continue;
    const stride = dim(strides, d);
    if (rows == 1) rowStride = stride;
    else if (stride != rowStride * rows) break;
    rows *= size;
  }
  const restLast = d;
  let blocks = 1;
  for (let k = 0; k <= restLast; k++) blocks *= dim(shape, k);
  const blockLength = rows * runLength;
  for (let q = 0; q < blocks; q++) {
    let offset = 0, rem = q;
    for (let k = restLast; k >= 0; k--) {
      const size = dim(shape, k);
      offset += (rem % size) * dim(strides, k);
      rem /= size;
    }
    copyRows(at(src, offset), rowStride, runStride, at(dst, q * blockLength), rows, runLength);
  }
}

export function f32_fill(out: usize, n: i32, value: f32): void {
  fillRun(out, n, value);
}

/** In f64, rounded once: start + i·step does not drift the way repeated addition would. */
export function f32_arange(out: usize, n: i32, start: f64, step: f64): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), <f32>(start + <f64>i * step));
}

export function i32_to_f32(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(dst, i), f32x4.convert_i32x4_s(v128.load(at(src, i))));
  for (; i < n; i++) store<f32>(at(dst, i), <f32>load<i32>(at(src, i)));
}

@inline function bytesToF32(src: usize, dst: usize, n: i32, scale: f32): void {
  const vscale = f32x4.splat(scale);
  let i = 0;
  for (; i <= n - 8; i += 8) {
    const halves = v128.load8x8_u(src + <usize>i);
    // Bytes fit in an i32's positive range: the signed conversion is exact and,
    // unlike the unsigned one (no x64 instruction), a single cvtdq2ps.
    const low = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(halves));
    const high = f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(halves));
    v128.store(at(dst, i), f32x4.mul(low, vscale));
    v128.store(at(dst, i), f32x4.mul(high, vscale), 16);
  }
  for (; i < n; i++) store<f32>(at(dst, i), <f32>load<u8>(src + <usize>i) * scale);
}

export function u8_to_f32(src: usize, dst: usize, n: i32, scale: f32): void {
  bytesToF32(src, dst, n, scale);
}

/**
 * Reads one byte of every cache line of the rows r0 … r0 + rows − 1 of a row
 * gather: the rows lie scattered over the dataset, and these loads,
 * independent of each other, overlap their cache misses; the copy that
 * follows then reads from cache. Measured on 234 shuffled Fashion-MNIST
 * batches of 256, one thread: 1.8× as fast as the JS gather with it, 1.2×
 * without.
 */
@inline function touchRows(src: usize, indices: usize, r0: i32, rows: i32, rowBytes: usize): void {
  let touched = 0;
  for (let r = r0, end = r0 + rows; r < end; r++) {
    const from = src + <usize>load<i32>(at(indices, r)) * rowBytes;
    for (let j: usize = 0; j < rowBytes; j += 64) touched += <i32>load<u8>(from + j);
  }
  if (touched < 0) unreachable(); // never (a sum of bytes): keeps the loads from being dropped as dead code
}

/**
 * A batch of image rows in one pass: each row read where the dataset holds it
 * and written as float32 straight into the batch, with no staging copy.
 */
export function u8_gather_rows_to_f32(
  src: usize, indices: usize, dst: usize, r0: i32, rows: i32, rowLength: i32, scale: f32,
): void {
  touchRows(src, indices, r0, rows, <usize>rowLength);
  for (let r = r0, end = r0 + rows; r < end; r++) {
    const from = src + <usize>load<i32>(at(indices, r)) * <usize>rowLength;
    bytesToF32(from, at(dst, r * rowLength), rowLength, scale);
  }
}

export function f32_gather_rows(src: usize, indices: usize, dst: usize, r0: i32, rows: i32, rowLength: i32): void {
  const rowBytes = <usize>rowLength << 2;
  touchRows(src, indices, r0, rows, rowBytes);
  for (let r = r0, end = r0 + rows; r < end; r++) {
    memory.copy(at(dst, r * rowLength), src + <usize>load<i32>(at(indices, r)) * rowBytes, rowBytes);
  }
}

export function f32_broadcast_rows(bias: usize, c: usize, m: i32, n: i32): void {
  const rowBytes = <usize>n << 2;
  for (let r = 0; r < m; r++) memory.copy(c + <usize>r * rowBytes, bias, rowBytes);
}
