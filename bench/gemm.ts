// GEMM throughput, Wasm SIMD backend vs plain-JS backend, single-threaded;
// or, with --threads, the Wasm backend's scaling over thread counts.
//
//   npm run bench:gemm            (builds the module first)
//   npx tsx bench/gemm.ts [--quick]
//   npx tsx bench/gemm.ts --threads 1,2,4,8 [--quick]
//
// --threads N or a list: GFLOP/s of 1024³ and 256×784×256 (every layout) at each
// thread count (setNumThreads), with the speedup over 1 thread, plus one row
// on a plain (unshared) memory, 1 thread: what the shared memory costs (nothing
// measurable). Thread counts are switched with setNumThreads between samples.
//
// Shapes are M×K×N: C[M, N] = op(A)[M, K] · op(B)[K, N], those of a 784-256-10
// MLP with batch 256, plus 1024³. Each layout of each shape is timed on both
// backends. After a warm-up, samples are taken round robin over all the cases,
// Wasm and JS alternating (the fewer JS samples spread evenly among the Wasm
// ones), so that machine noise hits every case and both backends alike; each
// reports its median. The JS backend is 25-50x slower, so it gets fewer
// samples on the large shapes.

import { cpus } from "node:os";
import type { Backend } from "../src/backend/backend.ts";
import { createJsBackend } from "../src/backend/js.ts";
import { GemmLayout } from "../src/backend/kernels.ts";
import { getNumThreads, setNumThreads, workerTilesPosted } from "../src/backend/threads.ts";
import { createWasmBackend, selectSimdBuild } from "../src/backend/wasm.ts";
import { median } from "./stats.ts";

const quick = process.argv.includes("--quick");

function threadCounts(): number[] | null {
  const i = process.argv.findIndex((a) => a === "--threads" || a.startsWith("--threads="));
  if (i < 0) return null;
  const arg = process.argv[i]!.includes("=") ? process.argv[i]!.split("=")[1]! : process.argv[i + 1] ?? "";
  const list = arg.split(",").map(Number);
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) {
    console.error(`bench/gemm.ts: --threads takes a positive integer or a list (1,2,4), got ${JSON.stringify(arg)}`);
    process.exit(2);
  }
  return [...new Set(list)].sort((x, y) => x - y);
}

interface Shape {
  m: number;
  k: number;
  n: number;
  layouts: GemmLayout[];
  note: string;
}

const ALL = [GemmLayout.NN, GemmLayout.NT, GemmLayout.TN];
const SHAPES: Shape[] = [
  { m: 256, k: 784, n: 256, layouts: ALL, note: "the 784→256 layer's forward, x·Wᵀ (NT)" },
  { m: 256, k: 256, n: 256, layouts: ALL, note: "" },
  { m: 256, k: 256, n: 10, layouts: ALL, note: "the 256→10 layer's forward (NT): n = 10 stresses the edges" },
  { m: 784, k: 256, n: 256, layouts: ALL, note: "the 784→256 layer's weight gradient, xᵀ·dy (TN)" },
  { m: 1024, k: 1024, n: 1024, layouts: ALL, note: "" },
];
const LAYOUT_NAME = ["NN", "NT", "TN"];

/** Seconds a Wasm measurement should last at least (repeating the call), so timer resolution doesn't matter. */
const MIN_SAMPLE_S = quick ? 0.01 : 0.03;

/** Allocates and fills A, B and C on a backend; returns a call of the product. */
function setUp(be: Backend, layout: GemmLayout, m: number, k: number, n: number): () => void {
  const lda = layout === GemmLayout.TN ? m : k;
  const ldb = layout === GemmLayout.NT ? k : n;
  const a = be.allocator.alloc(m * k * 4);
  const b = be.allocator.alloc(k * n * 4);
  const c = be.allocator.alloc(m * n * 4);
  const f = be.heap.f32;
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  for (let i = 0; i < m * k; i++) f[(a >>> 2) + i] = next();
  for (let i = 0; i < k * n; i++) f[(b >>> 2) + i] = next();
  const w = be.gemmWorkspace;
  return () => be.kernels.f32_gemm(layout, m, n, k, 1, a, lda, b, ldb, 0, c, n, w);
}

