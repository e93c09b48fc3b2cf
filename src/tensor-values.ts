// Limits on the values a tensor holds and shows: what a fill value must fit in
// (PyTorch's overflow errors), and the nested arrays of a tensor with no elements.

import { fmt } from "./shape.ts";
import type { DType, NestedArray } from "./tensor.ts";

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
