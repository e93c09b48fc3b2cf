// Tensor: a small handle (shape, dtype, storage, autograd links) on data that
// lives in a backend's heap. This file holds the handle; its methods forward
// to the op families (ops/*.ts, math.ts, statistics.ts), to tensor-values.ts
// for reading values out and to autograd.ts for backward(). The creation
// functions are in tensor-creation.ts.

import type { Backend } from "./backend/index.ts";
import { backward, type BackwardOptions, type Node } from "./autograd.ts";
import { AutogradError, InternalError } from "./errors.ts";
import { describeValue } from "./graph.ts";
import * as copies from "./ops/copies.ts";
import * as elementwise from "./ops/elementwise.ts";
import * as inPlace from "./ops/in-place.ts";
import * as mm from "./ops/matmul.ts";
import * as reductions from "./ops/reductions.ts";
import * as views from "./ops/views.ts";
import * as indexing from "./ops/indexing.ts";
import * as math from "./math.ts";
import * as stats from "./statistics.ts";
import type { ValuesIndices } from "./values-indices.ts";
import { fmt, normDim, numel, stridesOf, type Shape } from "./shape.ts";
import { beginOp, ReclaimedTensorError, Storage, type Lifetime } from "./storage.ts";
import { BinaryOp, UnaryOp } from "./backend/kernels.ts";
import * as values from "./tensor-values.ts";

/** "bool" is stored as float32 0 / 1 (4 bytes an element), so masks feed the float kernels directly. */
export type DType = "float32" | "int32" | "bool";
export type Scalar = number;
export type NestedArray = number | NestedArray[];
/** What tensor() reads: nested numbers, or booleans (which make a bool tensor). */
export type NestedInput = number | boolean | NestedInput[];

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export const ELEMENT_BYTES = 4;

export class Tensor {
  /** The autograd node that made this tensor, or null for a leaf. */
  gradFn: Node | null = null;
  private gradValue: Tensor | null = null;
  /** The gradient was made by backward (not assigned by the user): dropping it gives its memory back. */
  private gradFromBackward = false;
  private requiresGradFlag = false;

  private stridesValue: readonly number[] | undefined;
  private contiguousFlag: boolean;

