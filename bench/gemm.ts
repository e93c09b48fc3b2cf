// f32_gemm throughput, interleaved in one process, medians quoted. Modes:
//   npx tsx bench/gemm.ts [--quick] [--peak-probe]    Wasm SIMD vs plain-JS backend, 1 thread
//   npx tsx bench/gemm.ts --threads 1,2,4,8 [--quick] the Wasm backend over thread counts (+ a plain memory)
//   npx tsx bench/gemm.ts --relaxed [--quick]         baseline-SIMD build vs relaxed-SIMD build
//   npx tsx bench/gemm.ts --views [--quick]           A.matmul(B.t()) vs A.matmul(B) through the public API
//   npx tsx bench/gemm.ts --conv [--quick]            conv2d forward and backward vs the GEMM of their shape
// Samples go round robin over every case, so a slow spell hits all alike. --peak-probe: after each
// Wasm sample, peak.ts's probe and its busy twin (a noisy machine's diagnostic).

import type { Backend } from "../src/backend/backend.ts";
import { createJsBackend } from "../src/backend/js.ts";
import { GemmLayout } from "../src/backend/kernels.ts";
import { getNumThreads, setNumThreads, workerTilesPosted } from "../src/backend/threads.ts";
import { createWasmBackend, enableRelaxedSimdIfSupported, selectSimdBuild } from "../src/backend/wasm.ts";
import { getBackend, manualSeed, nn, noGrad, randn, setBackend } from "../src/index.ts";
import { probeForBackend } from "./peak.ts";
import { due, fillRandom, flag, hasFlag, machineLine, median, rotate, table, threadList, timeCalls, warmUp } from "./stats.ts";

const quick = hasFlag("--quick");
const ALL = [GemmLayout.NN, GemmLayout.NT, GemmLayout.TN];
const LAYOUT_NAME = ["NN", "NT", "TN"];
/** The 784-256-10 MLP's shapes at batch 256 (784×256×256: the first layer's weight gradient, TN), plus 1024³. */
const SHAPES = [[256, 784, 256], [256, 256, 256], [256, 256, 10], [784, 256, 256], [1024, 1024, 1024]] as const;
/** Seconds a Wasm sample lasts at least (repeating the call), so timer resolution doesn't matter. */
const MIN_SAMPLE_S = quick ? 0.01 : 0.03;
const label = (m: number, k: number, n: number) => `${m}×${k}×${n}`;
const gflops = (flops: number, seconds: number) => flops / seconds / 1e9;
const wasmBuild = () => (selectSimdBuild() === "relaxed" ? "wasm-simd128-relaxed" : "wasm-simd128");
const heading = (title: string) => console.log(`# ${title}\n\nCPU: ${machineLine()}, ${quick ? "--quick" : "full"} run\n`);

/** Allocates and fills A, B and C on a backend; returns a call of the product. */
function setUp(be: Backend, layout: GemmLayout, m: number, k: number, n: number): () => void {
  const [a, b, c] = [m * k, k * n, m * n].map((len) => be.allocator.alloc(len * 4)) as [number, number, number];
  fillRandom(be.heap.f32.subarray(a >>> 2, (a >>> 2) + m * k), 1);
  fillRandom(be.heap.f32.subarray(b >>> 2, (b >>> 2) + k * n), 2);
  const [lda, ldb] = [layout === GemmLayout.TN ? m : k, layout === GemmLayout.NT ? k : n];
  return () => be.kernels.f32_gemm(layout, m, n, k, 1, a, lda, b, ldb, 0, c, n, be.gemmWorkspace);
}

/** Warms `run` up for warmMs (V8 tiers it up); the reps that make a sample last MIN_SAMPLE_S. */
const warm = (run: () => void, warmMs: number) => Math.max(1, Math.ceil(MIN_SAMPLE_S / warmUp(run, warmMs)));

/** A sample whose busy probe ran below this share of the plain one was taken on a shared core. */
const CORE_SHARED_BELOW = 0.85;

