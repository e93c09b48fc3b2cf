// Indexing and joining: index_select, gather, masked_fill, masked_select,
// where, cat and stack. Each checks its arguments (indices included, by one
// kernel pass, so that a bad index is an error rather than a stray read or
// write), calls one kernel in assembly/indexing.ts and records a backward
// built from the matching scatter kernel.

import { withoutGrad, Saved } from "../autograd.ts";
import { backendOf, describeValue, needsGrad, record, allocateOutput } from "../graph.ts";
import { broadcastShapes, fmt, normDim, numel } from "../shape.ts";
import type { DType, Tensor } from "../tensor.ts";
import { requireFloat, zerosOf } from "./copies.ts";
import { copyStrided, dense, doneWith, expand, narrow, unsqueeze } from "./views.ts";

function checkIndex(what: string, index: unknown, x: Tensor): Tensor {
  if (typeof index !== "object" || index === null || !("dtype" in index)) {
    throw new TypeError(`${what}(): index must be an int32 Tensor, got ${describeValue(index)}`);
  }
  const idx = index as Tensor;
  backendOf(x, idx);
  if (idx.dtype !== "int32") throw new TypeError(`${what}(): Expected dtype int32 for index, got ${idx.dtype}`);
  return dense(idx);
}

/** Throws PyTorch's error for the first index outside [0, size). */
function checkRange(what: string, idx: Tensor, size: number, dim: number): void {
  const bad = idx.backend.kernels.i32_check_range(idx.ptr, idx.numel(), size);
  if (bad >= 0) {
    const v = idx.backend.heap.i32[(idx.ptr >>> 2) + bad];
    throw new RangeError(`${what}(): index ${v} is out of bounds for dimension ${dim} with size ${size}`);
  }
}

function checkMask(what: string, mask: unknown, x: Tensor): Tensor {
  if (typeof mask !== "object" || mask === null || !("dtype" in mask)) {
    throw new TypeError(`${what}(): mask must be a bool Tensor, got ${describeValue(mask)}`);
  }
  const m = mask as Tensor;
  backendOf(x, m);
  if (m.dtype !== "bool") throw new TypeError(`${what} only supports boolean masks, but got mask with dtype ${m.dtype} (compare, e.g. x.gt(0), or call .bool())`);
  return m;
}

/** x (any dtype, any strides) broadcast to shape and laid out densely; the gradient sums back. */
function denseAs(x: Tensor, shape: number[]): Tensor {
  return x.shape.join() === shape.join() ? dense(x) : dense(expand(x, shape));
}

export function indexSelect(x0: Tensor, dim: number, index: Tensor): Tensor {
  const idx = checkIndex("indexSelect", index, x0);
  if (idx.ndim > 1) throw new RangeError(`indexSelect(): Index is supposed to be a vector, got shape ${fmt(idx.shape)}`);
  const x = dense(x0);
  const d = x.ndim === 0 ? 0 : normDim(dim, x.ndim);
  const shape = x.ndim === 0 ? [] : [...x.shape];
  const size = x.ndim === 0 ? 1 : shape[d];
  checkRange("indexSelect", idx, size, d);
  const nidx = idx.numel();
  if (x.ndim > 0) shape[d] = nidx;
  const outer = numel(x.shape.slice(0, d));
  const inner = numel(x.shape.slice(d + 1));
  const graph = needsGrad(x);
  const out = allocateOutput(shape, [x, idx], graph, x.dtype);
  if (out.numel() > 0) x.backend.kernels.f32_index_select(x.ptr, idx.ptr, out.ptr, outer, size, inner, nidx);
  if (graph) {
    const si = new Saved(idx, "IndexSelect");
    record(out, "IndexSelect", [x], (g) => {
      const dx = zerosOf([...x.shape], g);
      if (g.numel() > 0) g.backend.kernels.f32_index_add(g.ptr, si.get().ptr, dx.ptr, outer, size, inner, nidx);
      return [dx];
    });
  }
  doneWith(x, x0, graph);
  doneWith(idx, index, graph);
  return out;
}

