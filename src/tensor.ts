// Tensor: a small handle (shape, dtype, storage, autograd links) on data that
// lives in a backend's heap. Arithmetic is in ops.ts; this file holds the
// handle, its views, reading values out, in-place writes and backward().

import { getBackend, type Backend } from "./backend/index.ts";
import { inBackward, isGradEnabled, noGrad, runBackward, type BackwardOptions, type Node } from "./autograd.ts";
import * as ops from "./ops.ts";
import * as math from "./math.ts";
import * as stats from "./statistics.ts";
import type { ValuesIndices } from "./values-indices.ts";
import { takeStream } from "./random.ts";
import { checkShape, fmt, inferShape, normDim, numel, type Shape } from "./shape.ts";
import { Storage, stepBoundary } from "./storage.ts";
import { BinaryOp, UnaryOp } from "./backend/kernels.ts";

export type DType = "float32" | "int32";
export type Scalar = number;
export type NestedArray = number | NestedArray[];

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

  /** @internal Use the creation functions (tensor, zeros, randn, …). */
  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {}

  /** @internal A fresh tensor on `backend` whose memory is step-scoped when `stepScoped`. */
  static empty(shape: Shape, dtype: DType, backend: Backend, stepScoped: boolean): Tensor {
    return new Tensor(new Storage(backend, Math.max(numel(shape), 1) * ELEMENT_BYTES, stepScoped), [...shape], dtype);
  }

  get backend(): Backend {
    return this.storage.backend;
  }
  /** Byte address of the first element (throws if the memory was reclaimed). */
  get ptr(): number {
    return this.storage.ptr;
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

  /** A copy of the values: Float32Array, or Int32Array for int32. */
  data(): Float32Array | Int32Array {
    const p = this.ptr >>> 2;
    const n = this.numel();
    return this.dtype === "int32" ? this.backend.heap.i32.slice(p, p + n) : this.backend.heap.f32.slice(p, p + n);
  }

  /** The value of a one-element tensor as a JS number. */
  item(): number {
    if (this.numel() !== 1) {
      throw new RangeError(`a Tensor with ${this.numel()} elements cannot be converted to Scalar`);
    }
    return this.dtype === "int32" ? this.backend.heap.i32[this.ptr >>> 2] : this.backend.heap.f32[this.ptr >>> 2];
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
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
    const show = (x: NestedArray): string => (Array.isArray(x) ? `[${x.map(show).join(",")}]` : String(x));
    const body = this.storage.isAlive ? show(this.toArray()) : '"<reclaimed>"';
    const extra = this.dtype === "int32" ? ", dtype=int32" : "";
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
    const req = shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
    return ops.reshape(this, inferShape(req, this.numel(), this.shape));
  }
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return this.view(...shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.view(1);
    const s = normDim(startDim, this.ndim);
    const e = normDim(endDim, this.ndim);
    if (s > e) throw new RangeError("flatten() has invalid args: start_dim cannot come after end_dim");
    return this.view([...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)]);
  }
  unsqueeze(dim: number): Tensor {
    const d = normDim(dim, this.ndim + 1);
    return this.view([...this.shape.slice(0, d), 1, ...this.shape.slice(d)]);
  }
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return this.view(this.shape.filter((d) => d !== 1));
    const d = normDim(dim, this.ndim);
    return this.shape[d] === 1 ? this.view([...this.shape.slice(0, d), ...this.shape.slice(d + 1)]) : this;
  }
  /** Shares memory, without a gradient. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype);
  }

  // ---- copies --------------------------------------------------------------

  /** A copy you own: it is never reclaimed at a step boundary. Gradients flow through it. */
  clone(): Tensor {
    return ops.clone(this);
  }
  float(): Tensor {
    return ops.toFloat(this);
  }
  /** Transpose of a ≤ 2-d tensor (a copy, not a view). */
  t(): Tensor {
    if (this.ndim > 2) throw new RangeError(`t() expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return this.ndim < 2 ? this : ops.permute(this, [1, 0]);
  }
  transpose(dim0: number, dim1: number): Tensor {
    const perm = this.shape.map((_, i) => i);
    const a = normDim(dim0, this.ndim);
    const b = normDim(dim1, this.ndim);
    [perm[a], perm[b]] = [perm[b], perm[a]];
    return ops.permute(this, perm);
  }
  permute(...dims: number[]): Tensor {
    return ops.permute(this, dims);
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
  /** Comparisons give float32 1 / 0 (PyTorch gives bool) and no gradient. */
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
  zero_(): this {
    return this.fill_(0);
  }
  fill_(value: number): this {
    this.checkInPlace("fill_");
    if (typeof value !== "number") throw new TypeError(`fill_(): value must be a number, got ${ops.describeValue(value)}`);
    if (this.dtype === "int32") this.backend.heap.i32.fill(value | 0, this.ptr >>> 2, (this.ptr >>> 2) + this.numel());
    else this.backend.kernels.f32_fill(this.ptr, this.numel(), value);
    return this.written();
  }
  add_(other: Tensor | Scalar, opts?: { alpha?: number }): this {
    this.checkInPlace("add_");
    ops.binaryInto(this, noGrad(() => scaled(other, opts?.alpha)), BinaryOp.Add);
    return this.written();
  }
  sub_(other: Tensor | Scalar, opts?: { alpha?: number }): this {
    this.checkInPlace("sub_");
    ops.binaryInto(this, noGrad(() => scaled(other, opts?.alpha)), BinaryOp.Sub);
    return this.written();
  }
  mul_(other: Tensor | Scalar): this {
    this.checkInPlace("mul_");
    ops.binaryInto(this, other, BinaryOp.Mul);
    return this.written();
  }
  div_(other: Tensor | Scalar): this {
    this.checkInPlace("div_");
    ops.binaryInto(this, other, BinaryOp.Div);
    return this.written();
  }
  clamp_(min?: number | null, max?: number | null): this {
    this.checkInPlace("clamp_");
    math.clampInto(this, min, max);
    return this.written();
  }
  copy_(src: Tensor): this {
    this.checkInPlace("copy_");
    ops.copyInto(this, src);
    return this.written();
  }
  /** Fills with U(low, high) from the seeded generator. */
  uniform_(low = 0, high = 1): this {
    this.checkInPlace("uniform_");
    this.checkRandomFill("uniform_");
    if (!(low <= high)) throw new RangeError(`uniform_ expects to return a [from, to) range, but found from=${low} > to=${high}`);
    const n = this.numel();
    const s = takeStream(this.backend, n);
    this.backend.kernels.random_uniform(this.ptr, n, s.seedLo, s.seedHi, s.offset, low, high);
    return this.written();
  }
  /** Fills with N(mean, std²) from the seeded generator. */
  normal_(mean = 0, std = 1): this {
    this.checkInPlace("normal_");
    this.checkRandomFill("normal_");
    if (!(std >= 0)) throw new RangeError(`normal expects std >= 0.0, but found std ${std}`);
    const n = this.numel();
    const s = takeStream(this.backend, n);
    this.backend.kernels.random_normal(this.ptr, n, s.seedLo, s.seedHi, s.offset, mean, std);
    return this.written();
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
      g = Tensor.empty(this.shape, "float32", this.backend, true);
      this.backend.kernels.f32_fill(g.ptr, 1, 1);
    } else {
      if (!(gradient instanceof Tensor)) throw new TypeError(`backward(): gradient must be a Tensor, got ${ops.describeValue(gradient)}`);
      ops.backendOf(this, gradient);
      if (gradient.shape.join() !== this.shape.join()) {
        throw new RangeError(
          `Mismatch in shape: grad_output[0] has a shape of ${fmt(gradient.shape)} and output[0] has a shape of ${fmt(this.shape)}.`,
        );
      }
      g = gradient;
    }
    if (this.isLeaf) {
      noGrad(() => accumulateLeaf(this, g));
      return;
    }
    runBackward(this, g, opts, {
      accumulateLeaf,
      add: (a, b) => a.add(b),
      free: (t) => {
        if (t.storage.isStepScoped) t.storage.release("it was a gradient temporary");
      },
    });
    stepBoundary();
  }
}

function scaled(other: Tensor | Scalar, alpha = 1): Tensor | Scalar {
  if (alpha === 1) return other;
  return typeof other === "number" ? other * alpha : other.mul(alpha);
}

/**
 * @internal zeroGrad's zero_() of a gradient: the same value and version bump,
 * with the zeros owed by its memory (Storage.oweZeros) when the gradient
 * covers all of it, so that a backward writing it whole skips them.
 */
export function zeroGradient(g: Tensor): void {
  if (g.numel() > 0 && g.numel() * ELEMENT_BYTES === g.storage.bytes && g.storage.isAlive) {
    g.storage.oweZeros();
    g.storage.version++;
  } else {
    g.zero_();
  }
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad === null) {
    leaf.grad = g.clone();
  } else {
    leaf.grad.add_(g);
  }
}


// ---- creation ---------------------------------------------------------------

function creationOpts(opts: TensorOptions | undefined, fallback: DType = "float32"): { dtype: DType; requiresGrad: boolean } {
  const dtype = opts?.dtype ?? fallback;
  if (dtype !== "float32" && dtype !== "int32") {
    throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}: expected "float32" or "int32"`);
  }
  return { dtype, requiresGrad: opts?.requiresGrad ?? false };
}

