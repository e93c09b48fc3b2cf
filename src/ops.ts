// The differentiable ops. Each is written once: check shapes, allocate the
// result, call one kernel, and record a backward built from other ops (or a
// backward kernel). Derived ops (mean, norm, maximum's mask, …) reuse these.

import type { Backend } from "./backend/backend.ts";
import { MAX_DIMS } from "./backend/backend.ts";
import { BinaryOp, GemmLayout, ReduceOp, UnaryOp } from "./backend/kernels.ts";
import { checkForward, isAnomalyEnabled, Saved } from "./autograd.ts";
import { broadcastShapes, broadcastStrides, fmt, normDim, numel, stridesOf, type Shape } from "./shape.ts";
import { beginOp } from "./storage.ts";
import { Tensor } from "./tensor.ts";
import * as views from "./ops/views.ts";
import { broadcastViewStrides, dense, doneWith } from "./ops/views.ts";
import { ValuesIndices } from "./values-indices.ts";
import { backendOf, describeValue, needsGrad, record, allocateOutput, saveWith } from "./graph.ts";

// The graph helpers live in graph.ts; re-exported for the ops' callers (tensor.ts reads them as ops.*).
export { backendOf, describeValue, needsGrad, record, allocateOutput, saveWith };

// ---- plumbing -----------------------------------------------------------------

function writeMeta(be: Backend, ...lists: number[][]): number {
  const flat = lists.flat();
  be.heap.i32.set(flat, be.metaScratch >>> 2);
  return be.metaScratch;
}

function checkDims(shape: Shape): void {
  if (shape.length > MAX_DIMS) throw new RangeError(`tensors may have at most ${MAX_DIMS} dimensions, got ${shape.length}`);
}

/** t read as float32: bool storage already is (0 / 1), int32 is converted. Views stay views. */
export function requireFloat(t: Tensor, what: string): Tensor {
  if (t.dtype === "float32") return t;
  if (t.dtype === "bool") return new Tensor(t.storage, t.shape, "float32", t.strides, t.offset);
  return toFloat(t);
}

/** requireFloat, then contiguous: what a kernel reading a dense block needs. */
export function floatDense(t: Tensor, what: string): Tensor {
  return dense(requireFloat(t, what));
}

/** Frees an internal temporary now rather than at the next step boundary. */
function drop(t: Tensor): void {
  if (t.storage.isStepScoped && t.gradFn === null) t.storage.release("it was an internal temporary");
}

// ---- copies, views, casts ------------------------------------------------------

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
    views.copyStrided(out, x);
  }
  if (graph) record(out, "Clone", [x], (g) => [g]);
  return out;
}

export function reshape(x: Tensor, shape: number[]): Tensor {
  return views.reshape(x, shape);
}

/** x read as `shape` through broadcasting, materialised (backward code adds it to dense tensors). */
export function expand(x: Tensor, shape: Shape): Tensor {
  broadcastShapes(x.shape, shape);
  return dense(views.expand(x, [...shape]));
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
  const be = dst.backend;
  be.kernels.f32_strided_copy(s.dataPtr, dst.ptr, shape.length, writeMeta(be, shape, broadcastViewStrides(s, shape)));
  doneWith(s, src, false);
}

// ---- elementwise ---------------------------------------------------------------

const UNARY_NAMES: Record<UnaryOp, string> = {
  [UnaryOp.Neg]: "Neg", [UnaryOp.Abs]: "Abs", [UnaryOp.Sqrt]: "Sqrt", [UnaryOp.Exp]: "Exp", [UnaryOp.Log]: "Log",
  [UnaryOp.Relu]: "Relu", [UnaryOp.Sigmoid]: "Sigmoid", [UnaryOp.Tanh]: "Tanh", [UnaryOp.Square]: "Square",
  [UnaryOp.Sign]: "Sign",
};

export function unary(x0: Tensor, op: UnaryOp): Tensor {
  const name = UNARY_NAMES[op];
  beginOp(name.toLowerCase());
  const x = floatDense(x0, name);
  const graph = needsGrad(x) && op !== UnaryOp.Sign;
  const out = allocateOutput(x.shape, [x], graph);
  const n = x.numel();
  x.backend.kernels.f32_unary(op, x.ptr, out.ptr, n);
  if (isAnomalyEnabled()) checkForward(name, out, [x]);
  doneWith(x, x0, graph);
  if (graph) {
    const sx = new Saved(x, name);
    const so = new Saved(out, name);
    record(out, name, [x], (g) => {
      const dx = allocateOutput(x.shape, [g], false);
      x.backend.kernels.f32_unary_backward(op, sx.get().ptr, so.get().ptr, g.ptr, dx.ptr, n);
      return [dx];
    });
  }
  return out;
}

