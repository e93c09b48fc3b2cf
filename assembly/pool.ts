// Pooling kernels: see src/backend/kernels.ts (PoolKernels) for the contract.
//
// Every kernel works on a range of planes [u0, u0 + units) of an [N·C, H, W]
// input and its [N·C, OH, OW] output, so threads split a call by planes and
// each plane is computed the same way whatever the split.

import { at, is } from "./lanes";

/** What poolWindows does with each window (tags, never instantiated). */
class MaxPool {}
class AvgPool {}
class AvgPoolBackward {}

/**
 * Visits the windows of planes [u0, u0 + units) in row-major order, each
 * clipped to the image (rows [hs, he), columns [ws, we) of the plane), with
 * w its index in the [OH, OW] output: MaxPool and AvgPool read x's plane and
 * write out[w] (and idx[w]); AvgPoolBackward spreads out[w] (dy) over dx's
 * plane, which `x` then is, zeroed first.
 */
function poolWindows<Op>(
  x: usize, out: usize, idx: usize, u0: i32, units: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, countIncludePad: i32,
): void {
  for (let u = u0; u < u0 + units; u++) {
    const plane = at(x, u * H * W);
    if (is<Op, AvgPoolBackward>()) memory.fill(plane, 0, <usize>(H * W) << 2);
    const planeOut = u * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * SH - PH;
      const hs = max(h0, 0);
      const he = min(h0 + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * SW - PW;
        const ws = max(w0, 0);
        const we = min(w0 + KW, W);
        const w = planeOut + oh * OW + ow;
        if (is<Op, MaxPool>()) {
          maxWindow(plane, W, hs, he, ws, we, at(out, w), at(idx, w));
        } else if (is<Op, AvgPool>()) {
          store<f32>(at(out, w), sumWindow(plane, W, hs, he, ws, we) / divisor(hs, he, ws, we, KH, KW, countIncludePad));
        } else {
          addToWindow(plane, W, hs, he, ws, we, load<f32>(at(out, w)) / divisor(hs, he, ws, we, KH, KW, countIncludePad));
        }
      }
    }
  }
}

/**
 * The maximum of a window to *y, its index (ih·W + iw) in the plane to *idx.
 * As PyTorch: a NaN wins (the last NaN of the window), a window of equal
 * values gives its first index. Padding is never the maximum.
 */
@inline function maxWindow(plane: usize, W: i32, hs: i32, he: i32, ws: i32, we: i32, y: usize, idx: usize): void {
  let best = -Infinity as f32;
  let bi = hs * W + ws;
  for (let ih = hs; ih < he; ih++) {
    for (let iw = ws; iw < we; iw++) {
      const v = load<f32>(at(plane, ih * W + iw));
      if (v > best || v != v) {
        best = v;
        bi = ih * W + iw;
      }
    }
  }
  store<f32>(y, best);
  store<i32>(idx, bi);
}

/** A window's sum in f32, row-major order. */
@inline function sumWindow(plane: usize, W: i32, hs: i32, he: i32, ws: i32, we: i32): f32 {
  let s: f32 = 0;
  for (let ih = hs; ih < he; ih++) {
    for (let iw = ws; iw < we; iw++) s += load<f32>(at(plane, ih * W + iw));
  }
  return s;
}

@inline function addToWindow(plane: usize, W: i32, hs: i32, he: i32, ws: i32, we: i32, g: f32): void {
  for (let ih = hs; ih < he; ih++) {
    for (let iw = ws; iw < we; iw++) {
      const t = at(plane, ih * W + iw);
      store<f32>(t, load<f32>(t) + g);
    }
  }
}

/** The divisor of a window: KH·KW with countIncludePad = 1, else its pixels inside the image. */
@inline function divisor(hs: i32, he: i32, ws: i32, we: i32, KH: i32, KW: i32, countIncludePad: i32): f32 {
  return <f32>(countIncludePad ? KH * KW : (he - hs) * (we - ws));
}

/** y = the maximum of each window, idx = its index in the plane (see maxWindow). */
export function f32_max_pool2d(
  x: usize, y: usize, idx: usize, u0: i32, units: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32,
): void {
  poolWindows<MaxPool>(x, y, idx, u0, units, H, W, OH, OW, KH, KW, SH, SW, PH, PW, 0);
}

/** dx (written whole) = Σ dy routed to the index each window took. */
export function f32_max_pool2d_backward(dy: usize, idx: usize, dx: usize, u0: i32, units: i32, HW: i32, OHW: i32): void {
  for (let u = u0; u < u0 + units; u++) {
    const plane = at(dx, u * HW);
    memory.fill(plane, 0, <usize>HW << 2);
    const o = u * OHW;
    for (let i = 0; i < OHW; i++) {
      const t = at(plane, load<i32>(at(idx, o + i)));
      store<f32>(t, load<f32>(t) + load<f32>(at(dy, o + i)));
    }
  }
}

/** y = the mean of each window: its sum in f32 (row-major order) over the divisor. */
export function f32_avg_pool2d(
  x: usize, y: usize, u0: i32, units: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, countIncludePad: i32,
): void {
  poolWindows<AvgPool>(x, y, 0, u0, units, H, W, OH, OW, KH, KW, SH, SW, PH, PW, countIncludePad);
}

/** dx (written whole): each window adds dy / divisor to its pixels, windows in row-major order. */
export function f32_avg_pool2d_backward(
  dy: usize, dx: usize, u0: i32, units: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, countIncludePad: i32,
): void {
  poolWindows<AvgPoolBackward>(dx, dy, 0, u0, units, H, W, OH, OW, KH, KW, SH, SW, PH, PW, countIncludePad);
}
