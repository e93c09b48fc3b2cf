// Elementwise kernels: the Wasm backend against the JS backend (the oracle) on
// random data of every size in ODD_SIZES, so that each four-lane loop and its
// 1–3 element tail are both exercised; PyTorch's special-value semantics pinned
// down on both backends; broadcasting and strided copies against a reference
// computed here from the definition.
//
// Tolerances. +, −, ×, ÷, √, max/min, comparisons, abs, neg, relu, sign and
// every backward formula are single IEEE operations (or the same sequence of
// them) in f32 on both backends: exact. exp, log, tanh and sigmoid are Cephes
// single-precision polynomials in Wasm (measured within 1 ulp of the correctly
// rounded value, sigmoid within 2) and f64 Math.* rounded once in JS:
// TRANSCENDENTAL_RTOL = 1e-6 (~8 ulp) leaves margin without hiding a wrong
// formula. Below the normal range (|y| < 2^-126) subnormal spacing makes
// relative error meaningless, so values there are compared absolutely. pow is
// f64 inside on both backends, rounded once: equal (bitwise on 10^6 random
// pairs), but an f64 result within its own error of an f32 tie may round either
// way, hence one ulp (2^-23 relative).

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { BinaryOp, UnaryOp } from "../src/backend/kernels.ts";
import {
  expectClose, getF32, makeBackends, ODD_SIZES, put, putMeta, randomF32, rng, scratch,
} from "./helpers/backends.ts";

const { wasm, js } = makeBackends();
const BOTH = [wasm, js];

const TRANSCENDENTAL_RTOL = 1e-6;
const SMALLEST_NORMAL = 2 ** -126;
/** Exact for every binary op but pow. */
const binaryRtol = (op: BinaryOp) => (op === BinaryOp.Pow ? 2 ** -23 : 0);

const UNARY_OPS = Object.values(UnaryOp).filter((v): v is UnaryOp => typeof v === "number");
const BINARY_OPS = Object.values(BinaryOp).filter((v): v is BinaryOp => typeof v === "number");
const TRANSCENDENTAL = new Set<UnaryOp>([UnaryOp.Exp, UnaryOp.Log, UnaryOp.Sigmoid, UnaryOp.Tanh]);

/** A value as a test name shows it: −0 kept, six significant digits. */
function show(v: number): string {
  return Object.is(v, -0) ? "-0" : String(Number(v.toPrecision(6)));
}

function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expectClose(actual, expected, 0, 0, what);
}

// ---------------------------------------------------------------------------
// Running a kernel on one backend

function unary(be: Backend, op: UnaryOp, x: Float32Array): Float32Array {
  const px = put(be, x);
  const py = scratch(be, x.length);
  be.kernels.f32_unary(op, px, py, x.length);
  return getF32(be, py, x.length);
}

function unaryBackward(be: Backend, op: UnaryOp, x: Float32Array, y: Float32Array, dy: Float32Array): Float32Array {
  const pdx = scratch(be, x.length);
  be.kernels.f32_unary_backward(op, put(be, x), put(be, y), put(be, dy), pdx, x.length);
  return getF32(be, pdx, x.length);
}

function binary(be: Backend, op: BinaryOp, a: Float32Array, b: Float32Array): Float32Array {
  const pout = scratch(be, a.length);
  be.kernels.f32_binary(op, put(be, a), put(be, b), pout, a.length);
  return getF32(be, pout, a.length);
}

function binaryScalar(be: Backend, op: BinaryOp, a: Float32Array, s: number, reversed: boolean): Float32Array {
  const pout = scratch(be, a.length);
  be.kernels.f32_binary_scalar(op, put(be, a), s, pout, a.length, reversed ? 1 : 0);
  return getF32(be, pout, a.length);
}

// ---------------------------------------------------------------------------
// Shapes, strides and a reference broadcast

const numel = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/** Strides (in elements) that read `shape` as `outShape`, NumPy-style: right-aligned, 0 on broadcast axes. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : own[d - lead]));
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const nd = Math.max(a.length, b.length);
  return Array.from({ length: nd }, (_, i) => {
    const da = a[a.length - nd + i] ?? 1;
    const db = b[b.length - nd + i] ?? 1;
    return da === 1 ? db : da;
  });
}

/** The element offset that flat index `index` of a contiguous `shape` reads through `strides`. */
function offsetOf(shape: readonly number[], strides: readonly number[], index: number): number {
  let offset = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    offset += (index % shape[d]) * strides[d];
    index = Math.floor(index / shape[d]);
  }
  return offset;
}

