// Shapes: validation, broadcasting, strides, dims, and how they read in errors.

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "[2, 3]": how shapes read in error messages, like PyTorch's torch.Size. */
export function fmt(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function checkShape(shape: readonly unknown[], what = "shape"): number[] {
  const out: number[] = [];
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new TypeError(`wasmgrad: ${what} must be a list of non-negative integers, got [${shape.map(String).join(", ")}]`);
    }
    out.push(d);
  }
  return out;
}

/** Contiguous row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** NumPy broadcasting of two shapes, or a PyTorch-style error. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}` +
          ` (shapes ${fmt(a)} and ${fmt(b)})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read `shape` (right-aligned) as if it had shape `target`: 0 on broadcast axes. */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const off = target.length - shape.length;
  return target.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : own[i - off]));
}

/** Normalises a possibly negative dim, with PyTorch's error when out of range. */
export function normDim(dim: number, ndim: number): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(`Dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${dim})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Resolves a view/reshape request with at most one -1. */
export function inferShape(request: readonly number[], total: number, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  request.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new RangeError("only one dimension can be inferred");
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`invalid shape dimension ${d} in ${fmt(request)}`);
    } else known *= d;
  });
  const out = [...request];
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new RangeError(`shape '${fmt(request)}' is invalid for input of size ${total}`);
    }
    out[infer] = total / known;
  } else if (known !== total) {
    throw new RangeError(`shape '${fmt(request)}' is invalid for input of size ${total} (tensor of shape ${fmt(from)})`);
  }
  return out;
}
