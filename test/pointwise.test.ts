// Pointwise kernels (assembly/pointwise.ts): the Wasm backend against the JS
// oracle on random data of every size in ODD_SIZES and on special values, and
// the one-hot kernel's contract.
//
// Tolerances. Clamp and leaky ReLU (and their backwards) are one comparison
// and at most one f32-exact product: bitwise equal. sin and cos are musl's
// reduction and polynomials in f64 in Wasm and Math.sin / Math.cos in JS,
// each rounded once to f32: within one ulp (2^-23 relative), measured on
// 2·10^5 values of every magnitude up to 3.4e38. GELU's two forms are the same
// f64 formula on both sides with a different exp: within one ulp.

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { PointwiseOp } from "../src/backend/kernels.ts";
import { expectClose, getF32, getI32, makeBackends, ODD_SIZES, put, randomF32, rng, scratch } from "./helpers/backends.ts";

const { wasm, js } = makeBackends();
const ULP = 2 ** -23;
/** Below 2^-126 relative error means nothing: compare subnormal results absolutely. */
const SUBNORMAL = 2 ** -126;

const OPS: [PointwiseOp, string, number, number, number][] = [
  // op, name, a, b, rtol
  [PointwiseOp.Sin, "sin", 0, 0, ULP],
  [PointwiseOp.Cos, "cos", 0, 0, ULP],
  [PointwiseOp.Clamp, "clamp(-0.25, 0.5)", -0.25, 0.5, 0],
  [PointwiseOp.LeakyRelu, "leakyRelu(0.01)", Math.fround(0.01), 0, 0],
  [PointwiseOp.Gelu, "gelu", 0, 0, ULP],
  [PointwiseOp.GeluTanh, "gelu (tanh)", 0, 0, ULP],
];

function forward(be: Backend, op: PointwiseOp, x: Float32Array, a: number, b: number): Float32Array {
  const py = scratch(be, x.length);
  be.kernels.f32_pointwise(op, put(be, x), py, x.length, a, b);
  return getF32(be, py, x.length);
}

function backward(be: Backend, op: PointwiseOp, x: Float32Array, dy: Float32Array, a: number, b: number): Float32Array {
  const pdx = scratch(be, x.length);
  be.kernels.f32_pointwise_backward(op, put(be, x), put(be, dy), pdx, x.length, a, b);
  return getF32(be, pdx, x.length);
}

/** Values of every binade from 2^-100 to 2^127, both signs. */
function everyMagnitude(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * 2 ** Math.floor(r() * 228 - 100));
}

describe("pointwise kernels: Wasm matches the JS oracle", () => {
  for (const [op, name, a, b, rtol] of OPS) {
    it(`${name} forward and backward on every size in ODD_SIZES`, () => {
      for (const n of ODD_SIZES) {
        const x = randomF32(n, n, -6, 6);
        const dy = randomF32(n, n + 1);
        expectClose(forward(wasm, op, x, a, b), forward(js, op, x, a, b), rtol, SUBNORMAL, `${name} forward, n = ${n}`);
        expectClose(backward(wasm, op, x, dy, a, b), backward(js, op, x, dy, a, b), rtol, SUBNORMAL, `${name} backward, n = ${n}`);
      }
    });
  }

  it("sin and cos stay within an ulp of Math.sin / Math.cos for arguments of every magnitude up to 3.4e38", () => {
    const x = everyMagnitude(20000, 7);
    x.set([421657428, 421657400, 1e38, 3.4028234663852886e38, -3e20, 1e10, Math.PI, -Math.PI / 2]);
    for (const op of [PointwiseOp.Sin, PointwiseOp.Cos]) {
      expectClose(forward(wasm, op, x, 0, 0), forward(js, op, x, 0, 0), ULP, SUBNORMAL, op === PointwiseOp.Sin ? "sin" : "cos");
    }
  });

  it("gelu's erfc keeps its relative accuracy in the far negative tail (no 1 + erf cancellation)", () => {
    const x = Float32Array.of(-5, -8, -10, -12);
    const y = forward(wasm, PointwiseOp.Gelu, x, 0, 0);
    // x·Φ(x) from the asymptotic series Φ(x) ≈ φ(x)/|x|·(1 − 1/x² + 3/x⁴ − 15/x⁶).
    const want = Array.from(x, (v) => v * (Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI) / -v) * (1 - 1 / v ** 2 + 3 / v ** 4 - 15 / v ** 6 + 105 / v ** 8));
    expectClose(y.slice(1), want.slice(1), 1e-4, 0, "gelu tail");
    expect(y[0]).toBeLessThan(0);
  });
});