/** a op b by the definition of broadcasting, each result rounded to f32 like a kernel's store. */
function referenceBroadcast(
  op: (x: number, y: number) => number, a: Float32Array, aStrides: number[], b: Float32Array, bStrides: number[],
  outShape: number[],
): Float32Array {
  return Float32Array.from({ length: numel(outShape) }, (_, i) =>
    op(a[offsetOf(outShape, aStrides, i)], b[offsetOf(outShape, bStrides, i)]));
}

function broadcast(
  be: Backend, op: BinaryOp, a: Float32Array, aStrides: number[], b: Float32Array, bStrides: number[],
  outShape: number[],
): Float32Array {
  const n = numel(outShape);
  const pa = put(be, a);
  const pb = put(be, b);
  const pout = scratch(be, n);
  be.kernels.f32_binary_broadcast(op, pa, pb, pout, outShape.length, putMeta(be, [...outShape, ...aStrides, ...bStrides]));
  return getF32(be, pout, n);
}

function stridedCopy(be: Backend, src: Float32Array, srcStrides: number[], shape: number[]): Float32Array {
  const n = numel(shape);
  const pdst = scratch(be, n);
  be.kernels.f32_strided_copy(put(be, src), pdst, shape.length, putMeta(be, [...shape, ...srcStrides]));
  return getF32(be, pdst, n);
}

// ---------------------------------------------------------------------------
// Test data

/** A typical input for each unary op: wide enough to reach range reduction, overflow and the subnormals. */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  switch (op) {
    case UnaryOp.Exp: return randomF32(n, seed, -110, 95);
    // Positive values from 2^-140 (subnormal) to 2^120, plus some non-positive ones.
    case UnaryOp.Log: return randomF32(n, seed, -140, 120).map((e, i) => (i % 7 === 3 ? -e : 2 ** e));
    case UnaryOp.Sigmoid:
    case UnaryOp.Tanh: return randomF32(n, seed, -20, 20);
    default: return randomF32(n, seed, -3, 3);
  }
}

/** b shares every third element with a, so that ties reach the comparisons. */
function binaryInputs(op: BinaryOp, n: number, seed: number): [Float32Array, Float32Array] {
  const a = randomF32(n, seed, -3, 3);
  const b = randomF32(n, seed + 1, -3, 3);
  for (let i = 0; i < n; i += 3) b[i] = a[i];
  // pow: integer exponents (where negative bases have real powers) for every other element.
  if (op === BinaryOp.Pow) for (let i = 1; i < n; i += 2) b[i] = Math.round(b[i] * 2);
  return [a, b];
}

function expectUnaryAgreement(op: UnaryOp, actual: Float32Array, expected: Float32Array, what: string): void {
  if (!TRANSCENDENTAL.has(op)) return expectExact(actual, expected, what);
  expectClose(actual, expected, TRANSCENDENTAL_RTOL, SMALLEST_NORMAL, what);
}

// ---------------------------------------------------------------------------

