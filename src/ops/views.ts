// Views: tensors that share their base's storage, with their own shape,
// strides and element offset. Making one copies nothing; an in-place write
// through one changes the base (and bumps the storage's version, which the
// base's saved copies check in backward). Kernels read dense blocks, so an op
// handed a strided view takes dense(x) first: a copy only when x is not
// contiguous. matmul and linear instead read transposed views as NT / TN GEMMs.

import { MAX_DIMS } from "../backend/backend.ts";
import { withoutGrad } from "../autograd.ts";
import { sumTo } from "./reductions.ts";
import { needsGrad, record, allocateOutput } from "../graph.ts";
import { fmt, inferShape, normDim, stridesOf, type Shape } from "../shape.ts";
import { Tensor } from "../tensor.ts";

export function checkDims(shape: Shape): void {
  if (shape.length > MAX_DIMS) throw new RangeError(`tensors may have at most ${MAX_DIMS} dimensions, got ${shape.length}`);
}

/** A view of x; `back` maps the view's gradient to x's (dense, x's shape). */
function makeView(x: Tensor, name: string, shape: number[], strides: number[], offset: number, back: (g: Tensor) => Tensor): Tensor {
  checkDims(shape);
  const out = new Tensor(x.storage, shape, x.dtype, strides, offset);
  if (needsGrad(x)) record(out, name, [x], (g) => [back(g)]);
  return out;
}

/** Writes the meta block a strided kernel reads: the lists one after another, as i32. */
export function writeMeta(x: Tensor, ...lists: (readonly number[])[]): number {
  const be = x.backend;
  be.heap.i32.set(lists.flat(), be.metaScratch >>> 2);
  return be.metaScratch;
}

/** x itself when contiguous, else a contiguous copy; the gradient passes through unchanged. */
export function dense(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  checkDims(x.shape);
  const out = allocateOutput(x.shape, [x], needsGrad(x), x.dtype);
  x.backend.kernels.f32_strided_copy(x.dataPtr, out.ptr, x.ndim, writeMeta(x, x.shape, x.strides));
  if (needsGrad(x)) record(out, "Contiguous", [x], (g) => [g]);
  return out;
}

/**
 * An op is done with `tmp`, a copy of `orig` it made to read densely: freed
 * now, or at a step boundary when the op recorded a backward that may read it.
 * (Nothing else would free it before the garbage collector: a loop of such
 * ops under noGrad would otherwise grow the heap.)
 */
export function doneWith(tmp: Tensor, orig: Tensor, graph: boolean): void {
  if (tmp.storage === orig.storage) return;
  if (graph || tmp.gradFn !== null) tmp.storage.markStepScoped();
  else tmp.storage.release("it was an internal temporary");
}

/** dst (any strides) ← src (any strides, broadcast to dst's shape), elementwise, same dtype bits. */
export function copyStrided(dst: Tensor, src: Tensor): void {
  if (dst.numel() === 0) return;
  const strides = broadcastViewStrides(src, dst.shape);
  dst.backend.kernels.f32_copy_strided(src.dataPtr, dst.dataPtr, dst.ndim, writeMeta(dst, dst.shape, strides, dst.strides));
}

/** Strides that read the view x (right-aligned) as `target`: 0 on broadcast dims. */
export function broadcastViewStrides(x: Tensor, target: Shape): number[] {
  const off = target.length - x.ndim;
  return target.map((_, i) => (i < off || x.shape[i - off] === 1 ? 0 : x.strides[i - off]));
}

/**
 * Runs `write` on t when it is contiguous, else on a dense copy that is then
 * copied back through t's strides. An expanded view (two elements on one
 * address) cannot be written, as in PyTorch.
 */
export function writeThrough(t: Tensor, what: string, write: (dense: Tensor) => void): void {
  if (t.isContiguous()) return write(t);
  if (t.shape.some((size, i) => size > 1 && t.strides[i] === 0)) {
    throw new RangeError(
      `unsupported operation (${what}): more than one element of the written-to tensor refers to a single memory location. ` +
        "Please clone() the tensor before performing the operation.",
    );
  }
  withoutGrad(() => {
    const tmp = dense(t);
    write(tmp);
    copyStrided(t, tmp);
    tmp.storage.release("it was an internal temporary");
  });
}

