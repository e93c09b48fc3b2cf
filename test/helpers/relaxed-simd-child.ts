// Run by test/relaxed-simd.test.ts in a child process with relaxed SIMD on
// (node --experimental-wasm-relaxed-simd --import tsx, Node 20): vitest itself
// runs without the flag, where only the baseline build validates. Checks the
// relaxed-SIMD build end to end and prints one JSON line: { checks: { name:
// failure message or null }, info }. With WASMGRAD_SIMD set it only reports
// the build chosen.

import { GemmLayout } from "../../src/backend/kernels.ts";
import { MIN_THREADED_WORK, workerTilesPosted } from "../../src/backend/threads.ts";
import { createWasmBackend, relaxedSimdSupported, selectSimdBuild } from "../../src/backend/wasm.ts";
import type { Backend } from "../../src/backend/backend.ts";
import { getBackend, setNumThreads } from "../../src/index.ts";
import { getF32, ODD_SIZES, put, randomF32 } from "./backends.ts";

const checks: Record<string, string | null> = {};
const info: Record<string, unknown> = {};

function check(name: string, body: () => void): void {
  try {
    body();
    checks[name] = null;
  } catch (e) {
    checks[name] = (e as Error).stack ?? String(e);
  }
}
function fail(message: string): never {
  throw new Error(message);
}

const NAME: Record<number, string> = { [GemmLayout.NN]: "NN", [GemmLayout.NT]: "NT", [GemmLayout.TN]: "TN" };
const LAYOUTS = [GemmLayout.NN, GemmLayout.NT, GemmLayout.TN];

interface Problem { layout: GemmLayout; m: number; n: number; k: number; alpha: number; beta: number; pad: number; seed: number }

function operands(p: Problem) {
  const aRows = p.layout === GemmLayout.TN ? p.k : p.m;
  const lda = (p.layout === GemmLayout.TN ? p.m : p.k) + p.pad;
  const bRows = p.layout === GemmLayout.NT ? p.n : p.k;
  const ldb = (p.layout === GemmLayout.NT ? p.k : p.n) + p.pad;
  const ldc = p.n + p.pad;
  return {
    lda, ldb, ldc,
    a: randomF32(aRows * lda, p.seed),
    b: randomF32(bRows * ldb, p.seed + 1),
    c: p.beta ? randomF32(p.m * ldc, p.seed + 2) : new Float32Array(p.m * ldc).fill(NaN),
  };
}

function gemm(be: Backend, p: Problem, ops = operands(p)): Float32Array {
  const pa = put(be, ops.a);
  const pb = put(be, ops.b);
  const pc = put(be, ops.c);
  be.kernels.f32_gemm(p.layout, p.m, p.n, p.k, p.alpha, pa, ops.lda, pb, ops.ldb, p.beta, pc, ops.ldc, be.gemmWorkspace);
  const out = getF32(be, pc, ops.c.length);
  for (const ptr of [pa, pb, pc]) be.allocator.free(ptr);
  return out;
}

const describe = (p: Problem) => `${NAME[p.layout]} m=${p.m} n=${p.n} k=${p.k} alpha=${p.alpha} beta=${p.beta} pad=${p.pad}`;

/** The float64 definition, with test/gemm.test.ts's tolerance (and its padding check). */
function expectMatchesReference(got: Float32Array, p: Problem, ops: ReturnType<typeof operands>): void {
  const { lda, ldb, ldc } = ops;
  let maxA = 0;
  let maxB = 0;
  for (const v of ops.a) maxA = Math.max(maxA, Math.abs(v));
  for (const v of ops.b) maxB = Math.max(maxB, Math.abs(v));
  const atol = 1e-5 * Math.sqrt(p.k) * maxA * maxB * Math.abs(p.alpha) + 1e-7;
  const row = new Float64Array(p.n);
  for (let i = 0; i < p.m; i++) {
    row.fill(0);
    for (let q = 0; q < p.k; q++) {
      const aiq = p.layout === GemmLayout.TN ? ops.a[q * lda + i]! : ops.a[i * lda + q]!;
      for (let j = 0; j < p.n; j++) row[j]! += aiq * (p.layout === GemmLayout.NT ? ops.b[j * ldb + q]! : ops.b[q * ldb + j]!);
    }
    for (let j = 0; j < ldc; j++) {
      const actual = got[i * ldc + j]!;
      if (j >= p.n) {
        if (!Object.is(actual, ops.c[i * ldc + j])) fail(`${describe(p)}: C[${i}, ${j}] is padding and was overwritten`);
        continue;
      }
      const expected = p.alpha * row[j]! + (p.beta === 0 ? 0 : p.beta * ops.c[i * ldc + j]!);
      if (!(Math.abs(actual - expected) <= atol + 1e-6 * Math.abs(expected))) {
        fail(`${describe(p)}: C[${i}, ${j}] = ${actual}, expected ${expected} (atol ${atol.toExponential(2)})`);
      }
    }
  }
}

function bitwiseDiff(got: Float32Array, want: Float32Array): number {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  if (g.length !== w.length) return -2;
  for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) return i;
  return -1;
}