  /** @internal Use the creation functions (tensor, zeros, randn, …). */
  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly dtype: DType,
    strides?: readonly number[],
    /** Elements from the start of the storage to this tensor's first element. */
    readonly offset = 0,
  ) {
    // Most tensors are dense results: their strides are worked out only if asked for.
    this.stridesValue = strides;
    this.contiguousFlag = strides === undefined || isDense(shape, strides);
  }

  /** Element steps between neighbours along each dim (PyTorch's stride()). */
  get strides(): readonly number[] {
    return (this.stridesValue ??= stridesOf(this.shape));
  }

  /** @internal A fresh tensor on `backend` with memory of the given lifetime (storage.ts). */
  static empty(shape: Shape, dtype: DType, backend: Backend, lifetime: Lifetime): Tensor {
    return new Tensor(new Storage(backend, Math.max(numel(shape), 1) * ELEMENT_BYTES, lifetime), [...shape], dtype);
  }

  get backend(): Backend {
    return this.storage.backend;
  }
  /**
   * Byte address of the first element of a contiguous tensor (throws if the
   * memory was reclaimed). Kernels read it as a dense row-major block, so a
   * strided view has none: ops take `dense(x)` first (ops/views.ts).
   */
  get ptr(): number {
    if (!this.contiguousFlag) throw new InternalError("a kernel was handed a non-contiguous view (call dense() first)");
    return this.dataPtr;
  }
  /** @internal Byte address of the first element, for strided kernels (throws if the memory was reclaimed). */
  get dataPtr(): number {
    const why = this.storage.reclaimedReason;
    if (why !== null) throw this.reclaimedError(why);
    return this.storage.ptr + this.offset * ELEMENT_BYTES;
  }
  /** Whether the elements lie in row-major order with no gaps (sizes of 1 and 0 ignore their strides). */
  isContiguous(): boolean {
    return this.contiguousFlag;
  }
  /** This tensor when contiguous, else a contiguous copy (gradients flow through). */
  contiguous(): Tensor {
    return views.dense(this);
  }
  stride(): readonly number[];
  stride(dim: number): number;
  stride(dim?: number): number | readonly number[] {
    return dim === undefined ? this.strides : this.strides[normDim(dim, this.ndim)];
  }

  private reclaimedError(why: string): ReclaimedTensorError {
    const madeBy = this.gradFn ? `${this.gradFn.name} (in a graph)` : this.storage.origin;
    const what = `the ${this.dtype} tensor of shape ${fmt(this.shape)} made by ${madeBy} cannot be read`;
    return new ReclaimedTensorError(what, why, why !== "it was disposed");
  }
  get ndim(): number {
    return this.shape.length;
  }
  numel(): number {
    return numel(this.shape);
  }
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[normDim(dim, this.ndim)];
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Accumulated gradient of a leaf that requires grad. */
  get grad(): Tensor | null {
    return this.gradValue;
  }
  /** Optimizers read a gradient as the parameter's shape: a mismatched one would be read out of bounds. */
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw new TypeError(`assigned grad must be a Tensor or null, got ${describeValue(g)}`);
      if (g.shape.join() !== this.shape.join()) {
        throw new RangeError(`assigned grad has data of a different size: grad is ${fmt(g.shape)}, the tensor is ${fmt(this.shape)}`);
      }
      if (g.dtype !== "float32" || this.dtype !== "float32") {
        throw new TypeError(`assigned grad has data of a different type: grad is ${g.dtype}, the tensor is ${this.dtype} (gradients are float32)`);
      }
      if (g.backend !== this.backend) {
        throw new TypeError(`assigned grad is on the ${g.backend.name} backend, the tensor on the ${this.backend.name} backend`);
      }
    }
    // A gradient is held by its parameter for as long as the parameter lives. One that
    // backward made and that is now dropped (p.grad = null, zeroGrad({ setToNone: true }))
    // belongs to the step: given back once unused, not left to the garbage collector.
    // One the user assigned is theirs: it may be held elsewhere.
    const old = this.gradValue;
    if (old !== null && old !== g && this.gradFromBackward) old.storage.disown();
    g?.keep();
    this.gradValue = g;
    this.gradFromBackward = false;
  }
  /** @internal Sets the gradient backward made, which the grad setter may give back when it is dropped. */
  setGradFromBackward(g: Tensor): void {
    this.grad = g;
    this.gradFromBackward = true;
  }

  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }
  set requiresGrad(v: boolean) {
    if (!this.isLeaf) {
      throw new AutogradError(
        "you can only change requiresGrad flags of leaf variables. If you want to use a computed variable in a " +
          "subgraph that doesn't require differentiation use varNoGrad = var.detach().",
      );
    }
    if (v && this.dtype !== "float32") {
      throw new TypeError(`only float32 tensors can require gradients, not ${this.dtype}`);
    }
    // A leaf that requires grad is a parameter: it lives until disposed.
    if (v) this.storage.keep();
    this.requiresGradFlag = v;
  }
  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }
  /** @internal Marks an op output as part of the graph. */
  setGraph(node: Node): void {
    this.gradFn = node;
    this.requiresGradFlag = true;
  }

  // ---- reading values ------------------------------------------------------

  /** A copy of the values: Float32Array, Int32Array for int32, Uint8Array of 0 / 1 for bool. */
  data(): Float32Array | Int32Array | Uint8Array { return values.flatValues(this); }

  /** The value of a one-element tensor as a JS number. */
  item(): number {
    if (this.numel() !== 1) {
      throw new RangeError(`a Tensor with ${this.numel()} elements cannot be converted to Scalar`);
    }
    beginOp();
    if (this.dtype === "int32") return this.backend.heap.i32[this.dataPtr >>> 2];
    const v = this.backend.heap.f32[this.dataPtr >>> 2];
    return this.dtype === "bool" ? (v !== 0 ? 1 : 0) : v;
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray { return values.nestedValues(this); }
  toString(): string { return values.formatTensor(this); }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ---- lifetime ------------------------------------------------------------

  /** Keeps this tensor's memory past the end of the training step it was made in. */
  keep(): this {
    this.storage.keep();
    return this;
  }
  /** Frees the memory now; any later use throws. Views of it are freed too. */
  dispose(): void {
    this.storage.release("it was disposed");
  }

  // ---- views (share memory) ------------------------------------------------

  view(...shape: (number | readonly number[])[]): Tensor {
    return views.view(this, shapeArgs(shape));
  }
  /** A view when the strides allow one, else a contiguous copy. */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return views.reshape(this, shapeArgs(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape(1);
    const s = normDim(startDim, this.ndim);
    const e = normDim(endDim, this.ndim);
    if (s > e) throw new RangeError("flatten() has invalid args: start_dim cannot come after end_dim");
    return this.reshape([...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)]);
  }
  unsqueeze(dim: number): Tensor { return views.unsqueeze(this, dim); }
  squeeze(dim?: number): Tensor { return views.squeeze(this, dim); }
  /** Transpose of a ≤ 2-d tensor: a view. */
  t(): Tensor { return views.t(this); }
  /** All dims reversed (x.T): a view. */
  get T(): Tensor { return views.permute(this, this.shape.map((_, i) => this.ndim - 1 - i)); }
  transpose(dim0: number, dim1: number): Tensor { return views.transpose(this, dim0, dim1); }
  permute(...dims: (number | readonly number[])[]): Tensor { return views.permute(this, shapeArgs(dims)); }
  /** Elements start … start+length−1 of dim: a view. */
  narrow(dim: number, start: number, length: number): Tensor { return views.narrow(this, dim, start, length); }
  /** Index `index` of dim, which goes away (x[:, i] is x.select(1, i)): a view. */
  select(dim: number, index: number): Tensor { return views.select(this, dim, index); }
  /** Size-1 dims (and new leading ones) repeated to `sizes` without copying; −1 keeps a size. */
  expand(...sizes: (number | readonly number[])[]): Tensor { return views.expand(this, shapeArgs(sizes)); }
  expandAs(other: Tensor): Tensor { return views.expand(this, [...other.shape]); }
  /** Splits dim into pieces of splitSize (the last may be smaller), or of the given sizes: views. */
  split(splitSize: number | readonly number[], dim = 0): Tensor[] { return views.split(this, splitSize, dim); }
  /** Splits dim into `chunks` views of equal size (the last may be smaller). */
  chunk(chunks: number, dim = 0): Tensor[] { return views.chunk(this, chunks, dim); }
  /** Rows (dim's entries) picked by the int32 indices of a 1-d `index`: a copy. */
  indexSelect(dim: number, index: Tensor): Tensor { return indexing.indexSelect(this, dim, index); }
  /** out[i][j] = this[index[i][j]][j] along dim (for dim 0): a copy. */
  gather(dim: number, index: Tensor): Tensor { return indexing.gather(this, dim, index); }
  /** `value` where the bool mask (broadcast to this shape) is true. */
  maskedFill(mask: Tensor, value: number): Tensor { return indexing.maskedFill(this, mask, value); }
  /** The elements where the bool mask is true, as a 1-d tensor. */
  maskedSelect(mask: Tensor): Tensor { return indexing.maskedSelect(this, mask); }
  /** Shares memory, without a gradient. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.strides, this.offset);
  }

  // ---- copies --------------------------------------------------------------

  /** A copy you own: it is never reclaimed at a step boundary. Gradients flow through it. */
  clone(): Tensor {
    return copies.clone(this);
  }
  float(): Tensor {
    return copies.toFloat(this);
  }
  /** A bool tensor: true where nonzero. */
  bool(): Tensor {
    return this.ne(0);
  }

  // ---- elementwise (ops/elementwise.ts) -------------------------------------

  /** this + alpha·other. */
  add(other: Tensor | Scalar, opts?: { alpha?: number }): Tensor {
    return elementwise.binary(this, elementwise.scaled(other, opts?.alpha), BinaryOp.Add);
  }
  /** this − alpha·other. */
  sub(other: Tensor | Scalar, opts?: { alpha?: number }): Tensor {
    return elementwise.binary(this, elementwise.scaled(other, opts?.alpha), BinaryOp.Sub);
  }
  mul(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Mul); }
  div(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Div); }
  pow(exponent: Tensor | Scalar): Tensor { return elementwise.binary(this, exponent, BinaryOp.Pow); }
  maximum(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Maximum); }
  minimum(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Minimum); }
  /** Comparisons give bool tensors and no gradient. */
  eq(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Eq); }
  ne(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Ne); }
  lt(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Lt); }
  le(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Le); }
  gt(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Gt); }
  ge(other: Tensor | Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Ge); }
  /** other − this, for `1 - x` style code. */
  rsub(other: Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Sub, true); }
  /** other / this. */
  rdiv(other: Scalar): Tensor { return elementwise.binary(this, other, BinaryOp.Div, true); }

  neg(): Tensor { return elementwise.unary(this, UnaryOp.Neg); }
  abs(): Tensor { return elementwise.unary(this, UnaryOp.Abs); }
  sqrt(): Tensor { return elementwise.unary(this, UnaryOp.Sqrt); }
  exp(): Tensor { return elementwise.unary(this, UnaryOp.Exp); }
  log(): Tensor { return elementwise.unary(this, UnaryOp.Log); }
  relu(): Tensor { return elementwise.unary(this, UnaryOp.Relu); }
  sigmoid(): Tensor { return elementwise.unary(this, UnaryOp.Sigmoid); }
  tanh(): Tensor { return elementwise.unary(this, UnaryOp.Tanh); }
  square(): Tensor { return elementwise.unary(this, UnaryOp.Square); }
  sign(): Tensor { return elementwise.unary(this, UnaryOp.Sign); }
  sin(): Tensor { return math.sin(this); }
  cos(): Tensor { return math.cos(this); }
  /** min(max(x, min), max); either bound may be null. */
  clamp(min?: number | null, max?: number | null): Tensor { return math.clamp(this, min, max); }
  clip(min?: number | null, max?: number | null): Tensor { return math.clamp(this, min, max); }
  softmax(dim: number): Tensor { return stats.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return stats.logSoftmax(this, dim); }

  matmul(other: Tensor): Tensor { return mm.matmul(this, other); }

  // ---- reductions (ops/reductions.ts) ---------------------------------------

  sum(dim?: number | number[] | null, keepdim = false): Tensor { return reductions.reduce(this, "sum", dim, keepdim); }
  mean(dim?: number | number[] | null, keepdim = false): Tensor { return reductions.reduce(this, "mean", dim, keepdim); }
  /** max() → the largest value; max(dim) → { values, indices }, also `const [values, indices] = x.max(1)`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? reductions.maxAll(this) : reductions.maxDim(this, dim, keepdim);
  }
  /** min() → the smallest value; min(dim) → { values, indices }, also destructurable. */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? stats.minAll(this) : stats.minDim(this, dim, keepdim);
  }
  /** Variance over dim (all by default), unbiased as in PyTorch 1.13; `{ unbiased: false }` or `{ correction }` to change. */
  var(dim?: number | number[] | null | stats.VarOptions, keepdim?: boolean | stats.VarOptions, opts?: stats.VarOptions): Tensor {
    const a = stats.varArgs("var", dim, keepdim, opts);
    return stats.variance(this, a.dim, a.keepdim, a.correction);
  }
  /** Standard deviation: the square root of var() with the same arguments. */
  std(dim?: number | number[] | null | stats.VarOptions, keepdim?: boolean | stats.VarOptions, opts?: stats.VarOptions): Tensor {
    const a = stats.varArgs("std", dim, keepdim, opts);
    return stats.std(this, a.dim, a.keepdim, a.correction);
  }
  argmax(dim?: number, keepdim = false): Tensor { return reductions.argmax(this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return stats.argmin(this, dim, keepdim); }
  /** The p-norm (p = 2 or 1) over all elements or along dim. */
  norm(p: 1 | 2 = 2, dim?: number | number[] | null, keepdim = false): Tensor { return reductions.norm(this, p, dim, keepdim); }

  // ---- in place (ops/in-place.ts: no autograd; the version bump lets backward notice) ----

  zero_(): this { return inPlace.fill(this, 0); }
  fill_(value: number): this { return inPlace.fill(this, value); }
  add_(other: Tensor | Scalar, opts?: { alpha?: number }): this { return inPlace.addScaled(this, "add_", other, opts?.alpha); }
  sub_(other: Tensor | Scalar, opts?: { alpha?: number }): this { return inPlace.addScaled(this, "sub_", other, opts?.alpha); }
  mul_(other: Tensor | Scalar): this { return inPlace.writeInPlace(this, "mul_", (d) => elementwise.binaryInto(d, other, BinaryOp.Mul)); }
  div_(other: Tensor | Scalar): this { return inPlace.writeInPlace(this, "div_", (d) => elementwise.binaryInto(d, other, BinaryOp.Div)); }
  clamp_(min?: number | null, max?: number | null): this { return inPlace.writeInPlace(this, "clamp_", (d) => math.clampInto(d, min, max)); }
  copy_(src: Tensor): this { return inPlace.writeInPlace(this, "copy_", (d) => copies.copyInto(d, src)); }
  /** In place: `value` where the bool mask is true. */
  maskedFill_(mask: Tensor, value: number): this {
    return inPlace.writeInPlace(this, "maskedFill_", (d) => indexing.maskedFillInto(d, mask, value));
  }
  /** Fills with U(low, high) from the seeded generator. */
  uniform_(low = 0, high = 1): this { return inPlace.randomFill(this, "uniform_", low, high); }
  /** Fills with N(mean, std²) from the seeded generator. */
  normal_(mean = 0, std = 1): this { return inPlace.randomFill(this, "normal_", mean, std); }

  // ---- autograd ------------------------------------------------------------

  /** Computes gradients of this tensor with respect to the graph's leaves. */
  backward(gradient?: Tensor, opts: BackwardOptions = {}): void { backward(this, gradient, opts); }
}

/** Row-major with no gaps, ignoring the strides of size-1 dims (PyTorch's is_contiguous). */
function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 0) return true;
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** (2, 3), ([2, 3]) → [2, 3]. */
function shapeArgs(args: readonly (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

/**
 * @internal zeroGrad's zero_() of a gradient: the same value and version bump,
 * with the zeros pending on its memory (Storage.zeroOnNextRead) when the gradient
 * covers all of it, so that a backward writing it whole skips them.
 */
export function zeroGradient(g: Tensor): void {
  if (g.numel() > 0 && g.numel() * ELEMENT_BYTES === g.storage.bytes && g.storage.isAlive) {
    g.storage.zeroOnNextRead();
    g.storage.version++;
  } else {
    g.zero_();
  }
}