describe("f32_unary", () => {
  for (const op of UNARY_OPS) {
    it(`${UnaryOp[op]}: Wasm matches JS on every size, SIMD tails included`, () => {
      for (const n of ODD_SIZES) {
        const x = unaryInput(op, n, 100 + n);
        expectUnaryAgreement(op, unary(wasm, op, x), unary(js, op, x), `${UnaryOp[op]} n=${n}`);
      }
    });
  }

  it("computes every op in place (y = x)", () => {
    for (const op of UNARY_OPS) {
      for (const be of BOTH) {
        const x = unaryInput(op, 63, 7);
        const p = put(be, x);
        be.kernels.f32_unary(op, p, p, x.length);
        expectUnaryAgreement(op, getF32(be, p, x.length), unary(js, op, x), `${be.name} ${UnaryOp[op]} in place`);
      }
    }
  });

  // Inputs with the value PyTorch gives for each (NaN compares as NaN).
  const SPECIAL: Record<UnaryOp, [number, number][]> = {
    [UnaryOp.Neg]: [[0, -0], [-0, 0], [Infinity, -Infinity], [NaN, NaN], [2.5, -2.5]],
    [UnaryOp.Abs]: [[-0, 0], [-Infinity, Infinity], [NaN, NaN], [-2.5, 2.5], [3, 3]],
    [UnaryOp.Sqrt]: [[-1, NaN], [0, 0], [-0, -0], [Infinity, Infinity], [4, 2], [NaN, NaN], [-Infinity, NaN]],
    [UnaryOp.Exp]: [
      [0, 1], [-Infinity, 0], [Infinity, Infinity], [NaN, NaN], [89, Infinity], [-1e4, 0], [1e4, Infinity], [1, Math.E],
    ],
    [UnaryOp.Log]: [
      [0, -Infinity], [-0, -Infinity], [-1, NaN], [1, 0], [Infinity, Infinity], [-Infinity, NaN], [NaN, NaN],
      [Math.E, 1], [1e-40, Math.log(1e-40)], [2 ** -149, -149 * Math.LN2],
    ],
    [UnaryOp.Relu]: [[-1, 0], [0, 0], [-0, 0], [2, 2], [NaN, NaN], [-Infinity, 0], [Infinity, Infinity]],
    [UnaryOp.Sigmoid]: [
      [0, 0.5], [1e4, 1], [-1e4, 0], [Infinity, 1], [-Infinity, 0], [NaN, NaN], [100, 1], [-100, 1 / (1 + Math.exp(100))],
    ],
    [UnaryOp.Tanh]: [
      [0, 0], [-0, -0], [1e4, 1], [-1e4, -1], [Infinity, 1], [-Infinity, -1], [NaN, NaN], [1e-5, Math.tanh(1e-5)],
      [0.6, Math.tanh(0.6)], [-0.7, Math.tanh(-0.7)],
    ],
    [UnaryOp.Square]: [[-3, 9], [-0, 0], [1e20, Infinity], [-Infinity, Infinity], [NaN, NaN]],
    [UnaryOp.Sign]: [[-2, -1], [0, 0], [-0, 0], [3, 1], [NaN, NaN], [-Infinity, -1], [Infinity, 1], [1e-45, 1]],
  };

  for (const op of UNARY_OPS) {
    const cases = SPECIAL[op];
    const pairs = cases.map(([x, y]) => `${UnaryOp[op].toLowerCase()}(${show(x)}) = ${show(y)}`).join(", ");
    it(`PyTorch special values: ${pairs}`, () => {
      const x = Float32Array.from(cases, ([v]) => v);
      const expected = Float32Array.from(cases, ([, y]) => y);
      for (const be of BOTH) {
        const y = unary(be, op, x);
        // sigmoid(−100) ≈ 3.7e-44 is below the normal range: any tiny value (or 0) is right.
        expectClose(y, expected, TRANSCENDENTAL_RTOL, SMALLEST_NORMAL, `${be.name} ${UnaryOp[op]}`);
        for (let i = 0; i < cases.length; i++) {
          if (Object.is(expected[i], -0)) expect(Object.is(y[i], -0), `${be.name} ${pairs.split(", ")[i]}`).toBe(true);
        }
      }
    });
  }
});

describe("f32_unary_backward", () => {
  for (const op of UNARY_OPS) {
    it(`${UnaryOp[op]}: Wasm matches JS bitwise on every size`, () => {
      for (const n of ODD_SIZES) {
        const x = unaryInput(op, n, 300 + n);
        const y = unary(js, op, x);
        const dy = randomF32(n, 400 + n, -2, 2);
        expectExact(unaryBackward(wasm, op, x, y, dy), unaryBackward(js, op, x, y, dy), `${UnaryOp[op]} n=${n}`);
      }
    });
  }

  // d op / dx at x = 0.7, from calculus.
  const DERIVATIVE: Record<UnaryOp, (x: number) => number> = {
    [UnaryOp.Neg]: () => -1,
    [UnaryOp.Abs]: () => 1,
    [UnaryOp.Sqrt]: (x) => 0.5 / Math.sqrt(x),
    [UnaryOp.Exp]: (x) => Math.exp(x),
    [UnaryOp.Log]: (x) => 1 / x,
    [UnaryOp.Relu]: () => 1,
    [UnaryOp.Sigmoid]: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2,
    [UnaryOp.Tanh]: (x) => 1 / Math.cosh(x) ** 2,
    [UnaryOp.Square]: (x) => 2 * x,
    [UnaryOp.Sign]: () => 0,
  };

  it("gives dy · op'(x) for every op (relu' = 1, abs' = 1, sqrt' = 0.5/√x, exp' = eˣ, log' = 1/x, σ' = σ(1−σ), tanh' = 1−tanh², square' = 2x, neg' = −1, sign' = 0 at x = 0.7)", () => {
    const x = Float32Array.of(0.7);
    const dy = Float32Array.of(1.5);
    for (const op of UNARY_OPS) {
      for (const be of BOTH) {
        const dx = unaryBackward(be, op, x, unary(be, op, x), dy);
        expectClose(dx, [1.5 * DERIVATIVE[op](x[0])], TRANSCENDENTAL_RTOL, 0, `${be.name} ${UnaryOp[op]}`);
      }
    }
  });

  it("relu' = (x > 0): dx = 0 at x = 0 (like PyTorch), and an infinite dy does not leak through x ≤ 0", () => {
    const x = Float32Array.of(-1, 0, -0, 2, -3);
    const dy = Float32Array.of(5, 5, 5, 5, Infinity);
    for (const be of BOTH) expectExact(unaryBackward(be, UnaryOp.Relu, x, unary(be, UnaryOp.Relu, x), dy), [0, 0, 0, 5, 0], be.name);
  });

  it("abs' = sign(x): dx = 0 at x = 0", () => {
    const x = Float32Array.of(-2, 0, 3);
    const dy = Float32Array.of(4, 4, 4);
    for (const be of BOTH) expectExact(unaryBackward(be, UnaryOp.Abs, x, unary(be, UnaryOp.Abs, x), dy), [-4, 0, 4], be.name);
  });

  it("sign' = 0 everywhere, even for a NaN or infinite dy", () => {
    const x = Float32Array.of(-2, 0, 3);
    const dy = Float32Array.of(NaN, Infinity, 1);
    for (const be of BOTH) expectExact(unaryBackward(be, UnaryOp.Sign, x, unary(be, UnaryOp.Sign, x), dy), [0, 0, 0], be.name);
  });

  it("sqrt' = 0.5/y is +∞ at y = 0; log' = 1/x is ±∞ at ±0", () => {
    for (const be of BOTH) {
      const zero = Float32Array.of(0);
      expectExact(unaryBackward(be, UnaryOp.Sqrt, zero, zero, Float32Array.of(1)), [Infinity], `${be.name} sqrt`);
      expectExact(unaryBackward(be, UnaryOp.Log, Float32Array.of(0, -0), Float32Array.of(-Infinity, -Infinity), Float32Array.of(1, 1)), [Infinity, -Infinity], `${be.name} log`);
    }
  });

  it("computes every op in place (dx = dy)", () => {
    for (const op of UNARY_OPS) {
      for (const be of BOTH) {
        const x = unaryInput(op, 65, 11);
        const y = unary(js, op, x);
        const dy = randomF32(65, 12);
        const expected = unaryBackward(js, op, x, y, dy);
        const pdy = put(be, dy);
        be.kernels.f32_unary_backward(op, put(be, x), put(be, y), pdy, pdy, 65);
        expectExact(getF32(be, pdy, 65), expected, `${be.name} ${UnaryOp[op]}`);
      }
    }
  });
});

