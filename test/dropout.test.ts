// Dropout: each element kept with probability exactly 1 − p, decided by the
// uniform stream of random_uniform; survivors scaled by PyTorch's 1/(1 − p).

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { UnaryOp } from "../src/backend/kernels.ts";
import { getF32, getU8, makeBackends, ODD_SIZES, put, randomF32, scratch } from "./helpers/backends.ts";

const backends = makeBackends();
const both = [backends.wasm, backends.js];

interface DropoutResult {
  y: Float32Array;
  mask: Uint8Array;
}

function dropout(be: Backend, x: Float32Array, p: number, seedLo: number, seedHi: number, offset: number): DropoutResult {
  const n = x.length;
  const xp = put(be, x);
  const yp = scratch(be, n + 1);
  const mp = be.allocator.alloc(n + 1);
  be.heap.u8.fill(0xee, mp, mp + n + 1);
  be.kernels.f32_dropout(xp, yp, mp, n, p, seedLo, seedHi, offset);
  const y = getF32(be, yp, n + 1);
  const mask = getU8(be, mp, n + 1);
  expect(y[n], "the slot after y is untouched").toBeNaN();
  expect(mask[n], "the byte after the mask is untouched").toBe(0xee);
  for (const ptr of [xp, yp, mp]) be.allocator.free(ptr);
  return { y: y.subarray(0, n), mask: mask.subarray(0, n) };
}

/**
 * Runs a dropout backward kernel, (dy, saved, dx, n, p) with saved the forward's
 * mask or output, on copies of its inputs; in place, dx overwrites dy.
 */
function backward(
  be: Backend, kernel: "f32_dropout_backward" | "f32_relu_dropout_backward",
  dy: Float32Array, saved: Uint8Array | Float32Array, p: number, inPlace: boolean,
): Float32Array {
  const n = dy.length;
  const dyp = put(be, dy);
  const sp = put(be, saved);
  const dxp = inPlace ? dyp : scratch(be, n);
  be.kernels[kernel](dyp, sp, dxp, n, p);
  const dx = getF32(be, dxp, n);
  for (const ptr of new Set([dyp, sp, dxp])) be.allocator.free(ptr);
  return dx;
}

function dropoutBackward(be: Backend, dy: Float32Array, mask: Uint8Array, p: number, inPlace = false): Float32Array {
  return backward(be, "f32_dropout_backward", dy, mask, p, inPlace);
}

/** PyTorch's survivor scale: (float)1 / (float)(1 − p). */
function survivorScale(p: number): number {
  return Math.fround(1 / Math.fround(1 - p));
}

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function countDropped(mask: Uint8Array): number {
  let dropped = 0;
  for (const m of mask) if (m === 0) dropped++;
  return dropped;
}

