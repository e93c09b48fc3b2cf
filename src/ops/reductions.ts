// Reductions: sum and mean (and sumTo, which undoes broadcasting), max, argmax
// and the 1- and 2-norms, over all elements or along dims. Each axis is one
// reduction kernel call; min, var, std and softmax are in statistics.ts.

import { Saved } from "../autograd.ts";
import { ReduceOp, UnaryOp } from "../backend/kernels.ts";
import { allocateOutput, finishOp, needsGrad, saveWith } from "../graph.ts";
import { normDim, numel, type Shape } from "../shape.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { ValuesIndices } from "../values-indices.ts";
import { clone, expand, floatDense, requireFloat } from "./copies.ts";
import { doneWith, reshape } from "./views.ts";

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

/** Frees an internal temporary now rather than at the next step boundary. */
function drop(t: Tensor): void {
  if (t.storage.isStepScoped && t.gradFn === null) t.storage.release("it was an internal temporary");
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
  const x = floatDense(x0);
  const dims = reduceDims(x, dim);
  const graph = needsGrad(x);
  const raw = reduceRaw(x, kind === "sum" ? ReduceOp.Sum : ReduceOp.Mean, dims);
  const out = new Tensor(raw.storage, finalShape(x.shape, dims, keepdim), "float32");
  finishOp(out, kind === "sum" ? "Sum" : "Mean", [x], graph, () => {
    const count = dims.reduce((acc, d) => acc * x.shape[d], 1);
    const inShape = [...x.shape];
    const kShape = keptShape(x.shape, dims);
    return (g) => {
      const e = expand(reshape(g, kShape), inShape);
      return [kind === "sum" ? e : e.mul(1 / count)];
    };
  });
  doneWith(x, x0, graph);
  return out;
}

/** sum() of a bool tensor counts its true values, as int32 (PyTorch: int64); mean() refuses, as PyTorch does. */
function countTrue(x: Tensor, kind: "sum" | "mean", dim: number | number[] | null | undefined, keepdim: boolean): Tensor {
  if (kind === "mean") {
    throw new TypeError("mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Bool (call .float() first)");
  }
  const counts = reduce(requireFloat(x), "sum", dim, keepdim);
  const out = allocateOutput(counts.shape, [counts], false, "int32");
  out.backend.kernels.f32_to_i32(counts.ptr, out.ptr, out.numel());
  counts.storage.release("it was an internal temporary");
  return out;
}

export function maxAll(x0: Tensor): Tensor {
  const x = floatDense(x0);
  if (x.numel() === 0) throw new RangeError("max(): Expected reduction dim to be specified for input.numel() == 0.");
  const graph = needsGrad(x);
  const raw = reduceRaw(x, ReduceOp.Max, reduceDims(x, null));
  const out = new Tensor(raw.storage, [], "float32");
  finishOp(out, "Max", [x], graph, () => {
    const sx = new Saved(x, "Max");
    const so = new Saved(out, "Max");
    return (g) => {
      // Ties share the gradient evenly, as PyTorch's max() does.
      const mask = sx.get().eq(so.get());
      return [mask.mul(g).div(mask.sum())];
    };
  });
  doneWith(x, x0, graph);
  return out;
}

export function argmax(x0: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const x = floatDense(x0);
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
  const x = floatDense(x0);
  const d = normDim(dim, x.ndim);
  // The kernel would answer −∞ for an empty reduction: PyTorch refuses, and so do we.
  if (x.ndim > 0 && x.shape[d] === 0) throw new RangeError(`max(): Expected reduction dim ${d} to have non-zero size.`);
  const graph = needsGrad(x);
  const raw = reduceRaw(x, ReduceOp.Max, [d]);
  const values = new Tensor(raw.storage, finalShape(x.shape, [d], keepdim), "float32");
  const indices = argmax(x, d, keepdim);
  finishOp(values, "Max", [x], graph, () => {
    const outer = numel(x.shape.slice(0, d));
    const inner = numel(x.shape.slice(d + 1));
    const inShape = [...x.shape];
    const si = new Saved(indices, "Max");
    return (g) => {
      const dx = allocateOutput(inShape, [g], false);
      const k = x.backend.kernels;
      k.f32_fill(dx.ptr, dx.numel(), 0);
      k.f32_scatter_add_axis(g.ptr, si.get().ptr, dx.ptr, outer, inShape[d], inner);
      return [dx];
    };
  });
  if (graph) saveWith(values, indices.storage);
  doneWith(x, x0, graph);
  return new ValuesIndices(values, indices);
}

export function norm(x0: Tensor, p: 1 | 2, dim: number | number[] | null | undefined, keepdim: boolean): Tensor {
  if (p !== 1 && p !== 2) throw new RangeError(`norm(): only p = 1 and p = 2 are supported, got ${p}`);
  const x = floatDense(x0);
  const dims = reduceDims(x, dim);
  const graph = needsGrad(x);
  const raw = reduceRaw(x, p === 2 ? ReduceOp.SumSquares : ReduceOp.SumAbs, dims);
  if (p === 2) x.backend.kernels.f32_unary(UnaryOp.Sqrt, raw.ptr, raw.ptr, raw.numel());
  const out = new Tensor(raw.storage, finalShape(x.shape, dims, keepdim), "float32");
  finishOp(out, "Norm", [x], graph, () => {
    const sx = new Saved(x, "Norm");
    const sr = new Saved(raw, "Norm");
    const kShape = keptShape(x.shape, dims);
    const inShape = [...x.shape];
    return (g) => {
      const ge = expand(reshape(g, kShape), inShape);
      // The subgradient at a zero norm is 0, as in PyTorch (not 0/0).
      if (p === 1) return [ge.mul(sx.get().sign())];
      return [ge.mul(sx.get()).div(expand(sr.get(), inShape).maximum(1e-38))];
    };
  });
  doneWith(x, x0, graph);
  return out;
}