/** Strides for x's elements read as `shape`, or null when they do not exist (PyTorch's computeStride). */
function viewStrides(x: Tensor, shape: number[]): number[] | null {
  if (x.isContiguous()) return stridesOf(shape);
  const old = x.shape;
  const oldStrides = x.strides;
  const out = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[old.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = old.length - 1; d >= 0; d--) {
    tensorNumel *= old[d];
    if (d === 0 || (old[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

function resolveShape(x: Tensor, request: number[]): number[] {
  return inferShape(request, x.numel(), x.shape);
}

export function view(x: Tensor, request: number[]): Tensor {
  const shape = resolveShape(x, request);
  const strides = viewStrides(x, shape);
  if (!strides) {
    throw new RangeError(
      "view size is not compatible with input tensor's size and stride (at least one dimension spans across two " +
        "contiguous subspaces). Use .reshape(...) instead.",
    );
  }
  const from = [...x.shape];
  return makeView(x, "View", shape, strides, x.offset, (g) => reshape(g, from));
}

export function reshape(x: Tensor, request: number[]): Tensor {
  const shape = resolveShape(x, request);
  return viewStrides(x, shape) ? view(x, shape) : view(dense(x), shape);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  const nd = x.ndim;
  const perm = dims.map((d) => normDim(d, nd));
  if (perm.length !== nd || new Set(perm).size !== nd) {
    throw new RangeError(`permute(): dims [${dims.join(", ")}] are not a permutation of the ${nd} dimensions of ${fmt(x.shape)}`);
  }
  const inverse = new Array<number>(nd);
  perm.forEach((d, i) => (inverse[d] = i));
  return makeView(x, "Permute", perm.map((d) => x.shape[d]), perm.map((d) => x.strides[d]), x.offset,
    (g) => dense(permute(g, inverse)));
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim === 0) return x;
  const perm = x.shape.map((_, i) => i);
  const a = normDim(dim0, x.ndim);
  const b = normDim(dim1, x.ndim);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

export function t(x: Tensor): Tensor {
  if (x.ndim > 2) throw new RangeError(`t() expects a tensor with <= 2 dimensions, but self is ${x.ndim}D`);
  return x.ndim < 2 ? x : permute(x, [1, 0]);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim + 1);
  const stride = d < x.ndim ? x.strides[d] * x.shape[d] : 1;
  const from = [...x.shape];
  return makeView(x, "Unsqueeze", [...x.shape.slice(0, d), 1, ...x.shape.slice(d)],
    [...x.strides.slice(0, d), stride, ...x.strides.slice(d)], x.offset, (g) => reshape(g, from));
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  const drop = dim === undefined ? x.shape.map((s) => s === 1) : x.shape.map((s, i) => i === normDim(dim, x.ndim) && s === 1);
  if (!drop.includes(true)) return x;
  const from = [...x.shape];
  return makeView(x, "Squeeze", x.shape.filter((_, i) => !drop[i]), x.strides.filter((_, i) => !drop[i]), x.offset,
    (g) => reshape(g, from));
}

/** Zeros of x's shape with g written into the part the view `part` picks out of it. */
function embed(x: Tensor, g: Tensor, part: (base: Tensor) => Tensor): Tensor {
  const dx = allocateOutput(x.shape, [g], false);
  dx.backend.kernels.f32_fill(dx.ptr, dx.numel(), 0);
  copyStrided(withoutGrad(() => part(dx)), g);
  return dx;
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  if (x.ndim === 0) throw new RangeError("narrow() cannot be applied to a 0-dim tensor.");
  const d = normDim(dim, x.ndim);
  const size = x.shape[d];
  if (!Number.isInteger(start) || start < -size || start > size) {
    throw new RangeError(`start out of range (expected to be in range of [${-size}, ${size}], but got ${start})`);
  }
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(length) || length < 0 || s + length > size) {
    throw new RangeError(`start (${s}) + length (${length}) exceeds dimension size (${size}).`);
  }
  const shape = [...x.shape];
  shape[d] = length;
  return makeView(x, "Narrow", shape, [...x.strides], x.offset + s * x.strides[d],
    (g) => embed(x, g, (base) => narrow(base, d, s, length)));
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  if (x.ndim === 0) throw new RangeError("select() cannot be applied to a 0-dim tensor.");
  const d = normDim(dim, x.ndim);
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(`select(): index ${index} out of range for tensor of size ${fmt(x.shape)} at dimension ${d}`);
  }
  const i = index < 0 ? index + size : index;
  return makeView(x, "Select", x.shape.filter((_, k) => k !== d), x.strides.filter((_, k) => k !== d),
    x.offset + i * x.strides[d], (g) => embed(x, g, (base) => select(base, d, i)));
}

export function expand(x: Tensor, sizes: number[]): Tensor {
  if (sizes.length < x.ndim) {
    throw new RangeError(`expand(${fmt(x.shape)}, size=${fmt(sizes)}): the number of sizes provided (${sizes.length}) must be greater or equal to the number of dimensions in the tensor (${x.ndim})`);
  }
  const lead = sizes.length - x.ndim;
  const shape: number[] = [];
  const strides: number[] = [];
  sizes.forEach((want, i) => {
    const own = i < lead ? -1 : x.shape[i - lead];
    if (i < lead && want < 0) throw new RangeError(`expand: the expanded size of the tensor (${want}) isn't allowed in a leading, non-existing dimension ${i}`);
    const size = want === -1 && own >= 0 ? own : want;
    if (!Number.isInteger(size) || size < 0 || (own >= 0 && own !== 1 && own !== size)) {
      throw new RangeError(`The expanded size of the tensor (${want}) must match the existing size (${own}) at non-singleton dimension ${i}.  Target sizes: ${fmt(sizes)}.  Tensor sizes: ${fmt(x.shape)}`);
    }
    shape.push(size);
    strides.push(own === size ? x.strides[i - lead] : 0);
  });
  const from = [...x.shape];
  return makeView(x, "Expand", shape, strides, x.offset, (g) => sumTo(dense(g), from));
}

export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim: number): Tensor[] {
  const d = normDim(dim, x.ndim);
  const total = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSizes === "number") {
    if (!Number.isInteger(sizeOrSizes) || sizeOrSizes <= 0) throw new RangeError(`split expects split_size be positive, but got split_size=${sizeOrSizes}`);
    sizes = [];
    for (let at = 0; at < total || (total === 0 && sizes.length === 0); at += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, total - at));
  } else {
    sizes = [...sizeOrSizes];
    if (sizes.reduce((a, b) => a + b, 0) !== total) {
      throw new RangeError(`split_with_sizes expects split_sizes to sum exactly to ${total} (input tensor's size at dimension ${d}), but got split_sizes=${fmt(sizes)}`);
    }
  }
  let at = 0;
  return sizes.map((n) => {
    const piece = narrow(x, d, at, n);
    at += n;
    return piece;
  });
}

export function chunk(x: Tensor, chunks: number, dim: number): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new RangeError(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
  const size = x.shape[normDim(dim, x.ndim)];
  return split(x, Math.max(1, Math.ceil(size / chunks)), dim);
}