/** Seconds per call: calls `run` `reps` times back to back. */
function timeCalls(run: () => void, reps: number): number {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run();
  return (performance.now() - t0) / 1000 / reps;
}

interface Case {
  label: string;
  layout: GemmLayout;
  flops: number;
  runWasm: () => void;
  runJs: () => void;
  wasmReps: number;
  jsSamples: number;
  wasmTimes: number[];
  jsTimes: number[];
}

/** Allocates one shape and layout on fresh backends, warms both up and sizes its samples. */
function prepare(shape: Shape, layout: GemmLayout): Case {
  const { m, k, n } = shape;
  const runWasm = setUp(createWasmBackend(), layout, m, k, n);
  const runJs = setUp(createJsBackend(), layout, m, k, n);
  // Warm-up: lets V8 tier both up (Liftoff → TurboFan, interpreter → TurboFan) and
  // measures the per-call times that size the samples.
  const warmUntil = performance.now() + (quick ? 50 : 200);
  for (let i = 0; i < 3 || performance.now() < warmUntil; i++) runWasm();
  const wasmOnce = timeCalls(runWasm, 2);
  const jsOnce = timeCalls(runJs, 1);
  // About 1.5 s of JS per case (0.3 s quick): 3 to 9 samples (1 to 3 quick).
  const jsSamples = quick
    ? Math.max(1, Math.min(3, Math.floor(0.3 / jsOnce)))
    : Math.max(3, Math.min(9, Math.floor(1.5 / jsOnce)));
  return {
    label: `${m}×${k}×${n}`, layout, flops: 2 * m * n * k, runWasm, runJs,
    wasmReps: Math.max(1, Math.ceil(MIN_SAMPLE_S / wasmOnce)), jsSamples,
    wasmTimes: [], jsTimes: [],
  };
}

/** The scaling run: Wasm only, each thread count, round robin over thread counts and cases. */
function scaling(counts: number[]): void {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const base = counts.includes(1) ? counts : [1, ...counts];
  console.log(`# f32_gemm on 1 to ${Math.max(...base)} threads (setNumThreads), ${wasmBuild()}`);
  console.log("");
  console.log(`CPU: ${cpu} (${cpus().length} logical CPUs), node ${process.version}, ${quick ? "--quick" : "full"} run`);
  const shapes: [number, number, number][] = [[1024, 1024, 1024], [256, 784, 256]];
  const be = createWasmBackend();
  // A plain memory cannot run threads: setNumThreads(> 1) says so once; expected here, so not shown.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => { if (!/memory is not shared/.test(String(args[0]))) warn(...args); };
  const plain = createWasmBackend(new WebAssembly.Memory({ initial: 16, maximum: 65536 }));
  interface Row { label: string; layout: GemmLayout; flops: number; run: () => void; runPlain: () => void; reps: number; times: Map<number, number[]>; plain: number[] }
  const rows: Row[] = [];
  for (const [m, k, n] of shapes) {
    for (const layout of ALL) {
      const run = setUp(be, layout, m, k, n);
      const warmUntil = performance.now() + (quick ? 50 : 200);
      for (let i = 0; i < 3 || performance.now() < warmUntil; i++) run();
      const once = timeCalls(run, 2);
      const runPlain = setUp(plain, layout, m, k, n);
      for (let i = 0; i < 3; i++) runPlain();
      rows.push({ label: `${m}×${k}×${n}`, layout, flops: 2 * m * n * k, run, runPlain, reps: Math.max(1, Math.ceil(MIN_SAMPLE_S / once)), times: new Map(base.map((t) => [t, []])), plain: [] });
    }
  }
  const rounds = quick ? 5 : 15;
  const startTiles = workerTilesPosted();
  const got = new Map<number, number>();
  for (let r = 0; r < rounds; r++) {
    for (const t of base) {
      setNumThreads(t);
      got.set(t, getNumThreads());
      // Settle after starting or stopping workers: wake them, warm the caches.
      const settle = performance.now() + (quick ? 30 : 100);
      while (performance.now() < settle) for (const row of rows) row.run();
      for (const row of rows) row.times.get(t)!.push(timeCalls(row.run, row.reps));
      if (t === 1) for (const row of rows) row.plain.push(timeCalls(row.runPlain, row.reps));
    }
  }
  console.warn = warn;
  console.log(`GFLOP/s = 2·M·N·K / median time (${rounds} samples per cell, taken round robin over the thread counts); ×: speedup over 1 thread.`);
  console.log(`Shapes are M×K×N: C[M, N] = op(A)[M, K] · op(B)[K, N]. Worker tiles run: ${workerTilesPosted() - startTiles}.`);
  console.log("");
  console.log(`| M×K×N | layout | ${base.map((t) => `${t} thread${t === 1 ? "" : "s"}`).join(" | ")} | plain memory, 1 thread |`);
  console.log(`|---|---|${base.map(() => "---:|").join("")}---:|`);
  for (const row of rows) {
    const g = (ts: number[]) => row.flops / median(ts) / 1e9;
    const one = g(row.times.get(1)!);
    const cells = base.map((t) => {
      const v = g(row.times.get(t)!);
      return t === 1 ? v.toFixed(1) : `${v.toFixed(1)} (${(v / one).toFixed(2)}×)`;
    });
    console.log(`| ${row.label} | ${LAYOUT_NAME[row.layout]} | ${cells.join(" | ")} | ${g(row.plain).toFixed(1)} |`);
  }
  const short = base.filter((t) => got.get(t) !== t);
  if (short.length) console.log(`\nNote: ${short.map((t) => `${t} threads asked, ${got.get(t)} ran`).join("; ")}.`);
}