describe("f32_binary", () => {
  for (const op of BINARY_OPS) {
    it(`${BinaryOp[op]}: Wasm matches JS on every size, SIMD tails included`, () => {
      for (const n of ODD_SIZES) {
        const [a, b] = binaryInputs(op, n, 500 + n);
        expectClose(binary(wasm, op, a, b), binary(js, op, a, b), binaryRtol(op), 0, `${BinaryOp[op]} n=${n}`);
      }
    });
  }

  it("computes every op in place, into a and into b", () => {
    for (const op of BINARY_OPS) {
      for (const be of BOTH) {
        const [a, b] = binaryInputs(op, 17, 9);
        const expected = binary(js, op, a, b);
        const pa = put(be, a);
        be.kernels.f32_binary(op, pa, put(be, b), pa, 17);
        expectClose(getF32(be, pa, 17), expected, binaryRtol(op), 0, `${be.name} ${BinaryOp[op]} into a`);
        const pb = put(be, b);
        be.kernels.f32_binary(op, put(be, a), pb, pb, 17);
        expectClose(getF32(be, pb, 17), expected, binaryRtol(op), 0, `${be.name} ${BinaryOp[op]} into b`);
      }
    }
  });

  const SPECIAL: [BinaryOp, number, number, number][] = [
    [BinaryOp.Maximum, NaN, 1, NaN], [BinaryOp.Maximum, 1, NaN, NaN], [BinaryOp.Minimum, NaN, 1, NaN],
    [BinaryOp.Minimum, 1, NaN, NaN], [BinaryOp.Maximum, -Infinity, 3, 3], [BinaryOp.Minimum, -Infinity, 3, -Infinity],
    [BinaryOp.Eq, NaN, NaN, 0], [BinaryOp.Ne, NaN, NaN, 1], [BinaryOp.Ne, NaN, 1, 1], [BinaryOp.Lt, NaN, 1, 0],
    [BinaryOp.Le, NaN, 1, 0], [BinaryOp.Gt, 1, NaN, 0], [BinaryOp.Ge, 1, NaN, 0], [BinaryOp.Eq, 0, -0, 1],
    [BinaryOp.Le, 2, 2, 1], [BinaryOp.Lt, 2, 2, 0], [BinaryOp.Ge, -Infinity, -Infinity, 1],
    [BinaryOp.Div, 1, 0, Infinity], [BinaryOp.Div, -1, 0, -Infinity], [BinaryOp.Div, 0, 0, NaN],
    [BinaryOp.Sub, Infinity, Infinity, NaN], [BinaryOp.Mul, 0, Infinity, NaN],
    [BinaryOp.Pow, NaN, 0, 1], [BinaryOp.Pow, 1, NaN, 1], [BinaryOp.Pow, 1, Infinity, 1], [BinaryOp.Pow, -1, Infinity, 1],
    [BinaryOp.Pow, -1, -Infinity, 1], [BinaryOp.Pow, 2, NaN, NaN], [BinaryOp.Pow, NaN, 1, NaN],
    [BinaryOp.Pow, -8, 1 / 3, NaN], [BinaryOp.Pow, -2, 3, -8], [BinaryOp.Pow, -2, 2, 4], [BinaryOp.Pow, -2, -1, -0.5],
    [BinaryOp.Pow, 0, -1, Infinity], [BinaryOp.Pow, -0, -1, -Infinity], [BinaryOp.Pow, -0, -2, Infinity],
    [BinaryOp.Pow, -0, 3, -0], [BinaryOp.Pow, 0, 2, 0], [BinaryOp.Pow, -Infinity, 3, -Infinity],
    [BinaryOp.Pow, -Infinity, -3, -0], [BinaryOp.Pow, Infinity, -1, 0], [BinaryOp.Pow, 0.5, Infinity, 0],
    [BinaryOp.Pow, 2, Infinity, Infinity], [BinaryOp.Pow, 2, -Infinity, 0], [BinaryOp.Pow, 10, 40, Infinity],
    [BinaryOp.Pow, 10, -50, 0], [BinaryOp.Pow, 2, -149, 2 ** -149], [BinaryOp.Pow, 2, 127, 2 ** 127],
    [BinaryOp.Pow, 2, 0.5, Math.SQRT2], [BinaryOp.Pow, 3, 5, 243], [BinaryOp.Pow, -3, 1e10, Infinity],
  ];

  for (const [op, x, y, expected] of SPECIAL) {
    it(`PyTorch semantics: ${BinaryOp[op].toLowerCase()}(${show(x)}, ${show(y)}) = ${show(expected)}`, () => {
      for (const be of BOTH) {
        // Also in the middle of a vector and in the tail.
        const a = new Float32Array(6).fill(x), b = new Float32Array(6).fill(y);
        const out = binary(be, op, a, b);
        expectClose(out, new Float32Array(6).fill(expected), binaryRtol(op), 0, be.name);
        if (Object.is(expected, -0)) expect(out.every((v) => Object.is(v, -0)), `${be.name} sign of zero`).toBe(true);
      }
    });
  }
});