const BINARY_NAMES: Record<BinaryOp, string> = {
  [BinaryOp.Add]: "Add", [BinaryOp.Sub]: "Sub", [BinaryOp.Mul]: "Mul", [BinaryOp.Div]: "Div", [BinaryOp.Pow]: "Pow",
  [BinaryOp.Maximum]: "Maximum", [BinaryOp.Minimum]: "Minimum", [BinaryOp.Eq]: "Eq", [BinaryOp.Ne]: "Ne",
  [BinaryOp.Lt]: "Lt", [BinaryOp.Le]: "Le", [BinaryOp.Gt]: "Gt", [BinaryOp.Ge]: "Ge",
};

function isComparison(op: BinaryOp): boolean {
  return op >= BinaryOp.Eq;
}

/** Runs the binary kernel for a op b (or s op a) into out. */
function binaryKernel(a: Tensor, b: Tensor | number, op: BinaryOp, out: Tensor, reversed: boolean): void {
  const k = a.backend.kernels;
  if (typeof b === "number") {
    k.f32_binary_scalar(op, a.ptr, b, out.ptr, out.numel(), reversed ? 1 : 0);
  } else if (a.shape.join() === b.shape.join() && out.shape.join() === a.shape.join() && a.isContiguous() && b.isContiguous()) {
    k.f32_binary(op, a.ptr, b.ptr, out.ptr, out.numel());
  } else {
    // Broadcast and strided views alike: the kernel walks each operand by its own strides.
    checkDims(out.shape);
    const meta = writeMeta(a.backend, [...out.shape], broadcastViewStrides(a, out.shape), broadcastViewStrides(b, out.shape));
    k.f32_binary_broadcast(op, a.dataPtr, b.dataPtr, out.ptr, out.ndim, meta);
  }
}

/**
 * A view whose rows are contiguous (narrow along a later dim, select, expand)
 * is read in place by the broadcast kernel; any other (a transposed view) is
 * copied first: measured on 1024², A.t().add(B) takes 3.4x as long read in
 * place (a column walk per element) as copied by the strided-copy kernel's
 * blocked transpose and then added.
 */
function rowsInPlace(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  for (let d = x.ndim - 1; d >= 0; d--) if (x.shape[d] !== 1) return x.strides[d] === 1 ? x : dense(x);
  return x;
}

/** a op b with broadcasting; with a number b, `reversed` computes b op a. */
export function binary(a0: Tensor, b0: Tensor | number, op: BinaryOp, reversed = false): Tensor {
  const name = BINARY_NAMES[op];
  beginOp(name.toLowerCase());
  if (typeof b0 === "number") {
    const a = floatDense(a0, name);
    const graph = needsGrad(a) && !isComparison(op);
    const out = allocateOutput(a.shape, [a], graph, isComparison(op) ? "bool" : "float32");
    binaryKernel(a, b0, op, out, reversed);
    doneWith(a, a0, graph);
    if (isAnomalyEnabled()) checkForward(name, out, [a]);
    if (graph) scalarBackward(out, a, b0, op, reversed, name);
    return out;
  }
  if (!(b0 instanceof Tensor)) {
    throw new TypeError(`${name.toLowerCase()}(): other must be a Tensor or a number, got ${describeValue(b0)}`);
  }
  backendOf(a0, b0);
  const a = rowsInPlace(requireFloat(a0, name));
  const b = rowsInPlace(requireFloat(b0, name));
  const shape = broadcastShapes(a.shape, b.shape);
  const graph = needsGrad(a, b) && !isComparison(op);
  const out = allocateOutput(shape, [a, b], graph, isComparison(op) ? "bool" : "float32");
  binaryKernel(a, b, op, out, false);
  doneWith(a, a0, graph);
  doneWith(b, b0, graph);
  if (isAnomalyEnabled()) checkForward(name, out, [a, b]);
  if (graph) tensorBackward(out, a, b, op, name);
  return out;
}

