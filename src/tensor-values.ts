// A tensor's values read out (data(), toArray(), toString()), and their
// limits: what a fill value must fit in (PyTorch's overflow errors), and the
// nested arrays of a tensor with no elements.

import { withoutGrad } from "./autograd.ts";
import { dense, doneWith } from "./ops/views.ts";
import { fmt, numel } from "./shape.ts";
import { beginOp } from "./storage.ts";
import type { DType, NestedArray, Tensor } from "./tensor.ts";

/** A copy of t's values: Float32Array, Int32Array for int32, Uint8Array of 0 / 1 for bool. */
export function flatValues(x: Tensor): Float32Array | Int32Array | Uint8Array {
  beginOp();
  const t = x.isContiguous() ? x : withoutGrad(() => dense(x));
  const p = t.ptr >>> 2;
  const n = t.numel();
  const heap = t.backend.heap;
  const values =
    t.dtype === "bool" ? Uint8Array.from(heap.f32.subarray(p, p + n), (v) => (v !== 0 ? 1 : 0))
    : t.dtype === "int32" ? heap.i32.slice(p, p + n) : heap.f32.slice(p, p + n);
  doneWith(t, x, false);
  return values;
}

/** t's values as nested arrays (a number for a 0-d tensor). */
export function nestedValues(t: Tensor): NestedArray {
  if (t.numel() === 0) return emptyNested(t.shape);
  const flat = Array.from(flatValues(t));
  if (t.ndim === 0) return flat[0];
  const build = (dim: number, start: number): NestedArray[] => {
    const len = t.shape[dim];
    const stride = numel(t.shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < len; i++) {
      out.push(dim === t.ndim - 1 ? flat[start + i] : build(dim + 1, start + i * stride));
    }
    return out;
  };
  return build(0, 0);
}

/** How a tensor prints: `tensor([[1,2],[3,4]], gradFn=<MulBackward>)`. */
export function formatTensor(t: Tensor): string {
  // Not JSON: it prints NaN and ±Infinity as null, and those are what someone printing a tensor looks for.
  const leaf = (x: number): string => (t.dtype === "bool" ? String(x !== 0) : String(x));
  const show = (x: NestedArray): string => (Array.isArray(x) ? `[${x.map(show).join(",")}]` : leaf(x));
  // A zero-element tensor prints as PyTorch's `tensor([], size=(…))`: its shape
  // can be [2^26, 2^26, 0], whose nested arrays would not fit in memory.
  const empty = t.numel() === 0;
  const body = !t.storage.isAlive ? '"<reclaimed>"' : empty ? "[]" : show(nestedValues(t));
  const size = empty && t.ndim !== 1 ? `, size=(${t.shape.join(", ")})` : "";
  const extra = size + (t.dtype === "float32" ? "" : `, dtype=${t.dtype}`);
  const grad = t.gradFn ? `, gradFn=<${t.gradFn.name}Backward>` : t.requiresGrad ? ", requiresGrad=true" : "";
  return `tensor(${body}${extra}${grad})`;
}

/**
 * PyTorch refuses a fill value its dtype cannot hold (the heap's Int32Array
 * would wrap 3e9 to −1294967296 and turn NaN into 0); fractions truncate, as in PyTorch.
 */
export function checkFillValue(value: number, dtype: DType): void {
  if (dtype === "bool") return; // any number is true or false, as in PyTorch
  const whole = Math.trunc(value);
  const fits = dtype === "int32"
    ? Number.isFinite(value) && whole >= -(2 ** 31) && whole < 2 ** 31
    : !(Number.isFinite(value) && Math.abs(value) > FLOAT32_MAX); // NaN and ±Infinity fill float32 as in PyTorch
  if (!fits) throw new RangeError(`value cannot be converted to type ${dtype === "int32" ? "int32" : "float32"} without overflow: ${value}`);
}
const FLOAT32_MAX = 3.4028234663852886e38;

/** The nested empty arrays of a zero-element shape, refused when there would be too many to build. */
export function emptyNested(shape: readonly number[]): NestedArray {
  const zeroAt = shape.indexOf(0);
  let arrays = 1;
  for (let d = 0, count = 1; d < zeroAt; d++) arrays += count *= shape[d];
  if (arrays > MAX_EMPTY_ARRAYS) {
    throw new RangeError(`toArray(): a tensor of shape ${fmt(shape)} has no elements but would need ${arrays} nested empty arrays`);
  }
  const build = (d: number): NestedArray[] => (d === zeroAt ? [] : Array.from({ length: shape[d] }, () => build(d + 1)));
  return build(0);
}
const MAX_EMPTY_ARRAYS = 1 << 24;