describe("f32_binary_scalar", () => {
  for (const op of BINARY_OPS) {
    it(`${BinaryOp[op]}: a op s and s op a (reversed) match JS and the contiguous kernel`, () => {
      for (const n of ODD_SIZES) {
        const [a] = binaryInputs(op, n, 600 + n);
        const s = op === BinaryOp.Pow ? 3 : a[n >> 1];
        const rtol = binaryRtol(op);
        const splat = new Float32Array(n).fill(s);
        for (const reversed of [false, true]) {
          const w = binaryScalar(wasm, op, a, s, reversed);
          expectClose(w, binaryScalar(js, op, a, s, reversed), rtol, 0, `${BinaryOp[op]} n=${n} reversed=${reversed}`);
          expectClose(w, reversed ? binary(wasm, op, splat, a) : binary(wasm, op, a, splat), rtol, 0, `${BinaryOp[op]} n=${n} as a tensor`);
        }
      }
    });
  }

  it("rounds the scalar to f32 first (0.1 is f32(0.1))", () => {
    for (const be of BOTH) {
      const out = binaryScalar(be, BinaryOp.Eq, Float32Array.of(0.1), 0.1, false);
      expectExact(out, [1], be.name);
    }
  });

  it("computes in place (out = a)", () => {
    for (const be of BOTH) {
      const a = randomF32(31, 3);
      const pa = put(be, a);
      be.kernels.f32_binary_scalar(BinaryOp.Sub, pa, 2, pa, 31, 1);
      expectExact(getF32(be, pa, 31), a.map((v) => 2 - v), be.name);
    }
  });
});