const N = 1_000_000;
const ones = new Float32Array(N).fill(1);

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_dropout", (_name, be) => {
  it.each([0.2, 0.5, 0.9])("drops a fraction p = %s of 10^6 elements, within 4σ", (p) => {
    const { mask } = dropout(be, ones, p, 1234, 0, 0);
    const sigma = Math.sqrt((p * (1 - p)) / N);
    expect(Math.abs(countDropped(mask) / N - p)).toBeLessThan(4 * sigma);
  });

  it.each([0.2, 0.5, 0.9])("preserves the mean (E[y] = x) at p = %s, within 4σ", (p) => {
    const { y } = dropout(be, ones, p, 77, 1, 5000);
    let sum = 0;
    for (const v of y) sum += v;
    // y = scale·Bernoulli(1 − p): its standard deviation is scale·sqrt(p(1 − p)).
    const sigma = (survivorScale(p) * Math.sqrt(p * (1 - p))) / Math.sqrt(N);
    expect(Math.abs(sum / N - 1)).toBeLessThan(4 * sigma);
  });

  it("draws uniform numbers, not normal ones: p = 0.5 drops 50% (randn(...) < keep_prob would drop 30.9%)", () => {
    // The book's circulating copy keeps where randn(X.shape) < keep_prob, which drops
    // 1 − Φ(1 − p): 30.85% at p = 0.5 and 15.87% at p = 0.
    const dropped = countDropped(dropout(be, ones, 0.5, 2024, 0, 0).mask) / N;
    expect(Math.abs(dropped - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / N));
    expect(Math.abs(dropped - 0.3085)).toBeGreaterThan(0.1);
  });

  it("is the identity at p = 0: every mask byte 1, y bitwise x (randn-based dropout would drop 15.9%)", () => {
    const x = randomF32(100_003, 1, -5, 5);
    x[7] = Infinity;
    x[8] = -0;
    const { y, mask } = dropout(be, x, 0, 9, 9, 9);
    expect(mask.every((m) => m === 1)).toBe(true);
    expect(bytesOf(y).equals(bytesOf(x))).toBe(true);
  });

  it("gives all zeros at p = 1, never NaN or ∞, even for infinite inputs", () => {
    const x = randomF32(10_007, 2, -5, 5);
    x[0] = Infinity;
    x[1] = -Infinity;
    x[2] = 3e38;
    const { y, mask } = dropout(be, x, 1, 9, 9, 9);
    expect(mask.every((m) => m === 0)).toBe(true);
    expect(y.every((v) => Object.is(v, 0))).toBe(true);
  });

  it.each([0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1 / 3])(
    "scales survivors by PyTorch's f32 1/(1 − p), bit for bit, at p = %s, and zeroes the rest",
    (p) => {
      const x = randomF32(4099, 3, -100, 100);
      const { y, mask } = dropout(be, x, p, 31, 41, 59);
      const scale = survivorScale(p);
      for (let i = 0; i < x.length; i++) {
        const expected = mask[i] === 1 ? Math.fround(x[i] * scale) : 0;
        if (!Object.is(y[i], expected)) expect.fail(`y[${i}] = ${y[i]}, expected ${expected} (mask ${mask[i]})`);
      }
    },
  );

  it("uses PyTorch's scales: torch.nn.functional.dropout(x, p) / x on survivors", () => {
    // /usr/bin/python3: np.float32(1) / np.float32(1 - p) equals torch's y[y != 0] / x[y != 0]
    // bit for bit (checked on 10^5 elements per p with torch 1.13).
    const torchScales: [number, number][] = [[0.1, 1.1111112], [0.2, 1.25], [0.3, 1.4285715], [0.5, 2], [0.7, 3.3333333], [0.9, 10]];
    for (const [p, scale] of torchScales) {
      const { y, mask } = dropout(be, new Float32Array(64).fill(1), p, 1, 1, 1);
      const survivor = y[mask.indexOf(1)];
      expect(survivor).toBe(Math.fround(scale));
    }
  });

  it("keeps element i exactly when u_i ≥ p, u_i the random_uniform stream of the same seed and offset", () => {
    const n = 5003;
    for (const p of [0.05, 0.5, 0.95]) {
      const { mask } = dropout(be, new Float32Array(n).fill(1), p, 0xcafe, 0xf00d, 2 ** 32 - 100);
      const u = scratch(be, n);
      be.kernels.random_uniform(u, n, 0xcafe, 0xf00d, 2 ** 32 - 100, 0, 1);
      const uniforms = getF32(be, u, n);
      be.allocator.free(u);
      for (let i = 0; i < n; i++) expect(mask[i]).toBe(uniforms[i] >= p ? 1 : 0);
    }
  });

  it("depends on seed and offset: different seeds give different masks", () => {
    const a = dropout(be, ones.subarray(0, 1000), 0.5, 1, 0, 0).mask;
    const b = dropout(be, ones.subarray(0, 1000), 0.5, 2, 0, 0).mask;
    const c = dropout(be, ones.subarray(0, 1000), 0.5, 1, 0, 250);
    let sameB = 0;
    let sameC = 0;
    for (let i = 0; i < 1000; i++) {
      if (a[i] === b[i]) sameB++;
      if (a[i] === c.mask[i]) sameC++;
    }
    expect(sameB).toBeLessThan(600);
    expect(sameC).toBeLessThan(600);
  });
});

