// Copies and casts: a float32 reading of bool / int32 tensors, clone, copy_,
// a broadcast made dense, and zeros. The other op families build on these.

import { broadcastShapes, fmt, type Shape } from "../shape.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { allocateOutput, needsGrad, record } from "../graph.ts";
import { broadcastViewStrides, copyStrided, dense, doneWith, expand as expandView, writeMeta } from "./views.ts";

/** t read as float32: bool storage already is (0 / 1), int32 is converted. Views stay views. */
export function requireFloat(t: Tensor): Tensor {
  if (t.dtype === "float32") return t;
  if (t.dtype === "bool") return new Tensor(t.storage, t.shape, "float32", t.strides, t.offset);
  return toFloat(t);
}

/** requireFloat, then contiguous: what a kernel reading a dense block needs. */
export function floatDense(t: Tensor): Tensor {
  return dense(requireFloat(t));
}

/** A float32 copy (PyTorch's .float() copies a bool or int tensor, and returns a float one itself). */
export function toFloat(x0: Tensor): Tensor {
  if (x0.dtype === "float32") return x0;
  const x = dense(x0);
  const out = allocateOutput(x.shape, [x], false);
  if (x.dtype === "int32") x.backend.kernels.i32_to_f32(x.ptr, out.ptr, x.numel());
  else x.backend.heap.u8.copyWithin(out.ptr, x.ptr, x.ptr + x.numel() * 4);
  doneWith(x, x0, false);
  return out;
}

export function clone(x: Tensor): Tensor {
  const graph = needsGrad(x);
  // Always owned: clone() is how a user keeps a value, and how a leaf gets its first .grad.
  beginOp("clone");
  const out = Tensor.empty(x.shape, x.dtype, x.backend, "owned");
  if (x.isContiguous()) {
    const p = x.ptr;
    x.backend.heap.u8.copyWithin(out.ptr, p, p + x.numel() * 4);
  } else {
    copyStrided(out, x);
  }
  if (graph) record(out, "Clone", [x], (g) => [g]);
  return out;
}

/** x read as `shape` through broadcasting, materialised (backward code adds it to dense tensors). */
export function expand(x: Tensor, shape: Shape): Tensor {
  broadcastShapes(x.shape, shape);
  return dense(expandView(x, [...shape]));
}

/** Zeros of `shape` on like's backend (not g·0, which is NaN where g is ±∞). */
export function zerosOf(shape: Shape, like: Tensor): Tensor {
  const z = allocateOutput(shape, [like], false);
  z.backend.kernels.f32_fill(z.ptr, z.numel(), 0);
  return z;
}

export function copyInto(dst: Tensor, src: Tensor): void {
  if (src.backend !== dst.backend) {
    // Moved over as it is, then copied by the same rules (broadcasting, dtypes) as within one backend.
    const moved = Tensor.empty(src.shape, src.dtype, dst.backend, "temporary");
    const vals = src.data();
    if (src.dtype === "int32") moved.backend.heap.i32.set(vals, moved.ptr >>> 2);
    else moved.backend.heap.f32.set(vals, moved.ptr >>> 2);
    try {
      copyInto(dst, moved);
    } finally {
      moved.storage.release("it was an internal temporary");
    }
    return;
  }
  const shape = broadcastShapes(src.shape, dst.shape);
  if (shape.join() !== dst.shape.join()) {
    throw new RangeError(`output with shape ${fmt(dst.shape)} doesn't match the broadcast shape ${fmt(shape)}`);
  }
  const s = src.dtype === dst.dtype ? src : dst.dtype === "float32" ? toFloat(src) : null;
  if (!s) throw new TypeError(`copy_(): cannot copy a ${src.dtype} tensor into ${dst.dtype === "int32" ? "an" : "a"} ${dst.dtype} tensor`);
  dst.backend.kernels.f32_strided_copy(s.dataPtr, dst.ptr, shape.length, writeMeta(dst, shape, broadcastViewStrides(s, shape)));
  doneWith(s, src, false);
}