describe("f32_binary_broadcast", () => {
  // [a shape, b shape]: the Linear-layer fast paths first, then the general N-d walk.
  const SHAPES: [string, number[], number[]][] = [
    ...ODD_SIZES.map((n): [string, number[], number[]] => [`[m,n]⊕[n] (row vector), n=${n}`, [3, n], [n]]),
    ...ODD_SIZES.map((n): [string, number[], number[]] => [`[m,n]⊕[m,1] (column), n=${n}`, [5, n], [5, 1]]),
    ...ODD_SIZES.map((n): [string, number[], number[]] => [`[1,n]⊕[m,1] (outer), n=${n}`, [1, n], [4, 1]]),
    ["[m,1]⊕[1,n]", [7, 1], [1, 9]],
    ["[m,n]⊕[] (scalar tensor)", [6, 5], []],
    ["[]⊕[m,n] (scalar tensor first)", [], [6, 5]],
    ["[m,n]⊕[1,1]", [3, 17], [1, 1]],
    ["[m,n]⊕[m,n] (same shape)", [9, 13], [9, 13]],
    ["[n]⊕[m,n]", [17], [3, 17]],
    ["[m,1]⊕[m,n]", [4, 1], [4, 7]],
    ["3-d [2,3,5]⊕[3,1]", [2, 3, 5], [3, 1]],
    ["3-d [4,1,5]⊕[1,3,1]", [4, 1, 5], [1, 3, 1]],
    ["3-d [2,3,17]⊕[2,1,17]", [2, 3, 17], [2, 1, 17]],
    ["3-d [1,1,1]⊕[2,3,4]", [1, 1, 1], [2, 3, 4]],
    ["4-d [2,3,4,5]⊕[1,3,1,5]", [2, 3, 4, 5], [1, 3, 1, 5]],
    ["4-d [2,1,4,1]⊕[1,3,1,5]", [2, 1, 4, 1], [1, 3, 1, 5]],
    ["4-d [3,2,1,7]⊕[3,1,5,1]", [3, 2, 1, 7], [3, 1, 5, 1]],
    ["4-d [2,3,4,5]⊕[5]", [2, 3, 4, 5], [5]],
    ["5-d [2,1,3,1,2]⊕[1,2,1,3,1]", [2, 1, 3, 1, 2], [1, 2, 1, 3, 1]],
  ];

  for (const [name, aShape, bShape] of SHAPES) {
    it(`${name}: every op matches the definition of broadcasting, on both backends`, () => {
      const outShape = broadcastShape(aShape, bShape);
      const a = randomF32(numel(aShape), numel(aShape), -3, 3);
      const b = randomF32(numel(bShape), numel(bShape) + 1, -3, 3);
      const aStrides = broadcastStrides(aShape, outShape);
      const bStrides = broadcastStrides(bShape, outShape);
      for (const op of BINARY_OPS) {
        const rtol = binaryRtol(op);
        const expected = broadcast(js, op, a, aStrides, b, bStrides, outShape);
        // The JS backend itself against the definition, with an op that shows any misplaced element.
        if (op === BinaryOp.Sub) expectExact(expected, referenceBroadcast((x, y) => x - y, a, aStrides, b, bStrides, outShape), "JS Sub");
        expectClose(broadcast(wasm, op, a, aStrides, b, bStrides, outShape), expected, rtol, 0, `${BinaryOp[op]}`);
      }
    });
  }

  it("reads operands through arbitrary strides: a transposed view, and a slice of a wider row", () => {
    // a is a [5, 3] view of a stored [3, 5] (strides [1, 5]); b is [5, 3] taken from a [5, 8] buffer (strides [8, 1]).
    const outShape = [5, 3];
    const a = randomF32(15, 21);
    const b = randomF32(40, 22);
    for (const op of [BinaryOp.Add, BinaryOp.Div, BinaryOp.Maximum, BinaryOp.Lt]) {
      const expected = broadcast(js, op, a, [1, 5], b, [8, 1], outShape);
      expectExact(broadcast(wasm, op, a, [1, 5], b, [8, 1], outShape), expected, BinaryOp[op]);
    }
    expectExact(broadcast(wasm, BinaryOp.Sub, a, [1, 5], b, [8, 1], outShape), referenceBroadcast((x, y) => x - y, a, [1, 5], b, [8, 1], outShape), "Sub by definition");
  });

  it("computes in place when out is a (same shape as out)", () => {
    for (const be of BOTH) {
      const a = randomF32(6 * 17, 31), b = randomF32(17, 32);
      const pa = put(be, a);
      be.kernels.f32_binary_broadcast(BinaryOp.Add, pa, put(be, b), pa, 2, putMeta(be, [6, 17, 17, 1, 0, 1]));
      expectExact(getF32(be, pa, a.length), a.map((v, i) => Math.fround(v + b[i % 17])), be.name);
    }
  });

  it("writes nothing for an empty output ([0,3]⊕[3])", () => {
    for (const be of BOTH) {
      const out = scratch(be, 4);
      be.kernels.f32_binary_broadcast(BinaryOp.Add, put(be, randomF32(3, 1)), put(be, randomF32(3, 2)), out, 2, putMeta(be, [0, 3, 3, 1, 0, 1]));
      expect(getF32(be, out, 4).every(Number.isNaN), be.name).toBe(true);
    }
  });
});