describe("pointwise kernels: special values, on both backends", () => {
  for (const be of [wasm, js]) {
    it(`sin and cos of ±∞ and NaN are NaN; sin(−0) = −0 (${be.name})`, () => {
      const x = Float32Array.of(Infinity, -Infinity, NaN, -0);
      const s = forward(be, PointwiseOp.Sin, x, 0, 0);
      const c = forward(be, PointwiseOp.Cos, x, 0, 0);
      expect(Array.from(s.slice(0, 3)).every(Number.isNaN)).toBe(true);
      expect(Object.is(s[3], -0)).toBe(true);
      expect(Array.from(c.slice(0, 3)).every(Number.isNaN)).toBe(true);
      expect(c[3]).toBe(1);
    });

    it(`clamp passes NaN through, gives max when min > max, and its gradient flows at the bounds, not beyond (${be.name})`, () => {
      const x = Float32Array.of(NaN, -1, -0.25, 0, 0.5, 2);
      expectClose(forward(be, PointwiseOp.Clamp, x, -0.25, 0.5), [NaN, -0.25, -0.25, 0, 0.5, 0.5], 0, 0, "clamp");
      expectClose(forward(be, PointwiseOp.Clamp, x, 1, -1), [NaN, -1, -1, -1, -1, -1], 0, 0, "clamp, min > max");
      expectClose(backward(be, PointwiseOp.Clamp, x, new Float32Array(6).fill(3), -0.25, 0.5), [0, 0, 3, 3, 3, 0], 0, 0, "clamp'");
      expectClose(forward(be, PointwiseOp.Clamp, x, -Infinity, 0), [NaN, -1, -0.25, 0, 0, 0], 0, 0, "clamp(max = 0)");
    });

    it(`leaky ReLU's slope applies at x ≤ 0 (and, as in PyTorch, to the gradient at NaN), the identity's above (${be.name})`, () => {
      const x = Float32Array.of(-2, 0, 3, NaN);
      expectClose(forward(be, PointwiseOp.LeakyRelu, x, 0.5, 0), [-1, 0, 3, NaN], 0, 0, "leakyRelu");
      expectClose(backward(be, PointwiseOp.LeakyRelu, x, new Float32Array(4).fill(2), 0.5, 0), [1, 1, 2, 1], 0, 0, "leakyRelu'");
    });

    it(`gelu saturates to 0 and x for large |x|, with gradient 0 and 1, never NaN (${be.name})`, () => {
      const x = Float32Array.of(-1e4, -60, 60, 1e4);
      for (const op of [PointwiseOp.Gelu, PointwiseOp.GeluTanh]) {
        expectClose(forward(be, op, x, 0, 0), [-0, -0, 60, 1e4], 0, 1e-30, "gelu");
        expectClose(backward(be, op, x, new Float32Array(4).fill(1), 0, 0), [0, 0, 1, 1], 0, 1e-30, "gelu'");
      }
    });

    it(`one-hot writes 1 at each label, zero rows for the ignored label, and reports the first bad label (${be.name})`, () => {
      const labels = put(be, Int32Array.of(2, -100, 0));
      const out = scratch(be, 9);
      expect(be.kernels.i32_one_hot(labels, out, 3, 3, -100)).toBe(-1);
      expect(Array.from(getI32(be, out, 9))).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 0]);
      expect(be.kernels.i32_one_hot(put(be, Int32Array.of(1, 3, -1)), scratch(be, 9), 3, 3, -100)).toBe(1);
      expect(be.kernels.i32_one_hot(put(be, Int32Array.of(1, -1)), scratch(be, 6), 2, 3, -100)).toBe(1);
    });
  }
});
