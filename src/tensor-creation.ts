// The creation functions: tensor() from nested arrays or a typed array, and
// empty, full, zeros, ones, randn, rand, zerosLike, onesLike and arange.

import { getBackend } from "./backend/index.ts";
import { withoutGrad } from "./autograd.ts";
import { checkShape, fmt, inferShape, numel, type Shape } from "./shape.ts";
import { beginOp } from "./storage.ts";
import { Tensor, type DType, type NestedInput, type TensorOptions } from "./tensor.ts";
import { checkFillValue } from "./tensor-values.ts";

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