describe("f32_strided_copy", () => {
  /** Copies `shape` out of `src` read through `strides`, on both backends, against the definition. */
  function check(src: Float32Array, strides: number[], shape: number[], what: string): void {
    const expected = Float32Array.from({ length: numel(shape) }, (_, i) => src[offsetOf(shape, strides, i)]);
    for (const be of BOTH) expectExact(stridedCopy(be, src, strides, shape), expected, `${be.name} ${what}`);
  }

  it("materialises a transpose [m,n] → [n,m] for sizes around the 16-row bands and the SIMD width", () => {
    for (const m of [1, 3, 15, 16, 17, 40]) {
      for (const n of [1, 2, 5, 16, 33]) check(randomF32(m * n, m * 100 + n), [1, n], [n, m], `m=${m} n=${n}`);
    }
  });

  it("materialises an expand: [1,n] → [m,n] (stride 0 rows) and [m,1] → [m,n] (stride 0 within rows)", () => {
    for (const n of ODD_SIZES) {
      check(randomF32(n, n), [0, 1], [4, n], `rows n=${n}`);
      check(randomF32(4, n), [1, 0], [4, n], `columns n=${n}`);
    }
  });

  it("copies a contiguous block, a slice with a row pitch, and a stepped slice", () => {
    const src = randomF32(12 * 10, 5);
    check(src, [10, 1], [12, 10], "contiguous");
    check(src, [10, 1], [12, 7], "first 7 of each 10-wide row");
    check(src, [20, 3], [6, 3], "every 2nd row, every 3rd column");
  });

  it("materialises 3-d and 4-d permutations and broadcasts", () => {
    const src = randomF32(2 * 3 * 4 * 5, 6);
    check(src, [1, 2, 6], [4, 3, 2], "permute(2,1,0) of [2,3,4]");
    check(src, [60, 1, 20, 5], [2, 5, 3, 4], "permute(0,3,1,2) of [2,3,4,5]");
    check(src, [5, 1, 20, 60], [4, 5, 3, 2], "permute(2,3,1,0) of [2,3,4,5]");
    check(src, [0, 20, 5, 1], [3, 3, 4, 5], "expand [1,3,4,5] → [3,3,4,5]");
    check(src, [20, 0, 5, 0], [3, 2, 4, 3], "expand of a [3,1,4,1] view");
  });

  it("copies a single element for ndim = 0, and nothing for an empty shape", () => {
    check(Float32Array.of(42), [], [], "scalar");
    for (const be of BOTH) {
      const dst = scratch(be, 2);
      be.kernels.f32_strided_copy(put(be, randomF32(4, 1)), dst, 2, putMeta(be, [2, 0, 1, 1]));
      expect(getF32(be, dst, 2).every(Number.isNaN), be.name).toBe(true);
    }
  });
});

describe("bounds", () => {
  it("no kernel writes past the n-th element (the vector tails store lane by lane)", () => {
    const kernels: [string, (be: Backend, out: number, n: number) => void][] = [
      ["f32_unary", (be, out, n) => be.kernels.f32_unary(UnaryOp.Exp, put(be, randomF32(n, 1)), out, n)],
      ["f32_unary_backward", (be, out, n) => {
        const x = put(be, randomF32(n, 2));
        be.kernels.f32_unary_backward(UnaryOp.Tanh, x, x, put(be, randomF32(n, 3)), out, n);
      }],
      ["f32_binary", (be, out, n) => be.kernels.f32_binary(BinaryOp.Pow, put(be, randomF32(n, 4, 0, 2)), put(be, randomF32(n, 5)), out, n)],
      ["f32_binary_scalar", (be, out, n) => be.kernels.f32_binary_scalar(BinaryOp.Div, put(be, randomF32(n, 6)), 3, out, n, 1)],
      ["f32_fill", (be, out, n) => be.kernels.f32_fill(out, n, 1)],
      ["f32_arange", (be, out, n) => be.kernels.f32_arange(out, n, 0, 1)],
      ["i32_to_f32", (be, out, n) => be.kernels.i32_to_f32(put(be, new Int32Array(n).fill(7)), out, n)],
      ["u8_to_f32", (be, out, n) => be.kernels.u8_to_f32(put(be, new Uint8Array(n).fill(7)), out, n, 1)],
    ];
    for (const [name, run] of kernels) {
      for (const be of BOTH) {
        for (const n of [1, 2, 3, 5, 6, 7, 9, 15]) {
          const out = scratch(be, n + 1);
          run(be, out, n);
          const values = getF32(be, out, n + 1);
          expect(values.subarray(0, n).some(Number.isNaN), `${be.name} ${name} n=${n} wrote every element`).toBe(false);
          expect(values[n], `${be.name} ${name} n=${n}`).toBeNaN();
        }
      }
    }
  });
});

