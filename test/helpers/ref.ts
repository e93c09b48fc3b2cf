// Float64 reference arithmetic for gradient checks: small, obvious, slow.

export type Arr = { shape: number[]; data: Float64Array };

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    return da === 1 ? db : da;
  });
}

function indexFor(shape: readonly number[], outShape: readonly number[], flat: number): number {
  const off = outShape.length - shape.length;
  const st = stridesOf(shape);
  let rem = flat;
  let idx = 0;
  const outSt = stridesOf(outShape);
  for (let i = 0; i < outShape.length; i++) {
    const c = Math.floor(rem / outSt[i]);
    rem -= c * outSt[i];
    if (i >= off && shape[i - off] !== 1) idx += c * st[i - off];
  }
  return idx;
}

export function map2(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const shape = broadcastShape(a.shape, b.shape);
  const n = numelOf(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = f(a.data[indexFor(a.shape, shape, i)], b.data[indexFor(b.shape, shape, i)]);
  return { shape, data };
}

export function map1(a: Arr, f: (x: number) => number): Arr {
  return { shape: a.shape, data: a.data.map(f) };
}

/** Reduces over `dims` (sorted any way) with f, keeping dims of size 1 if keepdim. */
export function reduceDims(a: Arr, dims: number[], init: number, f: (acc: number, x: number) => number, keepdim = false): Arr {
  const kept = a.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const n = numelOf(kept);
  const out = new Float64Array(n).fill(init);
  const st = stridesOf(a.shape);
  const kst = stridesOf(kept);
  for (let i = 0; i < a.data.length; i++) {
    let rem = i;
    let o = 0;
    for (let d = 0; d < a.shape.length; d++) {
      const c = Math.floor(rem / st[d]);
      rem -= c * st[d];
      if (!dims.includes(d)) o += c * kst[d];
    }
    out[o] = f(out[o], a.data[i]);
  }
  return { shape: keepdim ? kept : a.shape.filter((_, i) => !dims.includes(i)), data: out };
}

export function matmul2(a: Arr, b: Arr): Arr {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const data = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a.data[i * k + p] * b.data[p * n + j];
    data[i * n + j] = s;
  }
  return { shape: [m, n], data };
}

export function sumAll(a: Arr): number {
  return a.data.reduce((x, y) => x + y, 0);
}

/** Applies f to every line of a along dim (f maps a line to a line of the same length). */
export function alongDim(a: Arr, dim: number, f: (line: number[]) => number[]): Arr {
  const d = dim < 0 ? dim + a.shape.length : dim;
  const size = a.shape[d];
  const inner = numelOf(a.shape.slice(d + 1));
  const outer = numelOf(a.shape.slice(0, d));
  const data = new Float64Array(a.data.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    const at = (s: number) => (o * size + s) * inner + i;
    const line = Array.from({ length: size }, (_, s) => a.data[at(s)]);
    f(line).forEach((v, s) => (data[at(s)] = v));
  }
  return { shape: a.shape, data };
}

/** erf by its Taylor series: exact to ~1e-13 for |z| < 3, plenty for a gradient check. */
export function erfSeries(z: number): number {
  let term = z;
  let sum = z;
  for (let n = 1; n < 80; n++) {
    term *= (-z * z) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