/** target = target op other, in place (other broadcasts to target's shape). */
export function binaryInto(target: Tensor, other: Tensor | number, op: BinaryOp): void {
  const name = `${BINARY_NAMES[op].toLowerCase()}_`;
  if (target.dtype !== "float32") throw new TypeError(`in-place arithmetic needs a float32 tensor, not ${target.dtype}`);
  if (typeof other !== "number") {
    if (!(other instanceof Tensor)) throw new TypeError(`${name}(): other must be a Tensor or a number, got ${describeValue(other)}`);
    backendOf(target, other);
    const shape = broadcastShapes(target.shape, other.shape);
    if (shape.join() !== target.shape.join()) {
      throw new RangeError(`output with shape ${fmt(target.shape)} doesn't match the broadcast shape ${fmt(shape)}`);
    }
    const o = requireFloat(other, BINARY_NAMES[op]);
    binaryKernel(target, o, op, target, false);
    if (isAnomalyEnabled()) checkForward(name, target, [o]);
    doneWith(o, other, false);
  } else {
    binaryKernel(target, other, op, target, false);
    if (isAnomalyEnabled()) checkForward(name, target, []);
  }
}

function scalarBackward(out: Tensor, a: Tensor, s: number, op: BinaryOp, reversed: boolean, name: string): void {
  const sa = new Saved(a, name);
  const so = new Saved(out, name);
  record(out, name, [a], (g) => {
    switch (op) {
      case BinaryOp.Add: return [g];
      case BinaryOp.Sub: return [reversed ? g.neg() : g];
      case BinaryOp.Mul: return [g.mul(s)];
      case BinaryOp.Div: return [reversed ? g.mul(so.get()).div(sa.get()).neg() : g.div(s)];
      case BinaryOp.Pow:
        // PyTorch's zeros where the formula would be 0·∞: d(x^0)/dx, and d(0^x)/dx for x ≥ 0.
        if (reversed) return [s === 0 ? g.mul(so.get()).mul(sa.get().lt(0).float().rsub(1).log()) : g.mul(so.get()).mul(Math.log(s))];
        return [s === 0 ? zerosShaped(g) : g.mul(sa.get().pow(s - 1)).mul(s)];
      case BinaryOp.Maximum:
      case BinaryOp.Minimum: {
        const x = sa.get();
        const mask = (op === BinaryOp.Maximum ? x.gt(s) : x.lt(s)).add(x.eq(s).mul(0.5));
        return [g.mul(mask)];
      }
      default: throw new Error(`no gradient for ${name}`);
    }
  });
}

/** Zeros of g's shape (not g·0, which is NaN where g is ±∞). */
function zerosShaped(g: Tensor): Tensor {
  const z = allocateOutput(g.shape, [g], false);
  g.backend.kernels.f32_fill(z.ptr, z.numel(), 0);
  return z;
}

function tensorBackward(out: Tensor, a: Tensor, b: Tensor, op: BinaryOp, name: string): void {
  const sa = new Saved(a, name);
  const sb = new Saved(b, name);
  const so = new Saved(out, name);
  const aShape = [...a.shape];
  const bShape = [...b.shape];
  record(out, name, [a, b], (g) => {
    const A = () => sa.get();
    const B = () => sb.get();
    const wantA = a.requiresGrad;
    const wantB = b.requiresGrad;
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    switch (op) {
      case BinaryOp.Add:
        if (wantA) ga = sumTo(g, aShape);
        if (wantB) gb = sumTo(g, bShape);
        break;
      case BinaryOp.Sub:
        if (wantA) ga = sumTo(g, aShape);
        if (wantB) gb = sumTo(g.neg(), bShape);
        break;
      case BinaryOp.Mul:
        if (wantA) ga = sumTo(g.mul(B()), aShape);
        if (wantB) gb = sumTo(g.mul(A()), bShape);
        break;
      case BinaryOp.Div:
        if (wantA) ga = sumTo(g.div(B()), aShape);
        if (wantB) gb = sumTo(g.mul(so.get()).div(B()).neg(), bShape);
        break;
      case BinaryOp.Pow:
        // As PyTorch: 0 where the formula would be 0·∞, i.e. where b = 0 (for a) and
        // where a = 0 and b ≥ 0 (for b). Shifting the exponent or the log's argument
        // by 1 there keeps the product finite, and its other factor is 0.
        if (wantA) ga = sumTo(g.mul(B()).mul(A().pow(B().add(B().eq(0).float()).sub(1))), aShape);
        if (wantB) gb = sumTo(g.mul(so.get()).mul(A().add(A().eq(0).float().mul(B().ge(0).float())).log()), bShape);
        break;
      case BinaryOp.Maximum:
      case BinaryOp.Minimum: {
        // Ties split the gradient evenly, as PyTorch does.
        const mask = (op === BinaryOp.Maximum ? A().gt(B()) : A().lt(B())).add(A().eq(B()).mul(0.5));
        if (wantA) ga = sumTo(g.mul(mask), aShape);
        if (wantB) gb = sumTo(g.mul(mask.rsub(1)), bShape);
        break;
      }
      default: throw new Error(`no gradient for ${name}`);
    }
    return [ga, gb];
  });
}

