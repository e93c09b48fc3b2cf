// Pointwise math with its own kernels (sin, cos, clamp, leaky ReLU, GELU) and
// the creation functions linspace, eye and oneHot. Each op checks its input,
// calls one kernel of assembly/pointwise.ts forward and one backward.

import { Saved } from "./autograd.ts";
import { getBackend } from "./backend/index.ts";
import { PointwiseOp, ReduceOp } from "./backend/kernels.ts";
import { toFloat } from "./ops/copies.ts";
import { dense, doneWith } from "./ops/views.ts";
import { allocateOutput, backendOf, describeValue, finishOp, needsGrad } from "./graph.ts";
import { Tensor, type TensorOptions } from "./tensor.ts";

const NAMES: Record<PointwiseOp, string> = {
  [PointwiseOp.Sin]: "Sin", [PointwiseOp.Cos]: "Cos", [PointwiseOp.Clamp]: "Clamp",
  [PointwiseOp.LeakyRelu]: "LeakyRelu", [PointwiseOp.Gelu]: "Gelu", [PointwiseOp.GeluTanh]: "Gelu",
};

/** x as a dense float32 block for a kernel (a strided view is copied: doneWith frees the copy). */
function floatInput(x: Tensor, what: string): Tensor {
  backendOf(x);
  if (x.dtype !== "float32") {
    throw new TypeError(`${what}(): expected a float32 tensor, got ${x.dtype} (call .float() first)`);
  }
  return dense(x);
}

/** Ops that read int32 as float32, as the arithmetic ops do (PyTorch's sin and cos promote to float too). */
const PROMOTES_INT = new Set([PointwiseOp.Sin, PointwiseOp.Cos, PointwiseOp.Clamp]);

/** y = op(x; a, b) with its gradient. `a` and `b` are rounded to f32 first, as PyTorch casts scalars to the tensor's dtype. */
function pointwise(x0: Tensor, op: PointwiseOp, what: string, a = 0, b = 0): Tensor {
  const x = floatInput(x0 instanceof Tensor && x0.dtype === "int32" && PROMOTES_INT.has(op) ? toFloat(x0) : x0, what);
  const graph = needsGrad(x);
  const fa = Math.fround(a);
  const fb = Math.fround(b);
  const out = allocateOutput(x.shape, [x], graph);
  const n = x.numel();
  x.backend.kernels.f32_pointwise(op, x.ptr, out.ptr, n, fa, fb);
  const name = NAMES[op];
  finishOp(out, name, [x], graph, () => {
    const sx = new Saved(x, name);
    return (g) => {
      const dx = allocateOutput(x.shape, [g], false);
      x.backend.kernels.f32_pointwise_backward(op, sx.get().ptr, g.ptr, dx.ptr, n, fa, fb);
      return [dx];
    };
  });
  doneWith(x, x0, graph);
  return out;
}

export function sin(x: Tensor): Tensor {
  return pointwise(x, PointwiseOp.Sin, "sin");
}

export function cos(x: Tensor): Tensor {
  return pointwise(x, PointwiseOp.Cos, "cos");
}

/** Checks clamp's bounds and gives them as numbers (−∞ / +∞ for a missing one). */
function clampBounds(min: unknown, max: unknown): [number, number] {
  const bound = (v: unknown, which: string, none: number): number => {
    if (v === undefined || v === null) return none;
    if (v instanceof Tensor) {
      throw new TypeError(`clamp(): a Tensor ${which} is not supported; use x.maximum(min) / x.minimum(max)`);
    }
    if (typeof v !== "number" || Number.isNaN(v)) throw new TypeError(`clamp(): ${which} must be a number, got ${describeValue(v)}`);
    return v;
  };
  const lo = bound(min, "min", -Infinity);
  const hi = bound(max, "max", Infinity);
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError("clamp(): At least one of 'min' or 'max' must not be None");
  }
  return [lo, hi];
}

/**
 * min(max(x, min), max), either bound optional. NaN passes through; with
 * min > max every element is max, as in PyTorch. The gradient flows where
 * min ≤ x ≤ max (bounds included).
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const [lo, hi] = clampBounds(min, max);
  return pointwise(x, PointwiseOp.Clamp, "clamp", lo, hi);
}

/** clamp in place, without autograd: the caller (Tensor.clamp_) checks and bumps the version. */
export function clampInto(x: Tensor, min?: number | null, max?: number | null): void {
  const [lo, hi] = clampBounds(min, max);
  const t = floatInput(x, "clamp_");
  t.backend.kernels.f32_pointwise(PointwiseOp.Clamp, t.ptr, t.ptr, t.numel(), Math.fround(lo), Math.fround(hi));
}

/** x > 0 ? x : negativeSlope·x. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) {
    throw new TypeError(`leakyRelu(): negativeSlope must be a finite number, got ${describeValue(negativeSlope)}`);
  }
  return pointwise(x, PointwiseOp.LeakyRelu, "leakyRelu", negativeSlope);
}

export type GeluApproximate = "none" | "tanh";

/** x·Φ(x) (PyTorch's default), or its tanh approximation with { approximate: "tanh" }. */
export function gelu(x: Tensor, opts: { approximate?: GeluApproximate } = {}): Tensor {
  const approximate = opts.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") {
    throw new RangeError(`approximate argument must be either none or tanh, got ${String(approximate)}`);
  }
  return pointwise(x, approximate === "tanh" ? PointwiseOp.GeluTanh : PointwiseOp.Gelu, "gelu");
}