if (process.env.WASMGRAD_SIMD) {
  let chosen: string;
  try {
    chosen = createWasmBackend().description;
  } catch (e) {
    chosen = `error: ${(e as Error).message}`;
  }
  console.log(JSON.stringify({ description: chosen }));
  process.exit(0);
}

info.relaxedSimdSupported = relaxedSimdSupported();

check("the relaxed build is selected by default, the baseline on request", () => {
  if (!relaxedSimdSupported()) fail("relaxedSimdSupported() is false under --experimental-wasm-relaxed-simd");
  if (selectSimdBuild() !== "relaxed") fail(`selectSimdBuild() = ${selectSimdBuild()}`);
  const d = getBackend().description;
  if (d !== "wasm-simd128-relaxed") fail(`getBackend().description = ${d}`);
  const base = createWasmBackend(undefined, { simd: "baseline" }).description;
  if (base !== "wasm-simd128") fail(`{ simd: "baseline" } gave ${base}`);
  const rel = createWasmBackend(new WebAssembly.Memory({ initial: 16, maximum: 65536 }), { simd: "relaxed" }).description;
  if (rel !== "wasm-simd128-relaxed") fail(`{ simd: "relaxed" } on a plain memory gave ${rel}`);
});

const relaxed = createWasmBackend();
const relaxedPlain = createWasmBackend(new WebAssembly.Memory({ initial: 16, maximum: 65536 }));
const baseline = createWasmBackend(undefined, { simd: "baseline" });

function oddProblems(): Problem[] {
  const shapes: [number, number, number][] = [];
  for (const s of ODD_SIZES) shapes.push([s, 7, 5], [6, s, 5], [6, 7, s], [s, s, s]);
  shapes.push([63, 257, 17], [257, 3, 63], [17, 63, 257], [5, 9, 300], [9, 13, 600], [64, 10, 1024]);
  shapes.push([37, 44, 29], [13, 35, 70], [70, 42, 9], [5, 10, 33], [19, 26, 40], [23, 34, 11], [21, 36, 12], [30, 12, 7]);
  const out: Problem[] = [];
  let seed = 1;
  for (const layout of LAYOUTS) {
    for (const [m, n, k] of shapes) {
      out.push({ layout, m, n, k, alpha: 1, beta: 0, pad: 0, seed: seed++ });
      out.push({ layout, m, n, k, alpha: 0.75, beta: 0.5, pad: 3, seed: seed++ });
    }
  }
  return out;
}

check("GEMM matches the float64 definition on all three layouts and odd shapes (shared and plain memory)", () => {
  let differs = 0;
  let total = 0;
  for (const p of oddProblems()) {
    const ops = operands(p);
    const got = gemm(relaxed, p, ops);
    expectMatchesReference(got, p, ops);
    const plain = gemm(relaxedPlain, p, ops);
    if (bitwiseDiff(plain, got) !== -1) fail(`${describe(p)}: the plain-memory relaxed build differs from the shared one`);
    total++;
    if (bitwiseDiff(gemm(baseline, p, ops), got) !== -1) differs++;
  }
  // Where the CPU has FMA, V8 fuses relaxed_madd and the builds differ in the last bits.
  info.problemsWhereRelaxedDiffersFromBaseline = `${differs} of ${total}`;
});

check("GEMM is bitwise identical on 1 and 2 threads (workers run the same build)", () => {
  const shapes: [number, number, number][] = [[129, 67, 301], [37, 515, 129], [600, 10, 257], [64, 64, 128], [1031, 9, 61], [5, 700, 200]];
  const problems: Problem[] = LAYOUTS.flatMap((layout) => shapes.flatMap(([m, n, k]) =>
    ([[1, 0], [0.75, 0.5]] as const).map(([alpha, beta]) => ({ layout, m, n, k, alpha, beta, pad: 3, seed: 11 }))));
  for (const p of problems) if (p.m * p.n * p.k < MIN_THREADED_WORK) fail(`${describe(p)} is below MIN_THREADED_WORK`);
  setNumThreads(1);
  const want = problems.map((p) => gemm(relaxed, p));
  setNumThreads(2);
  let differsFromBaseline = 0;
  try {
    problems.forEach((p, i) => {
      const tiles = workerTilesPosted();
      const got = gemm(relaxed, p);
      if (!(workerTilesPosted() > tiles)) fail(`${describe(p)}: no worker computed a tile`);
      const at = bitwiseDiff(got, want[i]!);
      if (at !== -1) fail(`${describe(p)}: 2 threads differ from 1 at element ${at}: ${got[at]} vs ${want[i]![at]}`);
    });
    // Problems where the builds differ (FMA hardware) show that the workers' tiles came from the relaxed build.
    setNumThreads(1);
    problems.forEach((p, i) => { if (bitwiseDiff(gemm(baseline, p), want[i]!) !== -1) differsFromBaseline++; });
  } finally {
    setNumThreads(1);
  }
  info.threadedProblemsWhereRelaxedDiffersFromBaseline = `${differsFromBaseline} of ${problems.length}`;
});

console.log(JSON.stringify({ checks, info }));