// ---- reductions ----------------------------------------------------------------

function reduceDims(x: Tensor, dim: number | number[] | null | undefined): number[] {
  if (dim === undefined || dim === null) return x.shape.map((_, i) => i);
  const dims = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(d, x.ndim));
  if (new Set(dims).size !== dims.length) throw new RangeError(`dim ${dims.join(", ")} appears multiple times in the list of dims`);
  return dims.filter((d) => d < x.ndim).sort((p, q) => q - p);
}

function keptShape(shape: Shape, dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

function finalShape(shape: Shape, dims: number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(shape, dims) : shape.filter((_, i) => !dims.includes(i));
}

/** One reduction kernel call per axis (highest first), no autograd; the result has the kept shape. */
function reduceRaw(x: Tensor, op: ReduceOp, dims: number[]): Tensor {
  let cur = x;
  let shape = [...x.shape];
  const k = x.backend.kernels;
  // Reducing every axis is one call over the whole block (every ReduceOp reads it as [1, numel, 1]).
  if (dims.length === x.ndim && x.ndim > 0) {
    const out = allocateOutput(shape.map(() => 1), [x], false);
    k.f32_reduce(op, x.ptr, out.ptr, 1, x.numel(), 1);
    return out;
  }
  for (const d of dims) {
    const outer = numel(shape.slice(0, d));
    const size = shape[d];
    const inner = numel(shape.slice(d + 1));
    shape = [...shape.slice(0, d), 1, ...shape.slice(d + 1)];
    const out = allocateOutput(shape, [cur], false);
    // Σ|x| and Σx² only apply to the first pass; later passes sum what they made.
    const pass = cur === x ? op : op === ReduceOp.SumAbs || op === ReduceOp.SumSquares ? ReduceOp.Sum : op;
    k.f32_reduce(pass, cur.ptr, out.ptr, outer, size, inner);
    if (cur !== x) drop(cur);
    cur = out;
  }
  return cur === x ? clone(x) : cur;
}

/** Sums g down to `shape` (undoing broadcasting). Returns g itself when it already has that shape. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const r = reduceRaw(g, ReduceOp.Sum, dims.sort((p, q) => q - p));
  return reshape(r, [...shape]);
}

export function reduce(x0: Tensor, kind: "sum" | "mean", dim: number | number[] | null | undefined, keepdim: boolean): Tensor {
  beginOp(kind);
  if (x0.dtype === "bool") return countTrue(x0, kind, dim, keepdim);
  const x = floatDense(x0, kind);
  const dims = reduceDims(x, dim);
  const graph = needsGrad(x);
  const raw = reduceRaw(x, kind === "sum" ? ReduceOp.Sum : ReduceOp.Mean, dims);
  const out = new Tensor(raw.storage, finalShape(x.shape, dims, keepdim), "float32");
  if (isAnomalyEnabled()) checkForward(kind === "sum" ? "Sum" : "Mean", out, [x]);
  if (graph) {
    const count = dims.reduce((acc, d) => acc * x.shape[d], 1);
    const inShape = [...x.shape];
    const kShape = keptShape(x.shape, dims);
    record(out, kind === "sum" ? "Sum" : "Mean", [x], (g) => {
      const e = expand(reshape(g, kShape), inShape);
      return [kind === "sum" ? e : e.mul(1 / count)];
    });
  }
  doneWith(x, x0, graph);
  return out;
}

/** sum() of a bool tensor counts its true values, as int32 (PyTorch: int64); mean() refuses, as PyTorch does. */
function countTrue(x: Tensor, kind: "sum" | "mean", dim: number | number[] | null | undefined, keepdim: boolean): Tensor {
  if (kind === "mean") {
    throw new TypeError("mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Bool (call .float() first)");
  }
  const counts = reduce(requireFloat(x, "sum"), "sum", dim, keepdim);
  const out = allocateOutput(counts.shape, [counts], false, "int32");
  out.backend.kernels.f32_to_i32(counts.ptr, out.ptr, out.numel());
  counts.storage.release("it was an internal temporary");
  return out;
}

export function maxAll(x0: Tensor): Tensor {
  const x = floatDense(x0, "max");
  if (x.numel() === 0) throw new RangeError("max(): Expected reduction dim to be specified for input.numel() == 0.");
  const graph = needsGrad(x);
  const raw = reduceRaw(x, ReduceOp.Max, reduceDims(x, null));
  const out = new Tensor(raw.storage, [], "float32");
  if (isAnomalyEnabled()) checkForward("Max", out, [x]);
  if (graph) {
    const sx = new Saved(x, "Max");
    const so = new Saved(out, "Max");
    record(out, "Max", [x], (g) => {
      // Ties share the gradient evenly, as PyTorch's max() does.
      const mask = sx.get().eq(so.get());
      return [mask.mul(g).div(mask.sum())];
    });
  }
  doneWith(x, x0, graph);
  return out;
}

export function argmax(x0: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const x = floatDense(x0, "argmax");
  const be = x.backend;
  // The kernel would answer 0 for an empty reduction: PyTorch refuses, and so do we.
  if (dim === undefined) {
    if (x.numel() === 0) throw new RangeError("argmax(): Expected reduction dim to be specified for input.numel() == 0.");
    const out = allocateOutput(keepdim ? x.shape.map(() => 1) : [], [x], false, "int32");
    be.kernels.f32_argmax(x.ptr, out.ptr, 1, x.numel(), 1);
    doneWith(x, x0, false);
    return out;
  }
  const d = normDim(dim, x.ndim);
  if (x.ndim > 0 && x.shape[d] === 0) throw new RangeError(`argmax(): Expected reduction dim ${d} to have non-zero size.`);
  const out = allocateOutput(finalShape(x.shape, [d], keepdim), [x], false, "int32");
  be.kernels.f32_argmax(x.ptr, out.ptr, numel(x.shape.slice(0, d)), x.shape[d], numel(x.shape.slice(d + 1)));
  doneWith(x, x0, false);
  return out;
}

export function maxDim(x0: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const x = floatDense(x0, "max");
  const d = normDim(dim, x.ndim);
  // The kernel would answer −∞ for an empty reduction: PyTorch refuses, and so do we.
  if (x.ndim > 0 && x.shape[d] === 0) throw new RangeError(`max(): Expected reduction dim ${d} to have non-zero size.`);
  const graph = needsGrad(x);
  const raw = reduceRaw(x, ReduceOp.Max, [d]);
  const values = new Tensor(raw.storage, finalShape(x.shape, [d], keepdim), "float32");
  const indices = argmax(x, d, keepdim);
  if (isAnomalyEnabled()) checkForward("Max", values, [x]);
  if (graph) {
    const outer = numel(x.shape.slice(0, d));
    const inner = numel(x.shape.slice(d + 1));
    const inShape = [...x.shape];
    const si = new Saved(indices, "Max");
    record(values, "Max", [x], (g) => {
      const dx = allocateOutput(inShape, [g], false);
      const k = x.backend.kernels;
      k.f32_fill(dx.ptr, dx.numel(), 0);
      k.f32_scatter_add_axis(g.ptr, si.get().ptr, dx.ptr, outer, inShape[d], inner);
      return [dx];
    });
    saveWith(values, indices.storage);
  }
  doneWith(x, x0, graph);
  return new ValuesIndices(values, indices);
}

export function norm(x0: Tensor, p: 1 | 2, dim: number | number[] | null | undefined, keepdim: boolean): Tensor {
  if (p !== 1 && p !== 2) throw new RangeError(`norm(): only p = 1 and p = 2 are supported, got ${p}`);
  const x = floatDense(x0, "norm");
  const dims = reduceDims(x, dim);
  const graph = needsGrad(x);
  const raw = reduceRaw(x, p === 2 ? ReduceOp.SumSquares : ReduceOp.SumAbs, dims);
  if (p === 2) x.backend.kernels.f32_unary(UnaryOp.Sqrt, raw.ptr, raw.ptr, raw.numel());
  const out = new Tensor(raw.storage, finalShape(x.shape, dims, keepdim), "float32");
  if (isAnomalyEnabled()) checkForward("Norm", out, [x]);
  if (graph) {
    const sx = new Saved(x, "Norm");
    const sr = new Saved(raw, "Norm");
    const kShape = keptShape(x.shape, dims);
    const inShape = [...x.shape];
    record(out, "Norm", [x], (g) => {
      const ge = expand(reshape(g, kShape), inShape);
      // The subgradient at a zero norm is 0, as in PyTorch (not 0/0).
      if (p === 1) return [ge.mul(sx.get().sign())];
      return [ge.mul(sx.get()).div(expand(sr.get(), inShape).maximum(1e-38))];
    });
  }
  doneWith(x, x0, graph);
  return out;
}

// ---- matrix products -----------------------------------------------------------

/**
 * How a GEMM reads a 2-d tensor in place: a row-major block with leading
 * dimension ld, or a column-major one (a transposed view: t(), transpose,
 * permute) read as the transposed operand. Null when neither (a copy is due).
 */
interface Operand {
  t: Tensor;
  colMajor: boolean;
  ld: number;
}

function operand(x: Tensor): Operand | null {
  const [r, c] = x.shape;
  if (x.isContiguous()) return { t: x, colMajor: false, ld: Math.max(c, 1) };
  const [sr, sc] = x.strides;
  if ((sr === 1 || r === 1) && sc >= Math.max(r, 1)) return { t: x, colMajor: true, ld: sc };
  if ((sc === 1 || c === 1) && sr >= Math.max(c, 1)) return { t: x, colMajor: false, ld: sr };
  return null;
}

function operandOf(x: Tensor): Operand {
  return operand(x) ?? { t: dense(x), colMajor: false, ld: Math.max(x.shape[1], 1) };
}

/** C = op(A)·op(B) into a new [m, n] tensor, where op transposes when trans XOR the operand is column-major. */
function gemmOf(a: Operand, transA: boolean, b: Operand, transB: boolean, m: number, n: number, k: number, inputs: Tensor[], graph: boolean): Tensor {
  const out = allocateOutput([m, n], inputs, graph);
  const be = out.backend;
  const ta = transA !== a.colMajor;
  const tb = transB !== b.colMajor;
  if (ta && tb) throw new Error("wasmgrad internal error: a GEMM with both operands transposed");
  const layout = ta ? GemmLayout.TN : tb ? GemmLayout.NT : GemmLayout.NN;
  if (m * n > 0) {
    if (k === 0) be.kernels.f32_fill(out.ptr, m * n, 0);
    else be.kernels.f32_gemm(layout, m, n, k, 1, a.t.dataPtr, a.ld, b.t.dataPtr, b.ld, 0, out.ptr, n, be.gemmWorkspace);
  }
  return out;
}

/** C = op(A)·op(B) into a new [m, n] tensor, for dense A and B. */
export function gemm(layout: GemmLayout, a: Tensor, b: Tensor, m: number, n: number, k: number, inputs: Tensor[], graph: boolean): Tensor {
  const lda = layout === GemmLayout.TN ? m : k;
  const ldb = layout === GemmLayout.NT ? k : n;
  return gemmOf({ t: a, colMajor: false, ld: lda }, layout === GemmLayout.TN, { t: b, colMajor: false, ld: ldb },
    layout === GemmLayout.NT, m, n, k, inputs, graph);
}

/** [m, k] · [k, n]. A transposed view reads as a transposed GEMM operand, without a copy. */
function mm(a: Tensor, b: Tensor): Tensor {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const graph = needsGrad(a, b);
  const oa = operandOf(a);
  let ob = operandOf(b);
  // The GEMM has no TT layout: one of two transposed views is copied.
  if (oa.colMajor && ob.colMajor) ob = { t: dense(b), colMajor: false, ld: Math.max(n, 1) };
  const out = gemmOf(oa, false, ob, false, m, n, k, [a, b], graph);
  if (isAnomalyEnabled()) checkForward("Mm", out, [a, b]);
  doneWith(oa.t, a, graph);
  doneWith(ob.t, b, graph);
  if (graph) {
    const sa = new Saved(a, "Mm");
    const sb = new Saved(b, "Mm");
    const dg = (g: Tensor): Operand => ({ t: g, colMajor: false, ld: Math.max(n, 1) });
    // dA = g·Bᵀ and dB = Aᵀ·g read the forward's operands in place (get() checks their versions).
    record(out, "Mm", [a, b], (g) => [
      a.requiresGrad && sb.get() ? gemmOf(dg(g), false, ob, true, m, k, n, [g], false) : null,
      b.requiresGrad && sa.get() ? gemmOf(oa, true, dg(g), false, k, n, m, [g], false) : null,
    ]);
  }
  return out;
}

const dimsX = (s: Shape) => s.join("x");

export function matmul(a0: Tensor, b0: Tensor): Tensor {
  if (!(b0 instanceof Tensor)) throw new TypeError(`matmul(): other must be a Tensor, got ${describeValue(b0)}`);
  backendOf(a0, b0);
  beginOp("matmul");
  const a = requireFloat(a0, "matmul");
  const b = requireFloat(b0, "matmul");
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(`both arguments to matmul need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) {
      throw new RangeError(`inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${b.shape[0]}] to have the same number of elements, but got ${a.shape[0]} and ${b.shape[0]} elements respectively`);
    }
    return reshape(mm(reshape(a, [1, a.shape[0]]), reshape(b, [b.shape[0], 1])), []);
  }
  const k = a.shape[a.ndim - 1];
  const kb = b.ndim === 1 ? b.shape[0] : b.shape[b.ndim - 2];
  if (k !== kb) {
    const sa = a.ndim === 1 ? [1, k] : [numel(a.shape.slice(0, -1)), k];
    const sb = b.ndim === 1 ? [kb, 1] : b.shape.slice(-2);
    throw new RangeError(`mat1 and mat2 shapes cannot be multiplied (${dimsX(sa)} and ${dimsX(sb)})`);
  }
  if (b.ndim <= 2) {
    // [..., m, k] · [k, n]: fold the batch into m.
    const a2 = reshape(a, [numel(a.shape.slice(0, -1)), k]);
    const b2 = b.ndim === 1 ? reshape(b, [k, 1]) : b;
    const out = mm(a2, b2);
    const shape = [...a.shape.slice(0, -1), ...(b.ndim === 1 ? [] : [b.shape[1]])];
    return reshape(out, shape);
  }
  if (a.ndim === b.ndim && a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join()) {
    const [da, db] = [dense(a), dense(b)];
    const out = bmm(da, db);
    doneWith(da, a, out.gradFn !== null);
    doneWith(db, b, out.gradFn !== null);
    return out;
  }
  if (a.ndim === 1) return reshape(matmul(reshape(a, [1, k]), b), [...b.shape.slice(0, -2), b.shape[b.ndim - 1]]);
  throw new RangeError(
    `matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} must be equal (broadcast batch matmul is not supported)`,
  );
}

/** [..., m, k] · [..., k, n] with equal batch dims: one gemm per batch entry. */
function bmm(a: Tensor, b: Tensor): Tensor {
  const m = a.shape[a.ndim - 2];
  const k = a.shape[a.ndim - 1];
  const n = b.shape[b.ndim - 1];
  const batch = numel(a.shape.slice(0, -2));
  const graph = needsGrad(a, b);
  const out = allocateOutput([...a.shape.slice(0, -1), n], [a, b], graph);
  const run = (layout: GemmLayout, x: Tensor, y: Tensor, z: Tensor, M: number, N: number, K: number) => {
    const be = x.backend;
    const lda = layout === GemmLayout.TN ? M : K;
    const ldb = layout === GemmLayout.NT ? K : N;
    for (let i = 0; i < batch; i++) {
      be.kernels.f32_gemm(layout, M, N, K, 1, x.ptr + i * M * K * 4, lda, y.ptr + i * K * N * 4, ldb, 0, z.ptr + i * M * N * 4, N, be.gemmWorkspace);
    }
  };
  run(GemmLayout.NN, a, b, out, m, n, k);
  if (isAnomalyEnabled()) checkForward("Bmm", out, [a, b]);
  if (graph) {
    const sa = new Saved(a, "Bmm");
    const sb = new Saved(b, "Bmm");
    record(out, "Bmm", [a, b], (g) => {
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (a.requiresGrad) { ga = allocateOutput(a.shape, [g], false); run(GemmLayout.NT, g, sb.get(), ga, m, k, n); }
      if (b.requiresGrad) { gb = allocateOutput(b.shape, [g], false); run(GemmLayout.TN, sa.get(), g, gb, k, n, m); }
      return [ga, gb];
    });
  }
  return out;
}
