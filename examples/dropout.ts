// Dive into Deep Learning, "Dropout": dropout from scratch on a small tensor,
// then the 784-256-256-10 MLP with nn.Dropout trained on Fashion-MNIST.
// The experiment lives in src/experiments/dropout.ts; the CLI runs it too:
// npx wasmgrad dropout --dropout 0.2,0.5
// Run: npx tsx examples/dropout.ts [--epochs 5]

import { pathToFileURL } from "node:url";
import { dropoutFromScratchDemo, trainDropoutMlp } from "../src/experiments/dropout.ts";

export * from "../src/experiments/dropout.ts";

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const epochs = Number(args[args.indexOf("--epochs") + 1]) || 5;
  for (const { p, out } of dropoutFromScratchDemo()) console.log(`dropout p = ${p}:`, JSON.stringify(out));
  await trainDropoutMlp({
    epochs,
    onEpoch: (s) =>
      console.log(
        `epoch ${s.epoch}: train loss ${s.trainLoss.toFixed(3)}, train acc ${s.trainAcc.toFixed(3)}, ` +
          `test acc ${s.testAcc.toFixed(3)}, ${s.seconds.toFixed(1)} s (${Math.round(s.imagesPerSecond)} img/s)`,
      ),
  });
}
