// GEMM throughput of the two builds of the Wasm module, baseline SIMD vs
// relaxed SIMD (f32x4.relaxed_madd), single-threaded, in one process: samples
// alternate between the builds (and round robin over the cases), so machine
// noise hits both alike; each reports its median. (On Node 20 and 21 the
// library turns on V8's relaxed-SIMD flag itself: see src/backend/wasm.ts.)
//
//   npx tsx bench/gemm-relaxed.ts [--samples N]

import type { Backend } from "../src/backend/backend.ts";
import { GemmLayout } from "../src/backend/kernels.ts";
import { createWasmBackend, relaxedSimdSupported } from "../src/backend/wasm.ts";
import { median } from "./stats.ts";

if (!relaxedSimdSupported()) {
  console.error("bench/gemm-relaxed.ts: this engine does not validate the relaxed-SIMD build");
  process.exit(2);
}
const si = process.argv.indexOf("--samples");
const SAMPLES = si > 0 ? Number(process.argv[si + 1]) : 21;
const MIN_SAMPLE_S = 0.05;

const CASES: [number, number, number, GemmLayout][] = [
  [256, 784, 256, GemmLayout.NN], [256, 784, 256, GemmLayout.NT], [256, 784, 256, GemmLayout.TN],
  [1024, 1024, 1024, GemmLayout.NN],
  [256, 256, 10, GemmLayout.NN], [256, 256, 10, GemmLayout.NT], [256, 256, 10, GemmLayout.TN],
];
const LAYOUT = ["NN", "NT", "TN"];

function setUp(be: Backend, layout: GemmLayout, m: number, k: number, n: number): () => void {
  const fill = (count: number) => {
    const p = be.allocator.alloc(count * 4);
    for (let i = 0; i < count; i++) be.heap.f32[(p >>> 2) + i] = Math.sin(i) * 0.5;
    return p;
  };
  const a = fill(m * k);
  const b = fill(k * n);
  const c = fill(m * n);
  const lda = layout === GemmLayout.TN ? m : k;
  const ldb = layout === GemmLayout.NT ? k : n;
  return () => be.kernels.f32_gemm(layout, m, n, k, 1, a, lda, b, ldb, 0, c, n, be.gemmWorkspace);
}


const builds = ["baseline", "relaxed"] as const;
const backends = { baseline: createWasmBackend(undefined, { simd: "baseline" }), relaxed: createWasmBackend(undefined, { simd: "relaxed" }) };
const cases = CASES.map(([m, k, n, layout]) => {
  const run = { baseline: setUp(backends.baseline, layout, m, k, n), relaxed: setUp(backends.relaxed, layout, m, k, n) };
  for (const b of builds) { const until = performance.now() + 300; while (performance.now() < until) run[b](); }
  const t0 = performance.now(); run.baseline(); const once = (performance.now() - t0) / 1000;
  return { label: `${m}×${k}×${n} ${LAYOUT[layout]}`, flops: 2 * m * n * k, run, reps: Math.max(1, Math.ceil(MIN_SAMPLE_S / once)), times: { baseline: [] as number[], relaxed: [] as number[] } };
});
for (let s = 0; s < SAMPLES; s++) {
  for (const c of cases) {
    const order = s % 2 ? builds : [...builds].reverse();
    for (const b of order) {
      const t0 = performance.now();
      for (let r = 0; r < c.reps; r++) c.run[b]();
      c.times[b].push((performance.now() - t0) / 1000 / c.reps);
    }
  }
}
console.log(`# f32_gemm, 1 thread, ${SAMPLES} alternating samples per build, median GFLOP/s (${process.version})`);
console.log(`${backends.baseline.description} vs ${backends.relaxed.description}`);
console.log("| case | baseline | relaxed | speedup |");
console.log("|---|---:|---:|---:|");
for (const c of cases) {
  const g = (b: (typeof builds)[number]) => c.flops / median(c.times[b]) / 1e9;
  console.log(`| ${c.label} | ${g("baseline").toFixed(1)} | ${g("relaxed").toFixed(1)} | ${(g("relaxed") / g("baseline")).toFixed(2)}× |`);
}