function wasmVsJs(): void {
  const peak = hasFlag("--peak-probe") ? probeForBackend(wasmBuild()) : null;
  heading(`f32_gemm: ${wasmBuild()} vs js, single thread`);
  const cases = SHAPES.flatMap(([m, k, n]) => ALL.map((layout) => {
    const [runWasm, runJs] = [setUp(createWasmBackend(), layout, m, k, n), setUp(createJsBackend(), layout, m, k, n)];
    const wasmReps = warm(runWasm, quick ? 50 : 200);
    const jsOnce = timeCalls(runJs, 1);
    // The JS backend is 25-50× slower: about 1.5 s of it per case (0.3 s quick).
    const jsSamples = quick ? Math.max(1, Math.min(3, Math.floor(0.3 / jsOnce))) : Math.max(3, Math.min(9, Math.floor(1.5 / jsOnce)));
    return { label: label(m, k, n), layout, flops: 2 * m * n * k, runWasm, runJs, wasmReps, jsSamples, wasm: [] as number[], js: [] as number[], probes: [] as { plain: number; busy: number }[] };
  }));
  const wasmSamples = quick ? 5 : 15;
  const rounds = Math.max(wasmSamples, ...cases.map((c) => c.jsSamples));
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      if (due(wasmSamples, rounds, r)) {
        c.wasm.push(timeCalls(c.runWasm, c.wasmReps));
        if (peak) c.probes.push({ plain: peak.probe.sample().gflops, busy: peak.busy.sample().gflops });
      }
      if (due(c.jsSamples, rounds, r)) c.js.push(timeCalls(c.runJs, 1));
    }
  }
  console.log("GFLOP/s = 2·M·N·K / median time; the range is the slowest and fastest Wasm sample (a wide one means a noisy machine).\n");
  if (peak) console.log(`% of peak: each Wasm sample ÷ the peak probe right after it (${peak.probe.what}); shared: samples whose busy twin ran below ${100 * CORE_SHARED_BELOW}% of it.${peak.note ? ` ${peak.note}.` : ""}`);
  console.log(table(["M×K×N", "layout", "Wasm GFLOP/s", "(Wasm range)", "JS GFLOP/s", "Wasm/JS", ...(peak ? ["% of peak", "shared"] : [])], cases.map((c) => {
    const g = (t: number) => gflops(c.flops, t);
    const [wasm, js] = [g(median(c.wasm)), g(median(c.js))];
    const probe = peak ? [`${(100 * median(c.wasm.map((t, i) => g(t) / c.probes[i]!.plain))).toFixed(0)}%`, `${c.probes.filter((p) => p.busy / p.plain < CORE_SHARED_BELOW).length}/${c.probes.length}`] : [];
    return [c.label, LAYOUT_NAME[c.layout]!, wasm.toFixed(1), `${g(Math.max(...c.wasm)).toFixed(1)}–${g(Math.min(...c.wasm)).toFixed(1)}`, js.toFixed(2), `${(wasm / js).toFixed(1)}x`, ...probe];
  }), ["l", "l"]));
}

