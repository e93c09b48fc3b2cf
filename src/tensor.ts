// Tensor: a small handle (shape, dtype, storage, autograd links) on data that
// lives in a backend's heap. Arithmetic is in ops.ts; this file holds the
// handle, its views, reading values out, in-place writes and backward().

import { getBackend, type Backend } from "./backend/index.ts";
import { accumulateLeaf, inBackward, isGradEnabled, runBackward, withoutGrad, type BackwardOptions, type Node } from "./autograd.ts";
import * as ops from "./ops.ts";
import * as views from "./ops/views.ts";
import * as indexing from "./ops/indexing.ts";
import * as math from "./math.ts";
import * as stats from "./statistics.ts";
import type { ValuesIndices } from "./values-indices.ts";
import { takeStream } from "./random.ts";
import { checkShape, fmt, inferShape, normDim, numel, stridesOf, type Shape } from "./shape.ts";
import { beginOp, boundary, ReclaimedTensorError, Storage, type Lifetime } from "./storage.ts";
import { BinaryOp, UnaryOp } from "./backend/kernels.ts";
import { checkFillValue, emptyNested } from "./tensor-values.ts";

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

const ELEMENT_BYTES = 4;

export class Tensor {
  /** The autograd node that made this tensor, or null for a leaf. */
  gradFn: Node | null = null;
  private gradValue: Tensor | null = null;
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
    if (!this.contiguousFlag) throw new Error("wasmgrad internal error: a kernel was handed a non-contiguous view (call dense() first)");
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
      if (!(g instanceof Tensor)) throw new TypeError(`assigned grad must be a Tensor or null, got ${ops.describeValue(g)}`);
      if (g.shape.join() !== this.shape.join()) {
        throw new RangeError(`assigned grad has data of a different size: grad is ${fmt(g.shape)}, the tensor is ${fmt(this.shape)}`);
      }
      if (g.dtype !== "float32" || this.dtype !== "float32") {
        throw new TypeError(`assigned grad has data of a different type: grad is ${g.dtype}, the tensor is ${this.dtype} (gradients are float32)`);
      }
      if (g.backend !== this.backend) {
        throw new Error(`assigned grad is on the ${g.backend.name} backend, the tensor on the ${this.backend.name} backend`);
      }
    }
    // A gradient is held by its parameter for as long as the parameter lives.
    g?.keep();
    this.gradValue = g;
  }

  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }
  set requiresGrad(v: boolean) {
    if (!this.isLeaf) {
      throw new Error(
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
  data(): Float32Array | Int32Array | Uint8Array {
    beginOp();
    const t = this.contiguousFlag ? this : withoutGrad(() => views.dense(this));
    const p = t.ptr >>> 2;
    const n = t.numel();
    const heap = t.backend.heap;
    const values =
      t.dtype === "bool" ? Uint8Array.from(heap.f32.subarray(p, p + n), (v) => (v !== 0 ? 1 : 0))
      : t.dtype === "int32" ? heap.i32.slice(p, p + n) : heap.f32.slice(p, p + n);
    views.doneWith(t, this, false);
    return values;
  }

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
  toArray(): NestedArray {
    if (this.numel() === 0) return emptyNested(this.shape);
    const flat = Array.from(this.data());
    if (this.ndim === 0) return flat[0];
    const build = (dim: number, start: number): NestedArray[] => {
      const len = this.shape[dim];
      const stride = numel(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < len; i++) {
        out.push(dim === this.ndim - 1 ? flat[start + i] : build(dim + 1, start + i * stride));
      }
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    // Not JSON: it prints NaN and ±Infinity as null, and those are what someone printing a tensor looks for.
    const leaf = (x: number): string => (this.dtype === "bool" ? String(x !== 0) : String(x));
    const show = (x: NestedArray): string => (Array.isArray(x) ? `[${x.map(show).join(",")}]` : leaf(x));
    // A zero-element tensor prints as PyTorch's `tensor([], size=(…))`: its shape
    // can be [2^26, 2^26, 0], whose nested arrays would not fit in memory.
    const empty = this.numel() === 0;
    const body = !this.storage.isAlive ? '"<reclaimed>"' : empty ? "[]" : show(this.toArray());
    const size = empty && this.ndim !== 1 ? `, size=(${this.shape.join(", ")})` : "";
    const extra = size + (this.dtype === "float32" ? "" : `, dtype=${this.dtype}`);
    const grad = this.gradFn ? `, gradFn=<${this.gradFn.name}Backward>` : this.requiresGrad ? ", requiresGrad=true" : "";
    return `tensor(${body}${extra}${grad})`;
  }
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
    return ops.clone(this);
  }
  float(): Tensor {
    return ops.toFloat(this);
  }
  /** A bool tensor: true where nonzero. */
  bool(): Tensor {
    return this.ne(0);
  }

  // ---- elementwise (ops.ts) ------------------------------------------------

  /** this + alpha·other. */
  add(other: Tensor | Scalar, opts?: { alpha?: number }): Tensor {
    return ops.binary(this, scaled(other, opts?.alpha), BinaryOp.Add);
  }
  /** this − alpha·other. */
  sub(other: Tensor | Scalar, opts?: { alpha?: number }): Tensor {
    return ops.binary(this, scaled(other, opts?.alpha), BinaryOp.Sub);
  }
  mul(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Mul); }
  div(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Div); }
  pow(exponent: Tensor | Scalar): Tensor { return ops.binary(this, exponent, BinaryOp.Pow); }
  maximum(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Maximum); }
  minimum(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Minimum); }
  /** Comparisons give bool tensors and no gradient. */
  eq(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Eq); }
  ne(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Ne); }
  lt(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Lt); }
  le(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Le); }
  gt(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Gt); }
  ge(other: Tensor | Scalar): Tensor { return ops.binary(this, other, BinaryOp.Ge); }
  /** other − this, for `1 - x` style code. */
  rsub(other: Scalar): Tensor { return ops.binary(this, other, BinaryOp.Sub, true); }
  /** other / this. */
  rdiv(other: Scalar): Tensor { return ops.binary(this, other, BinaryOp.Div, true); }

  neg(): Tensor { return ops.unary(this, UnaryOp.Neg); }
  abs(): Tensor { return ops.unary(this, UnaryOp.Abs); }
  sqrt(): Tensor { return ops.unary(this, UnaryOp.Sqrt); }
  exp(): Tensor { return ops.unary(this, UnaryOp.Exp); }
  log(): Tensor { return ops.unary(this, UnaryOp.Log); }
  relu(): Tensor { return ops.unary(this, UnaryOp.Relu); }
  sigmoid(): Tensor { return ops.unary(this, UnaryOp.Sigmoid); }
  tanh(): Tensor { return ops.unary(this, UnaryOp.Tanh); }
  square(): Tensor { return ops.unary(this, UnaryOp.Square); }
  sign(): Tensor { return ops.unary(this, UnaryOp.Sign); }
  sin(): Tensor { return math.sin(this); }
  cos(): Tensor { return math.cos(this); }
  /** min(max(x, min), max); either bound may be null. */
  clamp(min?: number | null, max?: number | null): Tensor { return math.clamp(this, min, max); }
  clip(min?: number | null, max?: number | null): Tensor { return math.clamp(this, min, max); }
  softmax(dim: number): Tensor { return stats.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return stats.logSoftmax(this, dim); }

  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }

  // ---- reductions (ops.ts) -------------------------------------------------

  sum(dim?: number | number[] | null, keepdim = false): Tensor { return ops.reduce(this, "sum", dim, keepdim); }
  mean(dim?: number | number[] | null, keepdim = false): Tensor { return ops.reduce(this, "mean", dim, keepdim); }
  /** max() → the largest value; max(dim) → { values, indices }, also `const [values, indices] = x.max(1)`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? ops.maxAll(this) : ops.maxDim(this, dim, keepdim);
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
  argmax(dim?: number, keepdim = false): Tensor { return ops.argmax(this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return stats.argmin(this, dim, keepdim); }
  /** The p-norm (p = 2 or 1) over all elements or along dim. */
  norm(p: 1 | 2 = 2, dim?: number | number[] | null, keepdim = false): Tensor { return ops.norm(this, p, dim, keepdim); }

  // ---- in place (no autograd; bump the version so backward notices) --------

  private checkInPlace(what: string): void {
    beginOp();
    if (isGradEnabled() && this.requiresGrad) {
      throw new Error(
        this.isLeaf
          ? `a leaf Variable that requires grad is being used in an in-place operation (${what}); wrap it in noGrad(() => …)`
          : `${what} on a tensor that is part of a graph is not supported: use the out-of-place op`,
      );
    }
  }
  private written(): this {
    this.storage.version++;
    return this;
  }
  /** Runs `write` on this tensor, or on a dense copy that is then written back through the view. */
  private inPlace(what: string, write: (dense: Tensor) => void): this {
    this.checkInPlace(what);
    views.writeThrough(this, what, write);
    return this.written();
  }
  zero_(): this {
    return this.fill_(0);
  }
  fill_(value: number): this {
    if (typeof value !== "number") throw new TypeError(`fill_(): value must be a number, got ${ops.describeValue(value)}`);
    checkFillValue(value, this.dtype);
    return this.inPlace("fill_", (d) => {
      if (d.dtype === "int32") d.backend.heap.i32.fill(value | 0, d.ptr >>> 2, (d.ptr >>> 2) + d.numel());
      else d.backend.kernels.f32_fill(d.ptr, d.numel(), d.dtype === "bool" ? Number(value !== 0) : value);
    });
  }
  add_(other: Tensor | Scalar, opts?: { alpha?: number }): this {
    const o = withoutGrad(() => scaled(other, opts?.alpha));
    this.inPlace("add_", (d) => ops.binaryInto(d, o, BinaryOp.Add));
    dropScaled(o, other);
    return this;
  }
  sub_(other: Tensor | Scalar, opts?: { alpha?: number }): this {
    const o = withoutGrad(() => scaled(other, opts?.alpha));
    this.inPlace("sub_", (d) => ops.binaryInto(d, o, BinaryOp.Sub));
    dropScaled(o, other);
    return this;
  }
  mul_(other: Tensor | Scalar): this {
    return this.inPlace("mul_", (d) => ops.binaryInto(d, other, BinaryOp.Mul));
  }
  div_(other: Tensor | Scalar): this {
    return this.inPlace("div_", (d) => ops.binaryInto(d, other, BinaryOp.Div));
  }
  clamp_(min?: number | null, max?: number | null): this {
    this.checkInPlace("clamp_");
    math.clampInto(this, min, max);
    return this.written();
  }
  copy_(src: Tensor): this {
    return this.inPlace("copy_", (d) => ops.copyInto(d, src));
  }
  /** In place: `value` where the bool mask is true. */
  maskedFill_(mask: Tensor, value: number): this {
    return this.inPlace("maskedFill_", (d) => indexing.maskedFillInto(d, mask, value));
  }
  /** Fills with U(low, high) from the seeded generator. */
  uniform_(low = 0, high = 1): this {
    this.checkRandomFill("uniform_");
    if (!(low <= high)) throw new RangeError(`uniform_ expects to return a [from, to) range, but found from=${low} > to=${high}`);
    return this.inPlace("uniform_", (d) => {
      const n = d.numel();
      const s = takeStream(d.backend, n);
      d.backend.kernels.random_uniform(d.ptr, n, s.seedLo, s.seedHi, s.offset, low, high);
    });
  }
  /** Fills with N(mean, std²) from the seeded generator. */
  normal_(mean = 0, std = 1): this {
    this.checkRandomFill("normal_");
    if (!(std >= 0)) throw new RangeError(`normal expects std >= 0.0, but found std ${std}`);
    return this.inPlace("normal_", (d) => {
      const n = d.numel();
      const s = takeStream(d.backend, n);
      d.backend.kernels.random_normal(d.ptr, n, s.seedLo, s.seedHi, s.offset, mean, std);
    });
  }

  /** The random kernels write float32 bits: into an int32 tensor they would be garbage integers. */
  private checkRandomFill(what: string): void {
    if (this.dtype !== "float32") throw new TypeError(`${what}(): only float32 tensors can be filled with random values, not ${this.dtype}`);
  }

  // ---- autograd ------------------------------------------------------------

  /** Computes gradients of this tensor with respect to the graph's leaves. */
  backward(gradient?: Tensor, opts: BackwardOptions = {}): void {
    if (!this.requiresGrad) {
      throw new Error("element 0 of tensors does not require grad and does not have a gradFn");
    }
    if (inBackward()) throw new Error("backward() cannot be called from inside a backward pass");
    let g: Tensor;
    if (gradient === undefined) {
      if (this.numel() !== 1) {
        throw new Error(`grad can be implicitly created only for scalar outputs (this tensor has shape ${fmt(this.shape)})`);
      }
      g = Tensor.empty(this.shape, "float32", this.backend, "step");
      this.backend.kernels.f32_fill(g.ptr, 1, 1);
    } else {
      if (!(gradient instanceof Tensor)) throw new TypeError(`backward(): gradient must be a Tensor, got ${ops.describeValue(gradient)}`);
      ops.backendOf(this, gradient);
      if (gradient.shape.join() !== this.shape.join()) {
        throw new RangeError(
          `Mismatch in shape: grad_output[0] has a shape of ${fmt(gradient.shape)} and output[0] has a shape of ${fmt(this.shape)}.`,
        );
      }
      // PyTorch casts the gradient to the output's dtype; read as float bits, 1 would be 1.4e-45.
      g = gradient.dtype === "float32" ? gradient : ops.toFloat(gradient);
      if (g !== gradient) g.storage.markStepScoped();
      if (!g.isContiguous()) g = withoutGrad(() => g.contiguous());
    }
    if (this.isLeaf) {
      withoutGrad(() => accumulateLeaf(this, g));
      return;
    }
    runBackward(this, g, opts);
    // A retained graph will be walked again: the step is not over (PyTorch allows as many walks as retains).
    if (!opts.retainGraph) boundary("backward()", true);
  }
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

