// Datasets: what a DataLoader iterates. A dataset is indexable (`length`,
// `get(i)`), like torch.utils.data.Dataset; one that can also gather a whole
// batch at once (`getBatch`) lets the loader skip building it item by item.

import type { Backend } from "../backend/backend.ts";
import { describeValue } from "../graph.ts";
import { fmt, numel } from "../shape.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";

export interface Dataset<T extends readonly Tensor[] = Tensor[]> {
  readonly length: number;
  /** Item `index` (0 ≤ index < length) as tensors you own. */
  get(index: number): T;
  /**
   * The items at `indices` stacked along a new first dimension, in one go.
   * The tensors are step-scoped, like every batch a DataLoader yields.
   */
  getBatch?(indices: Int32Array): T;
}

/** A maximal run of consecutive row indices, [start, end). */
export type RowRun = readonly [start: number, end: number];

/**
 * Splits batch indices into runs of consecutive rows, so that an unshuffled
 * batch is copied with one memcpy instead of one per row. Checks every index.
 */
export function rowRuns(indices: ArrayLike<number>, length: number): RowRun[] {
  const runs: RowRun[] = [];
  let start = -1;
  let end = -1;
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k]!;
    checkIndex(index, length);
    if (index === end) {
      end++;
      continue;
    }
    if (start !== -1) runs.push([start, end]);
    start = index;
    end = index + 1;
  }
  if (start !== -1) runs.push([start, end]);
  return runs;
}

export function checkIndex(index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`index ${index} is out of range for a dataset of ${length} items`);
  }
}

/**
 * Copies the rows in `runs` of `source` (rows along its first dimension, which
 * are contiguous) into a new tensor of `shape` on the same backend.
 */
export function gatherRows(source: Tensor, runs: readonly RowRun[], shape: readonly number[], stepScoped: boolean): Tensor {
  const rowBytes = numel(source.shape.slice(1)) * 4;
  beginOp(stepScoped ? "a DataLoader batch" : "a dataset item");
  const out = Tensor.empty(shape, source.dtype, source.backend, stepScoped ? "step" : "temporary");
  // Read the view only now: allocating `out` may have grown the heap and replaced its buffer.
  const bytes = source.backend.heap.u8;
  const from = source.ptr;
  let to = out.ptr;
  for (const [start, end] of runs) {
    bytes.copyWithin(to, from + start * rowBytes, from + end * rowBytes);
    to += (end - start) * rowBytes;
  }
  return out;
}

/**
 * The rows of `source` at `indices` (checked against its first dimension) as a
 * new step-scoped tensor of `shape`, in one f32_gather_rows call, which threads
 * split by rows.
 */
function gatherIndexedRows(source: Tensor, indices: Int32Array, shape: readonly number[]): Tensor {
  const be = source.backend;
  beginOp("a DataLoader batch");
  const out = Tensor.empty(shape, source.dtype, be, "step");
  withIndexBlock(be, indices, (rows) => be.kernels.f32_gather_rows(source.ptr, rows, out.ptr, 0, indices.length, numel(shape.slice(1))));
  return out;
}

/** Runs `use` on a block of be's heap holding `indices` as int32 (what a gather kernel reads), freed after. */
export function withIndexBlock<T>(be: Backend, indices: ArrayLike<number>, use: (ptr: number) => T): T {
  const ptr = be.allocator.alloc(4 * indices.length);
  try {
    // Written after the allocation, which may have grown the heap (and replaced its views).
    be.heap.i32.set(indices, ptr >>> 2);
    return use(ptr);
  } finally {
    be.allocator.free(ptr);
  }
}

/**
 * Wraps tensors that share a first dimension, like torch.utils.data.TensorDataset:
 * item i is row i of each. Typical use is `new TensorDataset(X, y)`.
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new TypeError("TensorDataset needs at least one tensor");
    const notTensor = tensors.findIndex((t) => !(t instanceof Tensor));
    if (notTensor !== -1) {
      throw new TypeError(`TensorDataset: argument ${notTensor} is not a Tensor (got ${describeValue(tensors[notTensor])}): convert it with tensor()`);
    }
    const zeroDim = tensors.findIndex((t) => t.ndim === 0);
    if (zeroDim !== -1) throw new RangeError(`TensorDataset: tensor ${zeroDim} is 0-d; each tensor needs a first dimension to index`);
    const length = tensors[0]!.shape[0]!;
    if (tensors.some((t) => t.shape[0] !== length)) {
      throw new RangeError(`Size mismatch between tensors: first dimensions are ${tensors.map((t) => fmt(t.shape)).join(", ")}`);
    }
    // The data outlives any one training step: epochs iterate it again and again.
    // Batches copy whole rows, so a strided view (X.t(), X.narrow(1, …)) is laid out densely once here.
    this.tensors = tensors.map((t) => (t.isContiguous() ? t : t.detach().contiguous()).keep());
    this.length = length;
  }

  get(index: number): Tensor[] {
    checkIndex(index, this.length);
    return this.tensors.map((t) => gatherRows(t, [[index, index + 1]], t.shape.slice(1), false));
  }

  getBatch(indices: Int32Array): Tensor[] {
    const runs = rowRuns(indices, this.length);
    const shapes = this.tensors.map((t) => [indices.length, ...t.shape.slice(1)]);
    // A run or two (an unshuffled batch) is a memcpy or two; a shuffled batch is one f32_gather_rows call a tensor.
    if (runs.length <= 2) return this.tensors.map((t, k) => gatherRows(t, runs, shapes[k]!, true));
    return this.tensors.map((t, k) => gatherIndexedRows(t, indices, shapes[k]!));
  }
}