describe("fills and conversions", () => {
  it("f32_fill writes n copies of f32(value) and no more", () => {
    for (const be of BOTH) {
      for (const n of ODD_SIZES) {
        const p = scratch(be, n + 1);
        be.kernels.f32_fill(p, n, 0.1);
        const out = getF32(be, p, n + 1);
        expectExact(out.subarray(0, n), new Float32Array(n).fill(0.1), `${be.name} n=${n}`);
        expect(out[n]).toBeNaN();
      }
    }
  });

  it("f32_arange gives f32(start + i·step) computed without drift", () => {
    for (const be of BOTH) {
      for (const n of ODD_SIZES) {
        const p = scratch(be, n);
        be.kernels.f32_arange(p, n, -1.5, 0.1);
        expectExact(getF32(be, p, n), Float32Array.from({ length: n }, (_, i) => -1.5 + i * 0.1), `${be.name} n=${n}`);
      }
    }
  });

  it("i32_to_f32 rounds to nearest even beyond 2^24, like Float32Array", () => {
    const r = rng(3);
    for (const n of ODD_SIZES) {
      const src = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 2 ** 24 + i : Math.floor((r() - 0.5) * 2 ** 31)));
      for (const be of BOTH) {
        const p = scratch(be, n);
        be.kernels.i32_to_f32(put(be, src), p, n);
        expectExact(getF32(be, p, n), Float32Array.from(src), `${be.name} n=${n}`);
      }
    }
  });

  it("u8_to_f32 scales bytes by f32(scale): 0 → 0 and 255 → 1 with scale 1/255", () => {
    for (const n of [...ODD_SIZES, 256]) {
      const src = Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
      if (n > 2) src[n - 1] = 255;
      for (const be of BOTH) {
        const p = scratch(be, n);
        be.kernels.u8_to_f32(put(be, src), p, n, 1 / 255);
        const out = getF32(be, p, n);
        expectExact(out, Float32Array.from(src, (v) => v * Math.fround(1 / 255)), `${be.name} n=${n}`);
        if (n > 2) expect(out[n - 1]).toBe(1);
      }
    }
  });

  it("u8_gather_rows_to_f32 writes rows r0 … r0 + rows − 1 as src row indices[r] × f32(scale), the same on both backends", () => {
    for (const rowLength of [1, 7, 8, 9, 784]) {
      const images = 11;
      const src = Uint8Array.from({ length: images * rowLength }, (_, i) => (i * 37 + 11) % 256);
      src[src.length - 1] = 255;
      const indices = Int32Array.of(10, 0, 3, 3, 10, 7);
      const want = new Float32Array(indices.length * rowLength).fill(NaN);
      const [r0, rows] = [1, 4];
      for (let r = r0; r < r0 + rows; r++) {
        for (let j = 0; j < rowLength; j++) want[r * rowLength + j] = src[indices[r]! * rowLength + j]! * Math.fround(1 / 255);
      }
      for (const be of BOTH) {
        const out = scratch(be, want.length);
        be.kernels.u8_gather_rows_to_f32(put(be, src), put(be, indices), out, r0, rows, rowLength, 1 / 255);
        // Rows outside [r0, r0 + rows) stay untouched (NaN): a thread writes its own rows only.
        expectExact(getF32(be, out, want.length), want, `${be.name} rowLength=${rowLength}`);
      }
    }
  });

  it("f32_gather_rows copies rows r0 … r0 + rows − 1 from src row indices[r], bit for bit (NaN payloads too), the same on both backends", () => {
    for (const rowLength of [1, 3, 4, 5, 784]) {
      const src = Int32Array.from({ length: 11 * rowLength }, (_, i) => (i * 2654435761) | 0); // NaN patterns among them
      const indices = Int32Array.of(10, 0, 3, 3, 10, 7);
      const [r0, rows] = [1, 4];
      const want = new Int32Array(indices.length * rowLength);
      new Float32Array(want.buffer).fill(NaN);
      for (let r = r0; r < r0 + rows; r++) want.set(src.subarray(indices[r]! * rowLength, (indices[r]! + 1) * rowLength), r * rowLength);
      for (const be of BOTH) {
        const out = scratch(be, want.length);
        be.kernels.f32_gather_rows(put(be, src), put(be, indices), out, r0, rows, rowLength);
        expect(be.heap.i32.slice(out >>> 2, (out >>> 2) + want.length), `${be.name} rowLength=${rowLength}`).toEqual(want);
      }
    }
  });

  it("f32_broadcast_rows seeds every row of an [m, n] matrix with the bias", () => {
    for (const n of ODD_SIZES) {
      const bias = randomF32(n, n);
      for (const be of BOTH) {
        const c = scratch(be, 3 * n);
        be.kernels.f32_broadcast_rows(put(be, bias), c, 3, n);
        expectExact(getF32(be, c, 3 * n), Float32Array.from({ length: 3 * n }, (_, i) => bias[i % n]), `${be.name} n=${n}`);
      }
    }
  });
});