export function gather(x0: Tensor, dim: number, index: Tensor): Tensor {
  const idx = checkIndex("gather", index, x0);
  if (idx.ndim !== x0.ndim && !(x0.ndim <= 1 && idx.ndim <= 1)) {
    throw new RangeError(`gather(): Index tensor must have the same number of dimensions as input tensor (${idx.ndim} and ${x0.ndim})`);
  }
  const d = x0.ndim === 0 ? 0 : normDim(dim, x0.ndim);
  // x's other dims cut to the index's (PyTorch allows the index to be smaller there).
  let xs = x0;
  for (let k = 0; k < x0.ndim; k++) {
    if (k === d) continue;
    if (idx.shape[k] > x0.shape[k]) {
      throw new RangeError(`gather(): Size does not match at dimension ${k} expected index ${fmt(idx.shape)} to be smaller than self ${fmt(x0.shape)} apart from dimension ${d}`);
    }
    if (idx.shape[k] < x0.shape[k]) xs = narrow(xs, k, 0, idx.shape[k]);
  }
  const x = dense(xs);
  const size = x.ndim === 0 ? 1 : x.shape[d];
  checkRange("gather", idx, size, d);
  const outer = numel(idx.shape.slice(0, d));
  const isize = idx.ndim === 0 ? 1 : idx.shape[d];
  const inner = numel(idx.shape.slice(d + 1));
  const graph = needsGrad(x);
  const out = allocateOutput([...idx.shape], [x, idx], graph, x.dtype);
  if (out.numel() > 0) x.backend.kernels.f32_gather(x.ptr, idx.ptr, out.ptr, outer, size, inner, isize);
  if (graph) {
    const si = new Saved(idx, "Gather");
    record(out, "Gather", [x], (g) => {
      const dx = zerosOf([...x.shape], g);
      if (g.numel() > 0) g.backend.kernels.f32_scatter_add(g.ptr, si.get().ptr, dx.ptr, outer, size, inner, isize);
      return [dx];
    });
  }
  doneWith(x, x0, graph);
  doneWith(idx, index, graph);
  return out;
}

/** dense ← value where mask (broadcast to its shape) is true, in place. */
export function maskedFillInto(target: Tensor, mask: Tensor, value: number): void {
  const m = denseAs(checkMask("maskedFill_", mask, target), [...target.shape]);
  fillKernel(target, m, target, value);
  doneWith(m, mask, false);
}

function fillKernel(x: Tensor, mask: Tensor, out: Tensor, value: number): void {
  if (typeof value !== "number") throw new TypeError(`maskedFill(): value must be a number, got ${describeValue(value)}`);
  const k = x.backend.kernels;
  if (x.dtype !== "int32") {
    k.f32_masked_fill(x.ptr, requireFloat(mask).ptr, out.ptr, x.numel(), x.dtype === "bool" ? Number(value !== 0) : value);
    return;
  }
  // int32 bits cannot pass as an f32 argument (a NaN's payload may not survive): select from a filled block.
  const filled = allocateOutput(x.shape, [x], false, "int32");
  x.backend.heap.i32.fill(value | 0, filled.ptr >>> 2, (filled.ptr >>> 2) + filled.numel());
  k.f32_where(mask.ptr, filled.ptr, x.ptr, out.ptr, x.numel());
  filled.storage.release("it was an internal temporary");
}

export function maskedFill(x0: Tensor, mask: Tensor, value: number): Tensor {
  const x = dense(x0);
  const m = denseAs(checkMask("maskedFill", mask, x0), [...x.shape]);
  const graph = needsGrad(x);
  const out = allocateOutput(x.shape, [x, m], graph, x.dtype);
  fillKernel(x, m, out, value);
  if (graph) {
    const sm = new Saved(m, "MaskedFill");
    record(out, "MaskedFill", [x], (g) => {
      const dx = allocateOutput(x.shape, [g], false);
      g.backend.kernels.f32_masked_fill(g.ptr, sm.get().ptr, dx.ptr, g.numel(), 0);
      return [dx];
    });
  }
  doneWith(x, x0, graph);
  doneWith(m, mask, graph);
  return out;
}

export function maskedSelect(x0: Tensor, mask: Tensor): Tensor {
  const m0 = checkMask("maskedSelect", mask, x0);
  const shape = broadcastShapes(x0.shape, m0.shape);
  const x = denseAs(x0, shape);
  const m = denseAs(m0, shape);
  const k = x.backend.kernels;
  const count = k.f32_count_nonzero(m.ptr, m.numel());
  const graph = needsGrad(x);
  const out = allocateOutput([count], [x, m], graph, x.dtype);
  k.f32_masked_select(x.ptr, m.ptr, out.ptr, x.numel());
  if (graph) {
    const sm = new Saved(m, "MaskedSelect");
    record(out, "MaskedSelect", [x], (g) => {
      const dx = allocateOutput(shape, [g], false);
      g.backend.kernels.f32_masked_scatter(g.ptr, sm.get().ptr, dx.ptr, dx.numel());
      return [dx];
    });
  }
  doneWith(x, x0, graph);
  doneWith(m, m0, graph);
  return out;
}

/** PyTorch's promotion for these ops: equal dtypes stay, anything with float32 (or a number) is float32. */
function joinDtype(dtypes: DType[]): DType {
  return dtypes.every((t) => t === dtypes[0]) ? dtypes[0] : "float32";
}

