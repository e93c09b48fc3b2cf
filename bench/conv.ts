// conv2d throughput against the GEMM it runs on, Wasm backend, one thread.
//
//   npx tsx bench/conv.ts [--quick]
//
// For each layer (d2l LeNet's two convolutions at batch 256, and a wide
// 64→64 3×3 layer on 32×32 images, batch 8), times, interleaved round robin
// after a warm-up, each reporting its median:
//   gemm      one f32_gemm of the forward's shape, OC × (N·OH·OW) × (C·KH·KW),
//             on ready operands: the GEMM's GFLOP/s for this layer;
//   forward   F.conv2d (im2col + GEMM + plane swap with the bias);
//   backward  the backward alone (input, weight and bias gradients: two GEMMs
//             of the forward's size, im2col again, col2im, two plane swaps),
//             as a forward + backward minus the forward's median.
// GFLOP/s count 2·OC·K·N·P flops for the forward and twice that for the
// backward; "of GEMM" is each against the gemm row's GFLOP/s.

import { GemmLayout } from "../src/backend/kernels.ts";
import { getBackend, manualSeed, nn, noGrad, randn, setBackend, type Tensor } from "../src/index.ts";
import { median } from "./stats.ts";

const quick = process.argv.includes("--quick");
setBackend("wasm");
manualSeed(0);
const F = nn.functional;

interface Layer {
  name: string;
  N: number; C: number; H: number; W: number; OC: number; k: number; pad: number;
}
const LAYERS: Layer[] = [
  { name: "LeNet conv1 1→6 5×5 pad 2, 28×28, batch 256", N: 256, C: 1, H: 28, W: 28, OC: 6, k: 5, pad: 2 },
  { name: "LeNet conv2 6→16 5×5, 14×14, batch 256", N: 256, C: 6, H: 14, W: 14, OC: 16, k: 5, pad: 0 },
  { name: "wide 64→64 3×3 pad 1, 32×32, batch 8", N: 8, C: 64, H: 32, W: 32, OC: 64, k: 3, pad: 1 },
];


function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const rows: string[] = [];
for (const L of LAYERS) {
  const OH = L.H + 2 * L.pad - L.k + 1;
  const P = OH * OH;
  const K = L.C * L.k * L.k;
  const NP = L.N * P;
  const flops = 2 * L.OC * K * NP;
  const x = randn([L.N, L.C, L.H, L.W]).keep();
  const w = randn([L.OC, L.C, L.k, L.k], { requiresGrad: true }).keep();
  const b = randn([L.OC], { requiresGrad: true }).keep();
  const xg = x.clone().requiresGrad_(true).keep();
  const be = getBackend();
  const a = be.allocator.alloc(4 * L.OC * K);
  const col = be.allocator.alloc(4 * K * NP);
  const c = be.allocator.alloc(4 * L.OC * NP);
  const cases: Record<string, () => void> = {
    gemm: () => be.kernels.f32_gemm(GemmLayout.NN, L.OC, NP, K, 1, a, K, col, NP, 0, c, NP, be.gemmWorkspace),
    forward: () => noGrad(() => void F.conv2d(x, w, b, { padding: L.pad })),
    "forward+backward": () => {
      const y: Tensor = F.conv2d(xg, w, b, { padding: L.pad });
      y.sum().backward();
      xg.grad = null;
      w.grad = null;
      b.grad = null;
    },
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((n) => [n, []]));
  for (const fn of Object.values(cases)) fn();
  const rounds = quick ? 5 : 15;
  for (let r = 0; r < rounds; r++) for (const [n, fn] of Object.entries(cases)) samples[n]!.push(time(fn));
  const gemmMs = median(samples.gemm!);
  const fwdMs = median(samples.forward!);
  const bwdMs = median(samples["forward+backward"]!) - fwdMs;
  const g = (f: number, ms: number) => f / ms / 1e6;
  const gemmG = g(flops, gemmMs);
  rows.push(
    `| ${L.name} | ${gemmMs.toFixed(2)} ms, ${gemmG.toFixed(1)} | ${fwdMs.toFixed(2)} ms, ${g(flops, fwdMs).toFixed(1)} (${((100 * g(flops, fwdMs)) / gemmG).toFixed(0)}%) ` +
      `| ${bwdMs.toFixed(2)} ms, ${g(2 * flops, bwdMs).toFixed(1)} (${((100 * g(2 * flops, bwdMs)) / gemmG).toFixed(0)}%) |`,
  );
  for (const p of [a, col, c]) be.allocator.free(p);
  for (const t of [x, w, b, xg]) t.dispose();
}
console.log(`conv2d vs GEMM, ${getBackend().description}, 1 thread, medians (GFLOP/s; % of the GEMM's)\n`);
console.log("| layer | GEMM of the forward's shape | conv2d forward | conv2d backward |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(r);