describe("both backends draw the same masks and outputs", () => {
  it("over many sizes (around SIMD widths and the Wasm kernel's 1024-element chunks), seeds, offsets and p", () => {
    for (const n of [...ODD_SIZES, 1023, 1024, 1025, 3000, 65_537]) {
      const x = randomF32(n, n, -3, 3);
      for (const [p, seedLo, seedHi, offset] of [[0.5, 1, 2, 3], [0.1, 0xffffffff, 0, 2 ** 32 - 7], [0.9, 5, 0x80000000, 2 ** 50], [0.25, 0, 0, 0]]) {
        const w = dropout(backends.wasm, x, p, seedLo, seedHi, offset);
        const j = dropout(backends.js, x, p, seedLo, seedHi, offset);
        expect(Buffer.from(w.mask).equals(Buffer.from(j.mask)), `mask n=${n} p=${p}`).toBe(true);
        expect(bytesOf(w.y).equals(bytesOf(j.y)), `y n=${n} p=${p}`).toBe(true);
      }
    }
  });
});

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_dropout_backward", (_name, be) => {
  it.each([0.2, 0.5, 0.9])("gives dx = dy·scale where kept and +0 where dropped, at p = %s", (p) => {
    for (const n of [...ODD_SIZES, 1000]) {
      const dy = randomF32(n, n + 1, -2, 2);
      const { mask } = dropout(be, new Float32Array(n).fill(1), p, n, 0, 0);
      const dx = dropoutBackward(be, dy, mask, p);
      const scale = survivorScale(p);
      for (let i = 0; i < n; i++) {
        expect(dx[i]).toBe(mask[i] ? Math.fround(dy[i] * scale) : 0);
      }
    }
  });

  it("routes the gradient through exactly the forward's mask (the backward of y = x·mask·scale)", () => {
    const x = randomF32(777, 4, -1, 1);
    const { y, mask } = dropout(be, x, 0.3, 8, 8, 8);
    // With dy = x, dx must equal the forward's y.
    expect([...dropoutBackward(be, x, mask, 0.3)]).toEqual([...y]);
  });

  it("works in place (dx = dy)", () => {
    const dy = randomF32(1001, 5, -2, 2);
    const { mask } = dropout(be, new Float32Array(1001).fill(1), 0.4, 1, 2, 3);
    expect([...dropoutBackward(be, dy, mask, 0.4, true)]).toEqual([...dropoutBackward(be, dy, mask, 0.4)]);
  });

  it("gives zeros at p = 1 (scale ∞ never meets a kept element), and dy at p = 0", () => {
    const dy = randomF32(33, 6, -2, 2);
    dy[0] = Infinity;
    const dx1 = dropoutBackward(be, dy, new Uint8Array(33), 1);
    expect(dx1.every((v) => Object.is(v, 0))).toBe(true);
    const dx0 = dropoutBackward(be, dy, new Uint8Array(33).fill(1), 0);
    expect([...dx0]).toEqual([...dy]);
  });
});

// ReLU then Dropout, fused (nn.Sequential's fusion): bitwise the two kernels in turn.

function unfused(be: Backend, x: Float32Array, p: number, seed: [number, number, number]) {
  const n = x.length;
  const xp = put(be, x);
  const rp = scratch(be, n);
  be.kernels.f32_unary(UnaryOp.Relu, xp, rp, n);
  const relu = getF32(be, rp, n);
  be.allocator.free(rp);
  be.allocator.free(xp);
  return { relu, ...dropout(be, relu, p, ...seed) };
}

