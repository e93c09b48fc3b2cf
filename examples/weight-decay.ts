// Dive into Deep Learning, "Weight decay": a 200-input linear regression with
// 20 training examples overfits; an L2 (or L1) penalty keeps it in check.
// The experiment lives in src/experiments/weight-decay.ts; the CLI runs it too:
// npx wasmgrad weight-decay --lambd 0,3
// Run: npx tsx examples/weight-decay.ts

import { pathToFileURL } from "node:url";
import { BOOK_VARIANTS, runWeightDecay } from "../src/experiments/weight-decay.ts";

export * from "../src/experiments/weight-decay.ts";

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const v of BOOK_VARIANTS) {
    const r = runWeightDecay({ ...v.opts, seed: 0 });
    console.log(
      `${v.label.padEnd(34)} train ${r.trainLoss.toExponential(2)}  test ${r.testLoss.toExponential(2)}  ` +
        `‖w‖ ${r.wNorm.toFixed(3)}  |w|<1e-3: ${(r.sparsity * 100).toFixed(0)}%  (${r.seconds.toFixed(2)} s)`,
    );
  }
}