// ---- creation ------------------------------------------------------------------

function checkDtype(what: string, opts: TensorOptions | undefined, allowed: readonly string[]): "float32" | "int32" {
  const dtype = opts?.dtype ?? "float32";
  if (!allowed.includes(dtype)) throw new TypeError(`${what}(): unsupported dtype ${JSON.stringify(dtype)}`);
  return dtype as "float32" | "int32";
}

/** A creation function's output: owned when it requires grad, else a temporary (storage.ts's rule). */
function created(shape: number[], dtype: "float32" | "int32", requiresGrad = false): Tensor {
  const t = Tensor.empty(shape, dtype, getBackend(), requiresGrad ? "owned" : "temporary");
  if (requiresGrad) t.requiresGrad = true;
  return t;
}

/** Writing the values read the address: only what reads it from now on counts as use. */
function made(t: Tensor): Tensor {
  t.storage.markFresh();
  return t;
}

/**
 * `steps` values from start to end, evenly spaced (float32), computed as
 * PyTorch does: from start for the first half and back from end for the
 * second, so both ends are exact.
 */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  for (const [name, v] of [["start", start], ["end", end]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError(`linspace(): ${name} must be a finite number, got ${describeValue(v)}`);
  }
  if (!Number.isInteger(steps)) throw new TypeError(`linspace(): steps must be an integer, got ${describeValue(steps)}`);
  if (steps < 0) throw new RangeError("linspace(): number of steps must be non-negative");
  checkDtype("linspace", opts, ["float32"]);
  const t = created([steps], "float32", opts?.requiresGrad);
  const k = t.backend.kernels;
  const a = Math.fround(start);
  const b = Math.fround(end);
  if (steps === 1) k.f32_fill(t.ptr, 1, a);
  if (steps < 2) return made(t);
  const step = Math.fround((b - a) / (steps - 1));
  const half = Math.floor(steps / 2);
  k.f32_arange(t.ptr, half, a, step);
  k.f32_arange(t.ptr + half * 4, steps - half, b - step * (steps - 1 - half), step);
  return made(t);
}

/** The n×m identity (m = n by default), float32 or int32. */
export function eye(n: number, m: number | TensorOptions = n, opts?: TensorOptions): Tensor {
  if (typeof m === "object") [m, opts] = [n, m];
  for (const [name, v] of [["n", n], ["m", m]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`eye(): ${name} must be greater or equal to 0, got ${describeValue(v)}`);
  }
  const [rows, cols] = [n, m];
  const dtype = checkDtype("eye", opts, ["float32", "int32"]);
  const t = created([rows, cols], dtype, opts?.requiresGrad);
  // A fill writes the bits of 0, which are 0 in either dtype.
  t.backend.kernels.f32_fill(t.ptr, rows * cols, 0);
  const p = t.ptr >>> 2;
  const heap = dtype === "int32" ? t.backend.heap.i32 : t.backend.heap.f32;
  for (let i = 0; i < Math.min(rows, cols); i++) heap[p + i * (cols + 1)] = 1;
  return made(t);
}

/**
 * int32 one-hot rows: shape [...labels.shape, numClasses] (PyTorch returns
 * int64). numClasses = −1 takes the largest label + 1.
 */
export function oneHot(labels: Tensor, numClasses = -1): Tensor {
  const be = backendOf(labels);
  if (labels.dtype !== "int32") throw new TypeError(`oneHot(): one_hot is only applicable to index tensor (int32), got ${labels.dtype}`);
  if (!Number.isInteger(numClasses) || numClasses < -1) {
    throw new RangeError(`oneHot(): numClasses must be a non-negative integer or -1, got ${describeValue(numClasses)}`);
  }
  const x = dense(labels);
  const n = x.numel();
  if (numClasses === -1 && n === 0) throw new RangeError("oneHot(): Can not infer total number of classes from empty tensor.");
  const [lo, hi] = n === 0 ? [0, -1] : labelRange(x);
  if (lo < 0) throw new RangeError(`oneHot(): Class values must be non-negative (got ${lo})`);
  const c = numClasses === -1 ? hi + 1 : numClasses;
  if (hi >= c) throw new RangeError(`oneHot(): Class values must be smaller than num_classes (got ${hi}, numClasses ${c})`);
  const out = allocateOutput([...x.shape, c], [x], false, "int32");
  // No label is negative, so −1 ignores none.
  be.kernels.i32_one_hot(x.ptr, out.ptr, n, c, -1);
  doneWith(x, labels, false);
  return out;
}

/** The smallest and largest of n ≥ 1 int32 labels, by the f32 reduce kernel (exact below 2^24 in magnitude). */
function labelRange(x: Tensor): [number, number] {
  const be = x.backend;
  const n = x.numel();
  const asFloat = allocateOutput([n], [x], false);
  be.kernels.i32_to_f32(x.ptr, asFloat.ptr, n);
  const extreme = allocateOutput([], [x], false);
  be.kernels.f32_reduce(ReduceOp.Min, asFloat.ptr, extreme.ptr, 1, n, 1);
  const lo = extreme.item();
  be.kernels.f32_reduce(ReduceOp.Max, asFloat.ptr, extreme.ptr, 1, n, 1);
  const hi = extreme.item();
  asFloat.dispose();
  extreme.dispose();
  if (hi >= 2 ** 24) throw new RangeError(`oneHot(): class value ${hi} is too large (at most 2^24 classes)`);
  return [lo, hi];
}
