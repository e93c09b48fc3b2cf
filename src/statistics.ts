// Reductions beyond sum, mean and max: min (all, or along a dim with indices),
// var and std, and softmax / logSoftmax along any dim with one backward each.

import { withoutGrad, Saved } from "./autograd.ts";
import { ReduceOp, UnaryOp } from "./backend/kernels.ts";
import { toFloat } from "./ops/copies.ts";
import { dense, doneWith } from "./ops/views.ts";
import { allocateOutput, backendOf, describeValue, finishOp, needsGrad } from "./graph.ts";
import { normDim, numel } from "./shape.ts";
import type { Tensor } from "./tensor.ts";
import { ValuesIndices } from "./values-indices.ts";

function floatInput(x: Tensor, what: string): Tensor {
  backendOf(x);
  if (x.dtype !== "float32") throw new TypeError(`${what}(): expected a float32 tensor, got ${x.dtype} (call .float() first)`);
  return x;
}

/** x as [outer, size, inner] around dim d. */
function around(x: Tensor, d: number): [number, number, number] {
  return [numel(x.shape.slice(0, d)), x.ndim === 0 ? 1 : x.shape[d], numel(x.shape.slice(d + 1))];
}

function reducedShape(x: Tensor, d: number, keepdim: boolean): number[] {
  if (x.ndim === 0) return [];
  return keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
}

// ---- min -----------------------------------------------------------------------

/** The smallest value (NaN if any is); ties share the gradient evenly, as PyTorch's min() does. */
export function minAll(x0: Tensor): Tensor {
  // int32 is read as float32, as max() does.
  const x = dense(floatInput(toFloat(x0), "min"));
  if (x.numel() === 0) throw new RangeError("min(): Expected reduction dim to be specified for input.numel() == 0.");
  const graph = needsGrad(x);
  const out = allocateOutput([], [x], graph);
  x.backend.kernels.f32_reduce(ReduceOp.Min, x.ptr, out.ptr, 1, x.numel(), 1);
  finishOp(out, "Min", [x], graph, () => {
    const sx = new Saved(x, "Min");
    const so = new Saved(out, "Min");
    return (g) => {
      const mask = sx.get().eq(so.get()).float();
      return [mask.mul(g).div(mask.sum())];
    };
  });
  doneWith(x, x0, graph);
  return out;
}

/** { values, indices } of the minimum along dim (the first one; NaN counts as the minimum), destructurable. */
export function minDim(x0: Tensor, dim: number, keepdim = false): ValuesIndices {
  // int32 is read as float32, as max() does.
  const x = dense(floatInput(toFloat(x0), "min"));
  const d = normDim(dim, x.ndim);
  const [outer, size, inner] = around(x, d);
  if (size === 0) throw new RangeError(`min(): Expected reduction dim ${d} to have non-zero size.`);
  const k = x.backend.kernels;
  const shape = reducedShape(x, d, keepdim);
  const graph = needsGrad(x);
  const values = allocateOutput(shape, [x], graph);
  k.f32_reduce(ReduceOp.Min, x.ptr, values.ptr, outer, size, inner);
  // The first minimum of x is the first maximum of −x, NaN included.
  const negated = allocateOutput(x.shape, [x], false);
  k.f32_unary(UnaryOp.Neg, x.ptr, negated.ptr, x.numel());
  const indices = allocateOutput(shape, [x], false, "int32");
  k.f32_argmax(negated.ptr, indices.ptr, outer, size, inner);
  negated.dispose();
  finishOp(values, "Min", [x], graph, () => {
    const si = new Saved(indices, "Min");
    const inShape = [...x.shape];
    return (g) => {
      const dx = allocateOutput(inShape, [g], false);
      k.f32_fill(dx.ptr, dx.numel(), 0);
      k.f32_scatter_add_axis(g.ptr, si.get().ptr, dx.ptr, outer, size, inner);
      return [dx];
    };
  });
  doneWith(x, x0, graph);
  return new ValuesIndices(values, indices);
}

/** Index of the first minimum (NaN counts as the minimum), over everything or along dim; int32. */
export function argmin(x0: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const x = dense(floatInput(toFloat(x0), "argmin"));
  const be = x.backend;
  const whole = dim === undefined;
  if (whole && x.numel() === 0) throw new RangeError("argmin(): Expected reduction dim to be specified for input.numel() == 0.");
  const d = whole ? 0 : normDim(dim, x.ndim);
  const [outer, size, inner] = whole ? [1, x.numel(), 1] : around(x, d);
  if (size === 0) throw new RangeError(`argmin(): Expected reduction dim ${d} to have non-zero size.`);
  const shape = whole ? (keepdim ? x.shape.map(() => 1) : []) : reducedShape(x, d, keepdim);
  const negated = allocateOutput(x.shape, [x], false);
  be.kernels.f32_unary(UnaryOp.Neg, x.ptr, negated.ptr, x.numel());
  const out = allocateOutput(shape, [x], false, "int32");
  be.kernels.f32_argmax(negated.ptr, out.ptr, outer, size, inner);
  negated.dispose();
  doneWith(x, x0, false);
  return out;
}