function owned(shape: Shape, opts: { dtype: DType; requiresGrad: boolean }): Tensor {
  const t = Tensor.empty(shape, opts.dtype, getBackend(), false);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function shapeArg(shape: readonly number[] | number, rest: number[]): number[] {
  return checkShape(typeof shape === "number" ? [shape, ...rest] : [...shape]);
}

/** Flattens nested arrays, checking they are rectangular. */
function flattenNested(data: NestedArray): { shape: number[]; values: number[] } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as NestedArray;
    if (probe === undefined) break;
  }
  const values: number[] = [];
  const walk = (x: NestedArray, dim: number): void => {
    if (dim === shape.length) {
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
  return { shape, values };
}

/**
 * A tensor from nested arrays, or from a typed array with `shape`.
 * Numbers give float32 (PyTorch would pick int64 for integers: say dtype "int32" for class labels).
 */
export function tensor(
  data: NestedArray | Float32Array | Int32Array | Uint8Array | readonly number[],
  opts?: TensorOptions & { shape?: readonly number[] },
): Tensor {
  let shape: number[];
  let values: ArrayLike<number>;
  if (ArrayBuffer.isView(data)) {
    values = data as Float32Array;
    shape = opts?.shape ? checkShape([...opts.shape]) : [values.length];
    if (numel(shape) !== values.length) {
      throw new RangeError(`tensor(): shape ${fmt(shape)} needs ${numel(shape)} values, got ${values.length}`);
    }
  } else {
    const f = flattenNested(data as NestedArray);
    shape = opts?.shape ? inferShape([...opts.shape], f.values.length, f.shape) : f.shape;
    values = f.values;
  }
  const o = creationOpts(opts, data instanceof Int32Array ? "int32" : "float32");
  if (o.dtype === "int32" && !(data instanceof Int32Array)) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isInteger(values[i])) throw new TypeError(`tensor(): int32 tensor got non-integer value ${values[i]}`);
      // The heap's Int32Array would wrap it silently.
      if (!isInt32(values[i])) throw new RangeError(`tensor(): value ${values[i]} is out of range for int32 (at flat index ${i})`);
    }
  }
  const t = owned(shape, o);
  const p = t.ptr >>> 2;
  if (o.dtype === "int32") t.backend.heap.i32.set(values as ArrayLike<number>, p);
  else t.backend.heap.f32.set(values as ArrayLike<number>, p);
  return t;
}

