// The main job: both d2l chapters with the book's settings, printed next to
// what PyTorch 1.13 measured (data/pytorch-reference/).
// Run: npm start   (or: npx tsx examples/main.ts [--epochs N])

import { readFileSync } from "node:fs";
import { BOOK_VARIANTS, runWeightDecay } from "./weight-decay.ts";
import { dropoutFromScratchDemo, trainDropoutMlp } from "./dropout.ts";

type Range = { mean: number; min: number; max: number };
const reference = (name: string) =>
  JSON.parse(readFileSync(new URL(`../data/pytorch-reference/${name}`, import.meta.url), "utf8"));

const fmt = (x: number) => (Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toFixed(4) : x.toExponential(2));
const within = (x: number, r: Range) => (x >= r.min && x <= r.max ? "✓" : "✗");
const range = (r: Range) => `[${fmt(r.min)}, ${fmt(r.max)}]`;

const args = process.argv.slice(2);
const epochs = Number(args[args.indexOf("--epochs") + 1]) || 5;

console.log("# Weight decay (d2l 4.5): n_train 20, 200 inputs, batch 1, 100 epochs, lr 0.003, seed 0\n");
const wd = reference("weight_decay.json").variants as Record<string, { train: Range; test: Range; w_l2: Range }>;
console.log("| variant | train loss | PyTorch | test loss | PyTorch | ‖w‖ | PyTorch |");
console.log("|---|---|---|---|---|---|---|");
for (const v of BOOK_VARIANTS) {
  const r = runWeightDecay({ ...v.opts, seed: 0 });
  const ref = wd[v.key];
  console.log(
    `| ${v.label} | ${fmt(r.trainLoss)} ${within(r.trainLoss, ref.train)} | ${range(ref.train)} | ` +
      `${fmt(r.testLoss)} ${within(r.testLoss, ref.test)} | ${range(ref.test)} | ` +
      `${fmt(r.wNorm)} ${within(r.wNorm, ref.w_l2)} | ${range(ref.w_l2)} |`,
  );
}

console.log("\n# Dropout from scratch on arange(16).view(2, 8)\n");
for (const { p, out } of dropoutFromScratchDemo()) console.log(`p = ${p}: ${JSON.stringify(out)}`);

console.log(`\n# Dropout MLP on Fashion-MNIST (784-256-256-10, dropout 0.2/0.5, SGD lr 0.5, batch 256, ${epochs} epochs)\n`);
const mlpRef = reference("dropout_mlp.json").runs.dropout as { hist: { epoch: number; train_loss: number; test_acc: number }[] }[];
console.log("| epoch | train loss | PyTorch | train acc | test acc | PyTorch | seconds | images/s |");
console.log("|---|---|---|---|---|---|---|---|");
const { trainSize } = await trainDropoutMlp({
  epochs,
  onEpoch: (s) => {
    const refs = mlpRef.map((r) => r.hist.find((h) => h.epoch === s.epoch)).filter((h) => h !== undefined);
    const lo = (k: "train_loss" | "test_acc") => Math.min(...refs.map((h) => h[k]));
    const hi = (k: "train_loss" | "test_acc") => Math.max(...refs.map((h) => h[k]));
    const refCell = (k: "train_loss" | "test_acc") => (refs.length ? `[${lo(k).toFixed(3)}, ${hi(k).toFixed(3)}]` : "—");
    console.log(
      `| ${s.epoch} | ${s.trainLoss.toFixed(3)} | ${refCell("train_loss")} | ${s.trainAcc.toFixed(3)} | ` +
        `${s.testAcc.toFixed(3)} | ${refCell("test_acc")} | ${s.seconds.toFixed(2)} | ${Math.round(s.imagesPerSecond)} |`,
    );
  },
});
if (trainSize < 60000) {
  console.log(`\n(Trained on the bundled ${trainSize}-image subset: PyTorch's ranges are for the full 60 000 images.)`);
}