/** The build createWasmBackend() runs here (WASMGRAD_SIMD picks one: baseline or relaxed). */
function wasmBuild(): string {
  return selectSimdBuild() === "relaxed" ? "wasm-simd128-relaxed" : "wasm-simd128";
}

function main(): void {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`# f32_gemm: ${wasmBuild()} vs js, single thread`);
  console.log("");
  console.log(`CPU: ${cpu} (${cpus().length} logical CPUs), node ${process.version}, ${quick ? "--quick" : "full"} run`);
  const cases = SHAPES.flatMap((shape) => shape.layouts.map((layout) => prepare(shape, layout)));
  // Round robin over every case, Wasm and JS alternating, so that a slow spell
  // of the machine (seconds long on a shared VM) lands in a few samples of
  // every case rather than in all the samples of a few: the medians shrug it off.
  const wasmSamples = quick ? 5 : 15;
  const rounds = Math.max(wasmSamples, ...cases.map((c) => c.jsSamples));
  const due = (count: number, r: number) => Math.floor(((r + 1) * count) / rounds) > Math.floor((r * count) / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      if (due(wasmSamples, r)) c.wasmTimes.push(timeCalls(c.runWasm, c.wasmReps));
      if (due(c.jsSamples, r)) c.jsTimes.push(timeCalls(c.runJs, 1));
    }
  }
  console.log(`GFLOP/s = 2·M·N·K / median time; the range is the slowest and fastest Wasm sample (a wide one means a noisy machine).`);
  console.log(`Shapes are M×K×N: C[M, N] = op(A)[M, K] · op(B)[K, N].`);
  console.log("");
  console.log("| M×K×N | layout | Wasm GFLOP/s | (Wasm range) | JS GFLOP/s | Wasm/JS |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const c of cases) {
    const gflops = (t: number) => c.flops / t / 1e9;
    const wasm = gflops(median(c.wasmTimes));
    const js = gflops(median(c.jsTimes));
    const range = `${gflops(Math.max(...c.wasmTimes)).toFixed(1)}–${gflops(Math.min(...c.wasmTimes)).toFixed(1)}`;
    console.log(
      `| ${c.label} | ${LAYOUT_NAME[c.layout]} | ${wasm.toFixed(1)} | ${range} | ${js.toFixed(2)} | ${(wasm / js).toFixed(1)}x |`,
    );
  }
  console.log("");
  for (const s of SHAPES) if (s.note) console.log(`${s.m}×${s.k}×${s.n}: ${s.note}`);
}

const counts = threadCounts();
if (counts) scaling(counts);
else main();
