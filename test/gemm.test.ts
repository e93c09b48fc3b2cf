// f32_gemm: C = alpha·op(A)·op(B) + beta·C in the three layouts, on both
// backends, against a float64 reference computed here from the definition.
//
// Tolerance. f32 accumulation of k products of random sign has an error that
// grows like u·k·σ (u = 2^-24 ≈ 6e-8, σ the spread of one product, at most
// max|a|·max|b|), well under 1e-5·sqrt(k)·max|a|·max|b| for every k tried here
// (k = 1024 leaves a margin of ~20x, shorter sums far more); the beta·C term
// adds one rounding of |beta·C|, hence the small relative part. A single wrong,
// missing or doubled product is of order σ and breaks this bound in some
// element of every shape tried.

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { GemmEpilogue, GemmLayout, UnaryOp } from "../src/backend/kernels.ts";
import { getF32, makeBackends, ODD_SIZES, put, randomF32 } from "./helpers/backends.ts";

const backends = makeBackends();
const both = [backends.wasm, backends.js];
const LAYOUTS = [GemmLayout.NN, GemmLayout.NT, GemmLayout.TN];
const NAME: Record<number, string> = { [GemmLayout.NN]: "NN", [GemmLayout.NT]: "NT", [GemmLayout.TN]: "TN" };

interface Problem {
  layout: GemmLayout;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  beta?: number;
  /** Extra columns past the logical width of A, B and C (their leading dimensions grow by it). */
  pad?: number;
  seed?: number;
  epilogue?: GemmEpilogue;
}

/** The stored operands: A is [m, k] ([k, m] for TN), B is [k, n] ([n, k] for NT), row-major with padding. */
function operands(p: Problem) {
  const pad = p.pad ?? 0;
  const aRows = p.layout === GemmLayout.TN ? p.k : p.m;
  const lda = (p.layout === GemmLayout.TN ? p.m : p.k) + pad;
  const bRows = p.layout === GemmLayout.NT ? p.n : p.k;
  const ldb = (p.layout === GemmLayout.NT ? p.k : p.n) + pad;
  const ldc = p.n + pad;
  const seed = p.seed ?? 1;
  return {
    lda, ldb, ldc,
    a: randomF32(aRows * lda, seed),
    b: randomF32(bRows * ldb, seed + 1),
    // beta = 0 must ignore C: give it NaN there; otherwise values to blend in.
    c: p.beta ? randomF32(p.m * ldc, seed + 2) : new Float32Array(p.m * ldc).fill(NaN),
  };
}

/** Runs one gemm on a backend; returns all m·ldc floats of C (padding included). */
function gemm(be: Backend, p: Problem, ops = operands(p)): Float32Array {
  const pa = put(be, ops.a);
  const pb = put(be, ops.b);
  const pc = put(be, ops.c);
  be.kernels.f32_gemm(
    p.layout, p.m, p.n, p.k, p.alpha ?? 1, pa, ops.lda, pb, ops.ldb, p.beta ?? 0, pc, ops.ldc, be.gemmWorkspace,
    p.epilogue ?? GemmEpilogue.None,
  );
  expectBitwiseEqual(getF32(be, pa, ops.a.length), ops.a, "A, which gemm must not write");
  expectBitwiseEqual(getF32(be, pb, ops.b.length), ops.b, "B, which gemm must not write");
  const out = getF32(be, pc, ops.c.length);
  for (const ptr of [pa, pb, pc]) be.allocator.free(ptr);
  return out;
}

/** Checks C against the float64 definition, and that C's padding columns are untouched. */
function expectMatchesReference(got: Float32Array, p: Problem, ops = operands(p), what = describeProblem(p)): void {
  const alpha = p.alpha ?? 1;
  const beta = p.beta ?? 0;
  const { lda, ldb, ldc } = ops;
  let maxA = 0;
  let maxB = 0;
  for (const v of ops.a) maxA = Math.max(maxA, Math.abs(v));
  for (const v of ops.b) maxB = Math.max(maxB, Math.abs(v));
  const atol = 1e-5 * Math.sqrt(p.k) * maxA * maxB * Math.abs(alpha) + 1e-7;
  const opB = new Float64Array(p.k * p.n);
  for (let q = 0; q < p.k; q++) {
    for (let j = 0; j < p.n; j++) {
      opB[q * p.n + j] = p.layout === GemmLayout.NT ? ops.b[j * ldb + q] : ops.b[q * ldb + j];
    }
  }
  const row = new Float64Array(p.n);
  for (let i = 0; i < p.m; i++) {
    row.fill(0);
    for (let q = 0; q < p.k; q++) {
      const aiq = p.layout === GemmLayout.TN ? ops.a[q * lda + i] : ops.a[i * lda + q];
      for (let j = 0; j < p.n; j++) row[j] += aiq * opB[q * p.n + j];
    }
    for (let j = 0; j < ldc; j++) {
      const actual = got[i * ldc + j];
      if (j >= p.n) {
        if (!Object.is(actual, ops.c[i * ldc + j])) {
          expect.fail(`${what}: C[${i}, ${j}] is padding and was overwritten (${actual})`);
        }
        continue;
      }
      const expected = alpha * row[j] + (beta === 0 ? 0 : beta * ops.c[i * ldc + j]);
      if (!(Math.abs(actual - expected) <= atol + 1e-6 * Math.abs(expected))) {
        expect.fail(`${what}: C[${i}, ${j}] = ${actual}, expected ${expected} (atol ${atol.toExponential(2)})`);
      }
    }
  }
}