function reluDropout(be: Backend, x: Float32Array, p: number, [seedLo, seedHi, offset]: [number, number, number]): Float32Array {
  const n = x.length;
  const xp = put(be, x);
  const yp = scratch(be, n + 1);
  be.kernels.f32_relu_dropout(xp, yp, n, p, seedLo, seedHi, offset);
  const y = getF32(be, yp, n + 1);
  expect(y[n], "the slot after y is untouched").toBeNaN();
  be.allocator.free(xp);
  be.allocator.free(yp);
  return y.subarray(0, n);
}

function reluDropoutBackward(be: Backend, dy: Float32Array, y: Float32Array, p: number, inPlace = false): Float32Array {
  return backward(be, "f32_relu_dropout_backward", dy, y, p, inPlace);
}

/** Inputs with the edge cases: ±0, ±∞, NaN, denormals, and plain values of both signs. */
function edgyInput(n: number, seed: number): Float32Array {
  const x = randomF32(n, seed, -3, 3);
  const edges = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3e-39];
  for (let i = 0; i < n; i += 7) x[i] = edges[(i / 7) % edges.length]!;
  return x;
}

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_relu_dropout (ReLU then Dropout in one pass)", (_name, be) => {
  it("is bitwise f32_unary(Relu) then f32_dropout with the same stream, edge values included", () => {
    for (const n of [...ODD_SIZES, 1023, 1025, 5000]) {
      const x = edgyInput(n, n + 3);
      for (const p of [0.2, 0.5, 0.9, 1]) {
        const seed: [number, number, number] = [n, 7, 2 ** 33 + n];
        const want = unfused(be, x, p, seed).y;
        expect(bytesOf(reluDropout(be, x, p, seed)).equals(bytesOf(want)), `n=${n} p=${p}`).toBe(true);
      }
    }
  });

  it("backward: bitwise dropout's backward then relu's, read from the fused output alone", () => {
    for (const n of [...ODD_SIZES, 1000]) {
      const x = edgyInput(n, n + 11);
      const dy = randomF32(n, n + 12, -2, 2);
      dy[0] = Infinity;
      for (const p of [0.2, 0.5, 1]) {
        const seed: [number, number, number] = [n, 1, 5];
        const { relu, mask } = unfused(be, x, p, seed);
        // The unfused chain: dx = relu'(x) · (mask ? dy·scale : 0), with relu' read from x.
        const g1 = dropoutBackward(be, dy, mask, p);
        const gp = put(be, g1);
        const xp = put(be, x);
        const rp = put(be, relu);
        const want = scratch(be, n);
        be.kernels.f32_unary_backward(UnaryOp.Relu, xp, rp, gp, want, n);
        const expected = getF32(be, want, n);
        for (const ptr of [gp, xp, rp, want]) be.allocator.free(ptr);
        const y = reluDropout(be, x, p, seed);
        expect(bytesOf(reluDropoutBackward(be, dy, y, p)).equals(bytesOf(expected)), `n=${n} p=${p}`).toBe(true);
        expect(bytesOf(reluDropoutBackward(be, dy, y, p, true)).equals(bytesOf(expected)), `in place, n=${n} p=${p}`).toBe(true);
      }
    }
  });
});

describe("f32_relu_dropout: both backends agree", () => {
  it("bitwise over sizes around SIMD widths and the 1024-element chunks (a NaN as a NaN: the engines' NaN bits differ)", () => {
    for (const n of [...ODD_SIZES, 1023, 1024, 1025, 65_537]) {
      const x = edgyInput(n, n);
      const seed: [number, number, number] = [0xffffffff, 3, 2 ** 40];
      const w = reluDropout(backends.wasm, x, 0.3, seed);
      const j = reluDropout(backends.js, x, 0.3, seed);
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(w[i])) expect(j[i], `n=${n} [${i}]`).toBeNaN();
        else expect(Object.is(w[i], j[i]), `n=${n} [${i}]: wasm ${w[i]} js ${j[i]}`).toBe(true);
      }
    }
  });
});