function isInt32(x: number): boolean {
  return x >= -2147483648 && x <= 2147483647;
}

/** An uninitialised float32 tensor (or dtype), like torch.empty. */
export function empty(shape: readonly number[] | number, opts?: TensorOptions): Tensor {
  return owned(shapeArg(shape, []), creationOpts(opts));
}

export function full(shape: readonly number[] | number, value: number, opts?: TensorOptions): Tensor {
  const t = owned(shapeArg(shape, []), creationOpts(opts));
  return noGrad(() => t.fill_(value));
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
  const t = owned(shapeArg(shape, dims), randomOpts("randn", opts));
  return noGrad(() => t.normal_(0, 1));
}
/** Uniform values in [0, 1) from the seeded generator. */
export function rand(shape: readonly number[] | number, ...rest: [...number[]] | [TensorOptions]): Tensor {
  const { dims, opts } = splitDims(rest);
  const t = owned(shapeArg(shape, dims), randomOpts("rand", opts));
  return noGrad(() => t.uniform_(0, 1));
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
  if (o.dtype === "int32" && n > 0 && !(isInt32(start) && isInt32(start + (n - 1) * step))) {
    throw new RangeError(`arange: values from ${start} to ${start + (n - 1) * step} do not fit in int32`);
  }
  const t = owned([n], o);
  if (o.dtype === "float32") t.backend.kernels.f32_arange(t.ptr, n, start, step);
  else {
    const view = t.backend.heap.i32;
    const p = t.ptr >>> 2;
    for (let i = 0; i < n; i++) view[p + i] = start + i * step;
  }
  return t;
}