function describeProblem(p: Problem): string {
  return `${NAME[p.layout]} m=${p.m} n=${p.n} k=${p.k} alpha=${p.alpha ?? 1} beta=${p.beta ?? 0} pad=${p.pad ?? 0}`;
}

function expectBitwiseEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  const x = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const y = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  expect(x.length, what).toBe(y.length);
  for (let i = 0; i < y.length; i++) {
    if (x[i] !== y[i]) expect.fail(`${what}: element ${i} is ${actual[i]}, expected bitwise ${expected[i]}`);
  }
}

/** Every ODD_SIZES value for one of m, n, k while the other two stay small, and the cube. */
function oddShapes(): [number, number, number][] {
  const shapes: [number, number, number][] = [];
  for (const s of ODD_SIZES) {
    shapes.push([s, 7, 5], [6, s, 5], [6, 7, s], [s, s, s]);
  }
  shapes.push([63, 257, 17], [257, 3, 63], [17, 63, 257], [5, 9, 300], [9, 13, 600]);
  // n % 8 from 1 to 4 with n on both sides of 8, 16 and 32, m not a multiple of 4 or 16
  shapes.push([37, 44, 29], [13, 35, 70], [70, 42, 9], [5, 10, 33], [19, 26, 40], [23, 34, 11], [21, 36, 12], [30, 12, 7]);
  // n % 12 from 1 to 11 (the relaxed-SIMD build's 3x12 tiles), m % 3 = 1 or 2
  shapes.push([31, 23, 19], [29, 25, 13], [50, 47, 21], [8, 49, 66], [100, 11, 31], [14, 30, 9], [22, 39, 5], [7, 52, 17]);
  return shapes;
}