function scaling(counts: number[]): void {
  heading(`f32_gemm on 1 to ${Math.max(...counts)} threads (setNumThreads), ${wasmBuild()}`);
  const be = createWasmBackend();
  // A plain memory cannot run threads: setNumThreads(> 1) says so once; expected here, so not shown.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void (/memory is not shared/.test(String(args[0])) || warn(...args));
  const plain = createWasmBackend(new WebAssembly.Memory({ initial: 16, maximum: 65536 }));
  const rows = ([[1024, 1024, 1024], [256, 784, 256]] as const).flatMap(([m, k, n]) => ALL.map((layout) => {
    const [run, runPlain] = [setUp(be, layout, m, k, n), setUp(plain, layout, m, k, n)];
    for (let i = 0; i < 3; i++) runPlain();
    return { label: label(m, k, n), layout, flops: 2 * m * n * k, run, runPlain, reps: warm(run, quick ? 50 : 200), times: new Map(counts.map((t) => [t, [] as number[]])), plain: [] as number[] };
  }));
  const rounds = quick ? 5 : 15;
  const startTiles = workerTilesPosted();
  const got = new Map<number, number>();
  for (let r = 0; r < rounds; r++) {
    for (const t of counts) {
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
  console.log(`GFLOP/s = 2·M·N·K / median time (${rounds} samples per cell, taken round robin over the thread counts); ×: speedup over 1 thread. Worker tiles run: ${workerTilesPosted() - startTiles}.\n`);
  console.log(table(["M×K×N", "layout", ...counts.map((t) => `${t} thread${t === 1 ? "" : "s"}`), "plain memory, 1 thread"], rows.map((row) => {
    const g = (ts: number[]) => gflops(row.flops, median(ts));
    const one = g(row.times.get(1)!);
    const cells = counts.map((t) => (t === 1 ? one.toFixed(1) : `${g(row.times.get(t)!).toFixed(1)} (${(g(row.times.get(t)!) / one).toFixed(2)}×)`));
    return [row.label, LAYOUT_NAME[row.layout]!, ...cells, g(row.plain).toFixed(1)];
  }), ["l", "l"]));
  const short = counts.filter((t) => got.get(t) !== t);
  if (short.length) console.log(`\nNote: ${short.map((t) => `${t} threads asked, ${got.get(t)} ran`).join("; ")}.`);
}

function relaxedVsBaseline(): void {
  if (!enableRelaxedSimdIfSupported()) throw new Error("bench/gemm.ts --relaxed: this engine does not validate the relaxed-SIMD build");
  const samples = quick ? 5 : 21;
  const builds = ["baseline", "relaxed"] as const;
  const backends = { baseline: createWasmBackend(undefined, { simd: "baseline" }), relaxed: createWasmBackend(undefined, { simd: "relaxed" }) };
  const shapes = [[256, 784, 256, ALL], [1024, 1024, 1024, [GemmLayout.NN]], [256, 256, 10, ALL]] as const;
  const cases = shapes.flatMap(([m, k, n, layouts]) => layouts.map((layout) => {
    const run = { baseline: setUp(backends.baseline, layout, m, k, n), relaxed: setUp(backends.relaxed, layout, m, k, n) };
    warm(run.relaxed, 300);
    return { label: `${label(m, k, n)} ${LAYOUT_NAME[layout]}`, flops: 2 * m * n * k, run, reps: warm(run.baseline, 300), times: { baseline: [] as number[], relaxed: [] as number[] } };
  }));
  for (let s = 0; s < samples; s++) for (const c of cases) for (const b of s % 2 ? builds : [...builds].reverse()) c.times[b].push(timeCalls(c.run[b], c.reps));
  heading(`f32_gemm, 1 thread, ${backends.baseline.description} vs ${backends.relaxed.description}: ${samples} alternating samples per build, median GFLOP/s`);
  console.log(table(["case", "baseline", "relaxed", "speedup"], cases.map((c) => {
    const [base, relaxed] = builds.map((b) => gflops(c.flops, median(c.times[b]))) as [number, number];
    return [c.label, base.toFixed(1), relaxed.toFixed(1), `${(relaxed / base).toFixed(2)}×`];
  })));
}

/** A transposed view is read by the GEMM as its NT layout, with no copy: NT / NN near 1.00. */
function views(): void {
  const rounds = quick ? 9 : 41;
  setBackend("wasm");
  heading(`A.matmul(B.t()) vs A.matmul(B), ${getBackend().description}, 1 thread`);
  for (const [m, k, n] of [[256, 784, 256], [512, 512, 512], [1024, 1024, 1024]] as const) {
    const [A, B, Bnk] = [randn([m, k]), randn([k, n]), randn([n, k])];
    const reps = Math.max(1, Math.round(2e8 / (m * n * k)));
    const run = { nn: () => A.matmul(B).dispose(), nt: () => A.matmul(Bnk.t()).dispose() };
    const t = { nn: [] as number[], nt: [] as number[] };
    noGrad(() => {
      for (const fn of Object.values(run)) timeCalls(fn, reps);
      // The order alternates, so neither always runs on a warmer machine.
      for (let r = 0; r < rounds; r++) for (const which of rotate(["nn", "nt"] as const, r)) t[which].push(timeCalls(run[which], reps) * 1000);
    });
    console.log(`${m}x${k}x${n}: NN ${median(t.nn).toFixed(3)} ms, NT (B.t() view) ${median(t.nt).toFixed(3)} ms, median NT/NN ${median(t.nt.map((x, i) => x / t.nn[i]!)).toFixed(3)} over ${rounds} rounds of ${reps}`);
  }
}

/**
 * conv2d against the GEMM it runs on (one f32_gemm of the forward's shape,
 * OC × (N·OH·OW) × (C·KH·KW), on ready operands); the backward is a forward +
 * backward minus the forward's median, and counts twice the forward's flop.
 */
function conv(): void {
  setBackend("wasm");
  manualSeed(0);
  const be = getBackend();
  const layers = [
    { name: "LeNet conv1 1→6 5×5 pad 2, 28×28, batch 256", N: 256, C: 1, H: 28, OC: 6, k: 5, pad: 2 },
    { name: "LeNet conv2 6→16 5×5, 14×14, batch 256", N: 256, C: 6, H: 14, OC: 16, k: 5, pad: 0 },
    { name: "wide 64→64 3×3 pad 1, 32×32, batch 8", N: 8, C: 64, H: 32, OC: 64, k: 3, pad: 1 },
  ];
  const rows = layers.map(({ name, N, C, H, OC, k, pad }) => {
    const OH = H + 2 * pad - k + 1;
    const [K, NP] = [C * k * k, N * OH * OH];
    const flops = 2 * OC * K * NP;
    const x = randn([N, C, H, H]).keep();
    const [w, b] = [randn([OC, C, k, k], { requiresGrad: true }).keep(), randn([OC], { requiresGrad: true }).keep()];
    const xg = x.clone().requiresGrad_(true).keep();
    const [a, col, c] = [OC * K, K * NP, OC * NP].map((len) => be.allocator.alloc(4 * len)) as [number, number, number];
    const cases = {
      gemm: () => be.kernels.f32_gemm(GemmLayout.NN, OC, NP, K, 1, a, K, col, NP, 0, c, NP, be.gemmWorkspace),
      forward: () => noGrad(() => void nn.functional.conv2d(x, w, b, { padding: pad })),
      both: () => {
        nn.functional.conv2d(xg, w, b, { padding: pad }).sum().backward();
        xg.grad = w.grad = b.grad = null;
      },
    };
    const ms = { gemm: [] as number[], forward: [] as number[], both: [] as number[] };
    for (const fn of Object.values(cases)) fn();
    for (let r = 0; r < (quick ? 5 : 15); r++) for (const key of rotate(["gemm", "forward", "both"] as const, r)) ms[key].push(timeCalls(cases[key], 1) * 1000);
    const [gemmMs, fwdMs] = [median(ms.gemm), median(ms.forward)];
    const bwdMs = median(ms.both) - fwdMs;
    const g = (f: number, t: number) => f / t / 1e6;
    const cell = (f: number, t: number) => `${t.toFixed(2)} ms, ${g(f, t).toFixed(1)} (${((100 * g(f, t)) / g(flops, gemmMs)).toFixed(0)}%)`;
    for (const p of [a, col, c]) be.allocator.free(p);
    for (const t of [x, w, b, xg]) t.dispose();
    return [name, `${gemmMs.toFixed(2)} ms, ${g(flops, gemmMs).toFixed(1)}`, cell(flops, fwdMs), cell(2 * flops, bwdMs)];
  });
  heading(`conv2d vs GEMM, ${be.description}, 1 thread, medians (GFLOP/s; % of the GEMM's)`);
  console.log(table(["layer", "GEMM of the forward's shape", "conv2d forward", "conv2d backward"], rows, ["l", "l", "l", "l"]));
}

if (flag("--threads", "") !== "") scaling(threadList("1"));
else if (hasFlag("--relaxed")) relaxedVsBaseline();
else if (hasFlag("--views")) views();
else if (hasFlag("--conv")) conv();
else wasmVsJs();