function scaled(other: Tensor | Scalar, alpha = 1): Tensor | Scalar {
  if (alpha === 1) return other;
  return typeof other === "number" ? other * alpha : other.mul(alpha);
}

/** Frees scaled()'s temporary at once: add_(g, { alpha }) in an update loop leaves nothing behind. */
function dropScaled(made: Tensor | Scalar, other: Tensor | Scalar): void {
  if (made !== other && made instanceof Tensor) made.storage.release("it was an internal temporary of add_/sub_");
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


// ---- creation ---------------------------------------------------------------

function creationOpts(opts: TensorOptions | undefined, fallback: DType = "float32"): { dtype: DType; requiresGrad: boolean } {
  const dtype = opts?.dtype ?? fallback;
  if (dtype !== "float32" && dtype !== "int32" && dtype !== "bool") {
    throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}: expected "float32", "int32" or "bool"`);
  }
  return { dtype, requiresGrad: opts?.requiresGrad ?? false };
}

/**
 * A creation function's tensor: a temporary (storage.ts), unless it requires
 * grad. made() marks it unread once written, so that one set aside (a test
 * set made before training) is kept rather than reclaimed.
 */
function created(what: string, shape: Shape, opts: { dtype: DType; requiresGrad: boolean }): Tensor {
  beginOp(what);
  const t = Tensor.empty(shape, opts.dtype, getBackend(), opts.requiresGrad ? "owned" : "temporary");
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function made(t: Tensor): Tensor {
  t.storage.markFresh();
  return t;
}

function shapeArg(shape: readonly number[] | number, rest: number[]): number[] {
  return checkShape(typeof shape === "number" ? [shape, ...rest] : [...shape]);
}

/** Flattens nested arrays, checking they are rectangular. */
function flattenNested(data: NestedInput): { shape: number[]; values: number[]; bools: boolean } {
  const shape: number[] = [];
  let probe: NestedInput = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as NestedInput;
    if (probe === undefined) break;
  }
  const values: number[] = [];
  let bools = false;
  const walk = (x: NestedInput, dim: number): void => {
    if (dim === shape.length) {
      if (typeof x === "boolean") {
        bools = true;
        values.push(Number(x));
        return;
      }
      if (typeof x !== "number") throw new TypeError(`tensor(): expected a number at depth ${dim}, got ${typeof x}`);
      values.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new RangeError(
        `tensor(): expected sequence of length ${shape[dim]} at dim ${dim} (got ${Array.isArray(x) ? x.length : typeof x})`,
      );
    }
    for (const v of x) walk(v, dim + 1);
  };
  walk(data, 0);
  return { shape, values, bools };
}

/**
 * A tensor from nested arrays, or from a typed array with `shape`.
 * Numbers give float32 (PyTorch would pick int64 for integers: say dtype "int32" for class labels).
 */
export function tensor(
  data: NestedInput | Float32Array | Int32Array | Uint8Array | readonly number[] | readonly boolean[],
  opts?: TensorOptions & { shape?: readonly number[] },
): Tensor {
  let shape: number[];
  let values: ArrayLike<number>;
  let fallback: DType = data instanceof Int32Array ? "int32" : "float32";
  if (ArrayBuffer.isView(data)) {
    values = data as Float32Array;
    shape = opts?.shape ? checkShape([...opts.shape]) : [values.length];
    if (numel(shape) !== values.length) {
      throw new RangeError(`tensor(): shape ${fmt(shape)} needs ${numel(shape)} values, got ${values.length}`);
    }
  } else {
    const f = flattenNested(data as NestedInput);
    shape = opts?.shape ? inferShape([...opts.shape], f.values.length, f.shape) : f.shape;
    values = f.values;
    if (f.bools) fallback = "bool";
  }
  const o = creationOpts(opts, fallback);
  if (o.dtype === "int32" && !(data instanceof Int32Array)) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isInteger(values[i])) throw new TypeError(`tensor(): int32 tensor got non-integer value ${values[i]}`);
      // The heap's Int32Array would wrap it silently.
      if (!isInt32(values[i])) throw new RangeError(`tensor(): value ${values[i]} is out of range for int32 (at flat index ${i})`);
    }
  }
  const t = created("tensor", shape, o);
  const p = t.ptr >>> 2;
  if (o.dtype === "int32") t.backend.heap.i32.set(values as ArrayLike<number>, p);
  else if (o.dtype === "bool") t.backend.heap.f32.set(Array.from(values, (v) => (v !== 0 ? 1 : 0)), p);
  else t.backend.heap.f32.set(values as ArrayLike<number>, p);
  return made(t);
}

function isInt32(x: number): boolean {
  return x >= -2147483648 && x <= 2147483647;
}

/** An uninitialised float32 tensor (or dtype), like torch.empty. */
export function empty(shape: readonly number[] | number, opts?: TensorOptions): Tensor {
  return made(created("empty", shapeArg(shape, []), creationOpts(opts)));
}

export function full(shape: readonly number[] | number, value: number, opts?: TensorOptions): Tensor {
  const o = creationOpts(opts);
  if (typeof value === "number") checkFillValue(value, o.dtype);
  const t = created("full", shapeArg(shape, []), o);
  return made(withoutGrad(() => t.fill_(value)));
}
export function zeros(shape: readonly number[] | number, ...rest: [...number[]] | [TensorOptions]): Tensor {
  const { dims, opts } = splitDims(rest);
  return full(shapeArg(shape, dims), 0, opts);
}
export function ones(shape: readonly number[] | number, ...rest: [...number[]] | [TensorOptions]): Tensor {
  const { dims, opts } = splitDims(rest);
  return full(shapeArg(shape, dims), 1, opts);
}
/** Standard normal values from the seeded generator. */
export function randn(shape: readonly number[] | number, ...rest: [...number[]] | [TensorOptions]): Tensor {
  const { dims, opts } = splitDims(rest);
  const t = created("randn", shapeArg(shape, dims), randomOpts("randn", opts));
  return made(withoutGrad(() => t.normal_(0, 1)));
}
/** Uniform values in [0, 1) from the seeded generator. */
export function rand(shape: readonly number[] | number, ...rest: [...number[]] | [TensorOptions]): Tensor {
  const { dims, opts } = splitDims(rest);
  const t = created("rand", shapeArg(shape, dims), randomOpts("rand", opts));
  return made(withoutGrad(() => t.uniform_(0, 1)));
}

function randomOpts(what: string, opts: TensorOptions | undefined): { dtype: DType; requiresGrad: boolean } {
  const o = creationOpts(opts);
  if (o.dtype !== "float32") throw new TypeError(`${what}(): random values need dtype float32, got ${o.dtype}`);
  return o;
}
export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...opts });
}
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...opts });
}

function splitDims(rest: unknown[]): { dims: number[]; opts?: TensorOptions } {
  const last = rest[rest.length - 1];
  if (last !== undefined && typeof last === "object") return { dims: rest.slice(0, -1) as number[], opts: last as TensorOptions };
  return { dims: rest as number[] };
}

/**
 * arange(end) or arange(start, end, step). Integer arguments give int32 (PyTorch: int64),
 * otherwise float32.
 */
export function arange(start: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new RangeError("arange: step must be nonzero");
  if (![start, end, step].every(Number.isFinite)) throw new RangeError("arange: start, end and step must be finite");
  if ((end - start) / step < 0) {
    throw new RangeError("arange: upper bound and larger bound inconsistent with step sign");
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = [start, end, step].every(Number.isInteger);
  const o = creationOpts(opts, ints ? "int32" : "float32");
  if (o.dtype === "bool") throw new TypeError('arange: dtype "bool" is not supported (as in PyTorch): use arange(n).lt(k) for a mask');
  if (o.dtype === "int32" && n > 0 && !(isInt32(start) && isInt32(start + (n - 1) * step))) {
    throw new RangeError(`arange: values from ${start} to ${start + (n - 1) * step} do not fit in int32`);
  }
  const t = created("arange", [n], o);
  if (o.dtype === "float32") t.backend.kernels.f32_arange(t.ptr, n, start, step);
  else {
    const view = t.backend.heap.i32;
    const p = t.ptr >>> 2;
    for (let i = 0; i < n; i++) view[p + i] = start + i * step;
  }
  return made(t);
}