// ---- var and std ---------------------------------------------------------------

export interface VarOptions {
  /** Divide by N − 1 (true, the default, as in PyTorch 1.13) or by N. */
  unbiased?: boolean;
  /** Divide by N − correction (PyTorch's newer spelling; 1 by default). */
  correction?: number;
  keepdim?: boolean;
}

type DimArg = number | number[] | null | undefined;

/** Sorts out var(dim?, keepdim?, opts?) and var(opts). */
export function varArgs(what: string, dim: DimArg | VarOptions, keepdim: boolean | VarOptions | undefined, opts: VarOptions | undefined):
  { dim: DimArg; keepdim: boolean; correction: number } {
  if (dim !== null && typeof dim === "object" && !Array.isArray(dim)) [dim, opts] = [undefined, dim];
  if (keepdim !== null && typeof keepdim === "object") [keepdim, opts] = [undefined, keepdim];
  const o = opts ?? {};
  if (o.unbiased !== undefined && o.correction !== undefined) {
    throw new TypeError(`${what}(): pass unbiased or correction, not both`);
  }
  if (o.unbiased !== undefined && typeof o.unbiased !== "boolean") {
    throw new TypeError(`${what}(): unbiased must be true or false, got ${describeValue(o.unbiased)}`);
  }
  const correction = o.correction ?? (o.unbiased === false ? 0 : 1);
  if (typeof correction !== "number" || !Number.isFinite(correction)) {
    throw new TypeError(`${what}(): correction must be a finite number, got ${describeValue(correction)}`);
  }
  return { dim: dim as DimArg, keepdim: Boolean(keepdim ?? o.keepdim ?? false), correction };
}

/**
 * Σ(x − mean)² / (N − correction) over dim (all dims by default). N ≤
 * correction divides by 0, giving inf or NaN, as in PyTorch.
 */
export function variance(x0: Tensor, dim: DimArg, keepdim: boolean, correction: number): Tensor {
  const x = floatInput(x0, "var");
  const dims = dim === undefined || dim === null ? x.shape.map((_, i) => i) : (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(d, x.ndim));
  const count = dims.reduce((n, d) => n * (x.ndim === 0 ? 1 : x.shape[d]), 1);
  const centred = x.sub(x.mean(dim, true));
  return centred.square().sum(dim, keepdim).div(Math.max(0, count - correction));
}

export function std(x: Tensor, dim: DimArg, keepdim: boolean, correction: number): Tensor {
  return variance(x, dim, keepdim, correction).sqrt();
}

// ---- softmax and logSoftmax ----------------------------------------------------

/**
 * softmax (or log-softmax) along dim, computed from x − max for stability,
 * as one node: its backward is y·(g − Σg·y) (softmax) or g − e^y·Σg (log).
 */
function softmaxAlong(x0: Tensor, dim: number, log: boolean): Tensor {
  const name = log ? "LogSoftmax" : "Softmax";
  const what = log ? "logSoftmax" : "softmax";
  if (typeof dim !== "number") throw new TypeError(`${what}(): dim must be a number, got ${describeValue(dim)}`);
  const x = dense(floatInput(x0, what));
  const d = normDim(dim, x.ndim);
  const [outer, size, inner] = around(x, d);
  const graph = needsGrad(x);
  const keptShape = x.ndim === 0 ? [] : x.shape.map((s, i) => (i === d ? 1 : s));
  const out = withoutGrad(() => {
    const top = allocateOutput(keptShape, [x], false);
    if (x.numel() > 0) x.backend.kernels.f32_reduce(ReduceOp.Max, x.ptr, top.ptr, outer, size, inner);
    const shifted = x.sub(top);
    const exps = shifted.exp();
    const sums = exps.sum(d, true);
    let y: Tensor;
    if (log) {
      const logSums = sums.log();
      y = shifted.sub(logSums);
      logSums.dispose();
    } else y = exps.div(sums);
    for (const t of [top, shifted, exps, sums]) t.dispose();
    return y;
  });
  finishOp(out, name, [x], graph, () => {
    out.storage.markStepScoped();
    const so = new Saved(out, name);
    return (g) => {
      const y = so.get();
      if (log) return [g.sub(y.exp().mul(g.sum(d, true)))];
      return [y.mul(g.sub(g.mul(y).sum(d, true)))];
    };
  });
  doneWith(x, x0, graph);
  return out;
}

export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxAlong(x, dim, false);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxAlong(x, dim, true);
}
