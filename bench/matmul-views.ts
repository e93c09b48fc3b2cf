// A.matmul(B.t()) against A.matmul(B) through the public API: a transposed
// view is read by the GEMM as its NT layout, with no copy, so the two should
// run alike. Samples alternate between the two (interleaved, so machine noise
// hits both); each shape reports the median time of each and the median of
// the per-round ratios NT / NN (1.00 = same speed, > 1 = the view is slower).
//
//   npx tsx bench/matmul-views.ts [--rounds N]

import { noGrad, randn, setBackend, type Tensor } from "../src/index.ts";
import { median } from "./stats.ts";

const roundsArg = process.argv.indexOf("--rounds");
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 41;


function time(fn: () => Tensor, reps: number): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn().dispose();
  return (performance.now() - t0) / reps;
}

setBackend("wasm");
const shapes: [number, number, number][] = [[256, 784, 256], [512, 512, 512], [1024, 1024, 1024]];
for (const [m, k, n] of shapes) {
  const A = randn([m, k]);
  const B = randn([k, n]);
  const Bnk = randn([n, k]);
  const reps = Math.max(1, Math.round(2e8 / (m * n * k)));
  const nn: number[] = [];
  const nt: number[] = [];
  const ratios: number[] = [];
  noGrad(() => {
    time(() => A.matmul(B), reps);
    time(() => A.matmul(Bnk.t()), reps);
    for (let r = 0; r < rounds; r++) {
      const first = r % 2 === 0;
      const a = first ? time(() => A.matmul(B), reps) : 0;
      const b = time(() => A.matmul(Bnk.t()), reps);
      const c = first ? a : time(() => A.matmul(B), reps);
      nn.push(c);
      nt.push(b);
      ratios.push(b / c);
    }
  });
  console.log(
    `${m}x${k}x${n}: NN ${median(nn).toFixed(3)} ms, NT (B.t() view) ${median(nt).toFixed(3)} ms, ` +
      `median NT/NN ${median(ratios).toFixed(3)} over ${rounds} rounds of ${reps}`,
  );
}