function asType(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : requireFloat(x);
}

/** cond ? a : b elementwise, with broadcasting; a and b may be numbers. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const c0 = checkMask("where", cond, cond);
  const ts = [a, b].filter((v): v is Tensor => typeof v !== "number");
  for (const v of [a, b]) {
    if (typeof v !== "number" && (typeof v !== "object" || v === null || !("dtype" in v))) {
      throw new TypeError(`where(): expected a Tensor or a number, got ${describeValue(v)}`);
    }
  }
  backendOf(c0, ...ts);
  const dtype = typeof a === "number" || typeof b === "number" ? "float32" : joinDtype([a.dtype, b.dtype]);
  const scalar = (v: number): Tensor => {
    const s = allocateOutput([], [c0], false);
    s.backend.kernels.f32_fill(s.ptr, 1, v);
    return s;
  };
  const ta = typeof a === "number" ? scalar(a) : asType(a, dtype);
  const tb = typeof b === "number" ? scalar(b) : asType(b, dtype);
  const shape = broadcastShapes(broadcastShapes(c0.shape, ta.shape), tb.shape);
  const c = denseAs(c0, shape);
  const da = denseAs(ta, shape);
  const db = denseAs(tb, shape);
  const graph = needsGrad(da, db);
  const out = allocateOutput(shape, [c, da, db], graph, dtype);
  const k = c.backend.kernels;
  k.f32_where(c.ptr, da.ptr, db.ptr, out.ptr, out.numel());
  if (graph) {
    const sc = new Saved(c, "Where");
    record(out, "Where", [da, db], (g) => {
      const pick = (first: boolean): Tensor => {
        const zero = zerosOf(shape, g);
        const dx = allocateOutput(shape, [g], false);
        k.f32_where(sc.get().ptr, first ? g.ptr : zero.ptr, first ? zero.ptr : g.ptr, dx.ptr, dx.numel());
        zero.storage.release("it was an internal temporary");
        return dx;
      };
      return [da.requiresGrad ? pick(true) : null, db.requiresGrad ? pick(false) : null];
    });
  }
  doneWith(c, c0, graph);
  doneWith(da, ta, graph);
  doneWith(db, tb, graph);
  if (typeof a === "number" && da.storage !== ta.storage) ta.storage.release("it was an internal temporary");
  if (typeof b === "number" && db.storage !== tb.storage) tb.storage.release("it was an internal temporary");
  return out;
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors)) throw new TypeError(`cat(): expected an array of Tensors, got ${describeValue(tensors)}`);
  if (tensors.length === 0) throw new RangeError("cat(): expected a non-empty list of Tensors");
  backendOf(...tensors);
  const first = tensors[0];
  if (first.ndim === 0) throw new RangeError("cat(): zero-dimensional tensor (at position 0) cannot be concatenated");
  const d = normDim(dim, first.ndim);
  tensors.forEach((t, i) => {
    const same = t.ndim === first.ndim && t.shape.every((s: number, k: number) => k === d || s === first.shape[k]);
    if (!same) {
      throw new RangeError(`cat(): Sizes of tensors must match except in dimension ${d}. Expected ${fmt(first.shape)} (but any size at dim ${d}), got ${fmt(t.shape)} for tensor number ${i} in the list.`);
    }
  });
  const dtype = joinDtype(tensors.map((t) => t.dtype));
  const parts = tensors.map((t) => asType(t, dtype));
  const shape = [...first.shape];
  shape[d] = parts.reduce((acc, t) => acc + t.shape[d], 0);
  const graph = needsGrad(...parts);
  const out = allocateOutput(shape, parts, graph, dtype);
  const offsets: number[] = [];
  let at = 0;
  withoutGrad(() => {
    for (const t of parts) {
      offsets.push(at);
      copyStrided(narrow(out, d, at, t.shape[d]), t);
      at += t.shape[d];
    }
  });
  parts.forEach((t, i) => doneWith(t, tensors[i], false));
  if (graph) {
    record(out, "Cat", parts, (g) =>
      parts.map((t, i) => (t.requiresGrad ? dense(narrow(g, d, offsets[i], t.shape[d])) : null)));
  }
  return out;
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors)) throw new TypeError(`stack(): expected an array of Tensors, got ${describeValue(tensors)}`);
  if (tensors.length === 0) throw new RangeError("stack expects a non-empty TensorList");
  backendOf(...tensors);
  tensors.forEach((t, i) => {
    if (t.shape.join() !== tensors[0].shape.join()) {
      throw new RangeError(`stack expects each tensor to be equal size, but got ${fmt(tensors[0].shape)} at entry 0 and ${fmt(t.shape)} at entry ${i}`);
    }
  });
  const d = normDim(dim, tensors[0].ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}