describe("f32_gemm", () => {
  for (const be of both) {
    describe(be.name, () => {
      it("reports a workspace size that is a number ≥ 0", () => {
        const size = be.kernels.f32_gemm_workspace_size();
        expect(Number.isInteger(size) && size >= 0).toBe(true);
      });

      for (const layout of LAYOUTS) {
        it(`${NAME[layout]}: matches the float64 definition for m, n, k in 1, 3, 17, 63, 257 and non-multiples of 4`, () => {
          for (const [m, n, k] of oddShapes()) {
            const p: Problem = { layout, m, n, k, seed: m * 7 + n * 13 + k };
            const ops = operands(p);
            expectMatchesReference(gemm(be, p, ops), p, ops);
          }
        });
      }

      it("beta = 0 ignores C's old contents: NaN in C does not leak into the result", () => {
        for (const layout of LAYOUTS) {
          for (const [m, n, k] of [[1, 1, 1], [5, 3, 7], [13, 17, 300], [4, 8, 16]]) {
            const p: Problem = { layout, m, n, k, beta: 0 };
            const ops = operands(p);
            expect(ops.c.every(Number.isNaN)).toBe(true);
            const got = gemm(be, p, ops);
            for (let i = 0; i < m * n; i++) expect(Number.isNaN(got[i]), `${describeProblem(p)} C[${i}]`).toBe(false);
            expectMatchesReference(got, p, ops);
          }
        }
      });

      it("beta = 1 accumulates onto C, alpha scales the product, and general alpha, beta blend both", () => {
        for (const layout of LAYOUTS) {
          for (const [alpha, beta] of [[1, 1], [0.5, 0], [0.5, 1], [2, -0.75], [0, 1], [-1, 0.25]]) {
            for (const [m, n, k] of [[7, 9, 5], [33, 21, 300], [4, 8, 256], [6, 4, 513]]) {
              const p: Problem = { layout, m, n, k, alpha, beta, seed: 11 };
              const ops = operands(p);
              expectMatchesReference(gemm(be, p, ops), p, ops);
            }
          }
        }
      });

      it("respects leading dimensions larger than the logical sizes (submatrix views) and leaves C's padding alone", () => {
        for (const layout of LAYOUTS) {
          for (const [m, n, k, pad] of [[5, 7, 3, 1], [17, 13, 63, 5], [31, 9, 300, 3], [8, 16, 8, 64]]) {
            for (const beta of [0, 1]) {
              const p: Problem = { layout, m, n, k, pad, beta, seed: 5 };
              const ops = operands(p);
              expectMatchesReference(gemm(be, p, ops), p, ops);
            }
          }
        }
      });
    });
  }

  it("the Wasm and JS backends agree within f32 rounding on every layout", () => {
    for (const layout of LAYOUTS) {
      for (const [m, n, k] of [[63, 65, 257], [17, 10, 784], [64, 64, 64], [3, 257, 31]]) {
        const p: Problem = { layout, m, n, k, alpha: 0.75, beta: 0.5, seed: 3 };
        const ops = operands(p);
        const wasm = gemm(backends.wasm, p, ops);
        const js = gemm(backends.js, p, ops);
        let maxA = 0;
        for (const v of ops.a) maxA = Math.max(maxA, Math.abs(v));
        let maxB = 0;
        for (const v of ops.b) maxB = Math.max(maxB, Math.abs(v));
        const atol = 2e-5 * Math.sqrt(k) * maxA * maxB;
        for (let i = 0; i < wasm.length; i++) {
          if (!(Math.abs(wasm[i] - js[i]) <= atol + 1e-6 * Math.abs(js[i]))) {
            expect.fail(`${describeProblem(p)}: C[${i}] wasm ${wasm[i]} vs js ${js[i]}`);
          }
        }
      }
    }
  });

  for (const be of both) {
    it(`${be.name}: each C element is bitwise the same however C is tiled by rows or columns (offset pointers)`, () => {
      // The property a multi-threaded gemm relies on: any split of C into tiles,
      // each computed by its own call, reproduces the single call exactly.
      for (const layout of LAYOUTS) {
        for (const [m, n, k, beta] of [[67, 45, 600, 0], [30, 37, 700, 1], [9, 21, 1030, 0.5], [21, 10, 257, 0]]) {
          const p: Problem = { layout, m, n, k, beta, alpha: 0.75, pad: 2, seed: 9 };
          const ops = operands(p);
          const whole = gemm(be, p, ops);
          const { lda, ldb, ldc } = ops;
          const pa = put(be, ops.a);
          const pb = put(be, ops.b);
          const f4 = 4;
          // Row i of op(A) starts at a + i·lda floats (NN, NT) or a + i floats (TN).
          const aRow = (i: number) => pa + f4 * (layout === GemmLayout.TN ? i : i * lda);
          // Column j of op(B) starts at b + j floats (NN, TN) or b + j·ldb floats (NT).
          const bCol = (j: number) => pb + f4 * (layout === GemmLayout.NT ? j * ldb : j);
          const tiled = (tiles: [number, number, number, number][]) => {
            const pc = put(be, ops.c);
            for (const [i0, i1, j0, j1] of tiles) {
              be.kernels.f32_gemm(
                layout, i1 - i0, j1 - j0, k, 0.75, aRow(i0), lda, bCol(j0), ldb, beta,
                pc + f4 * (i0 * ldc + j0), ldc, be.gemmWorkspace,
              );
            }
            const out = getF32(be, pc, ops.c.length);
            be.allocator.free(pc);
            return out;
          };
          const mid = (x: number) => Math.max(1, Math.floor(x / 3) + 1); // rarely a multiple of 4 or 8
          const rows = tiled([[0, mid(m), 0, n], [mid(m), m, 0, n]]);
          const cols = tiled([[0, m, 0, mid(n)], [0, m, mid(n), n]]);
          const quads = tiled([
            [0, mid(m), 0, mid(n)], [0, mid(m), mid(n), n],
            [mid(m), m, 0, mid(n)], [mid(m), m, mid(n), n],
          ]);
          const singles = tiled(Array.from({ length: m }, (_, i) => [i, i + 1, 0, n] as [number, number, number, number]));
          const what = describeProblem(p);
          expectBitwiseEqual(rows, whole, `${what}, two row blocks`);
          expectBitwiseEqual(cols, whole, `${what}, two column blocks`);
          expectBitwiseEqual(quads, whole, `${what}, four tiles`);
          expectBitwiseEqual(singles, whole, `${what}, one row at a time`);
          be.allocator.free(pa);
          be.allocator.free(pb);
        }
      }
    });
  }

  for (const be of both) {
    /** The plain product with f32_unary's ReLU run over each row of C's logical columns afterwards. */
    const reluAfter = (p: Problem, ops: ReturnType<typeof operands>): Float32Array => {
      const plain = gemm(be, { ...p, epilogue: GemmEpilogue.None }, ops);
      const pc = put(be, plain);
      for (let i = 0; i < p.m; i++) be.kernels.f32_unary(UnaryOp.Relu, pc + 4 * i * ops.ldc, pc + 4 * i * ops.ldc, p.n);
      const out = getF32(be, pc, plain.length);
      be.allocator.free(pc);
      return out;
    };

    it(`${be.name}: the ReLU epilogue gives bitwise the plain product then f32_unary's ReLU, and leaves padding alone`, () => {
      for (const layout of LAYOUTS) {
        const shapes: [number, number, number][] = [
          ...oddShapes().filter(([m, n, k]) => m * n * k <= 300_000),
          [9, 21, 1030], // three k blocks: the ReLU runs after the last one only
        ];
        // The MLP's forward (bias seeded in C, beta = 1), and the test set's last batch.
        const mlp: [number, number, number][] = [[256, 256, 784], [256, 10, 256], [16, 256, 784]];
        const cases = [
          ...shapes.flatMap(([m, n, k]) => [[1, 0], [1, 1], [0.75, -0.5]].map(([alpha, beta]) => [m, n, k, alpha, beta])),
          ...mlp.map(([m, n, k]) => [m, n, k, 1, 1]),
        ];
        for (const [m, n, k, alpha, beta] of cases) {
          const p: Problem = { layout, m, n, k, alpha, beta, pad: 3, seed: m + 3 * n + 5 * k, epilogue: GemmEpilogue.Relu };
          const ops = operands(p);
          const got = gemm(be, p, ops);
          expectBitwiseEqual(got, reluAfter(p, ops), describeProblem(p) + " with ReLU");
          for (let i = 0; i < p.m; i++) {
            for (let j = 0; j < p.n; j++) {
              const v = got[i * ops.ldc + j]!;
              if (!(v >= 0) || Object.is(v, -0)) expect.fail(`${describeProblem(p)}: C[${i}, ${j}] = ${v} after ReLU`);
            }
          }
        }
      }
    });

    it(`${be.name}: the ReLU epilogue passes NaN through, turns −0 into +0, and applies to beta·C when k = 0`, () => {
      const special = [NaN, -0, 0, -1, 2, -Infinity, Infinity, 1e-40, -1e-40];
      for (const layout of LAYOUTS) {
        // k = 0: C = beta·C, then ReLU.
        const p0: Problem = { layout, m: 3, n: 5, k: 0, beta: 1, pad: 1, epilogue: GemmEpilogue.Relu };
        const ops0 = operands(p0);
        ops0.c.forEach((_, i) => (ops0.c[i] = special[i % special.length]!));
        expectBitwiseEqual(gemm(be, p0, ops0), reluAfter(p0, ops0), describeProblem(p0) + " with ReLU");
        // NaN in A reaches C's row; ±0 and negative products are clamped to +0.
        const p: Problem = { layout, m: 7, n: 14, k: 6, beta: 1, seed: 4, epilogue: GemmEpilogue.Relu };
        const ops = operands(p);
        ops.a[3] = NaN;
        ops.c.forEach((_, i) => (ops.c[i] = special[i % special.length]!));
        const got = gemm(be, p, ops);
        expectBitwiseEqual(got, reluAfter(p, ops), describeProblem(p) + " with NaN in A and C");
        expect(got.some(Number.isNaN)).toBe(true);
        expect(got.some((v) => Object.is(v, -0))).toBe(false);
      }
    });
  }

  it("wasm: a large MLP-sized product (256×784 by 784×256) is right in every layout", () => {
    for (const layout of LAYOUTS) {
      const p: Problem = { layout, m: 256, n: 256, k: 784, seed: 21 };
      const ops = operands(p);
      expectMatchesReference(gemm(backends.wasm, p, ops), p, ops);
    }
  });

  it("wasm: a wide product (n > one packed panel, m > one A block) is right in every layout", () => {
    for (const layout of LAYOUTS) {
      const p: Problem = { layout, m: 300, n: 1100, k: 40, beta: 1, seed: 23 };
      const ops = operands(p);
      expectMatchesReference(gemm(backends.wasm, p, ops), p, ops);
    }
  });
});
