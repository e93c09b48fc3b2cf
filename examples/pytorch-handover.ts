// The wasmgrad ends of a hand-over to PyTorch (README, "When you outgrow one machine"):
//
//   npx tsx examples/pytorch-handover.ts start --out run.safetensors [--epochs 0] [--seed 0]
//     the d2l dropout MLP (normal(0, 0.01) init, SGD lr 0.5 as the book trains it),
//     trained --epochs epochs here first, saved as a checkpoint for PyTorch;
//   npx tsx examples/pytorch-handover.ts evaluate back.safetensors
//     loads a checkpoint PyTorch wrote (examples/ddp_from_wasmgrad.py) and prints
//     its test accuracy, measured by wasmgrad.
//
// Both use the installed Fashion-MNIST (/usr/share/datasets/fashion-mnist/), else
// the bundled subset; --root DIR picks another directory of the four IDX files.

import { readFileSync, writeFileSync } from "node:fs";
import { data, io, manualSeed, nn } from "../src/index.ts";
import { buildMlp, evaluateAccuracy, makeOptimizer, trainEpoch } from "../src/training.ts";

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string, fallback?: string): string | undefined => {
  const at = rest.indexOf(`--${name}`);
  return at >= 0 ? rest[at + 1] : fallback;
};
const root = flag("root");

async function testAccuracy(net: nn.Module): Promise<{ accuracy: number; images: number }> {
  const test = await data.fashionMnist({ root, train: false });
  return { accuracy: evaluateAccuracy(net, new data.DataLoader(test, { batchSize: 256 })), images: test.length };
}

if (command === "start") {
  const out = flag("out") ?? "run.safetensors";
  const epochs = Number(flag("epochs", "0"));
  manualSeed(Number(flag("seed", "0")));
  const net = buildMlp();
  const opt = makeOptimizer(net);
  if (epochs > 0) {
    const train = await data.fashionMnist({ root, train: true });
    const loader = new data.DataLoader(train, { batchSize: 256, shuffle: true });
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const e = await trainEpoch(net, loader, opt, new nn.CrossEntropyLoss());
      console.log(`wasmgrad epoch ${epoch}: train loss ${e.trainLoss.toFixed(3)}, ${e.seconds.toFixed(1)} s`);
    }
    const { accuracy } = await testAccuracy(net);
    console.log(`wasmgrad test accuracy after ${epochs} epoch(s): ${accuracy.toFixed(4)}`);
  }
  writeFileSync(out, io.saveCheckpoint({ model: net, optimizer: opt, metadata: { epoch: String(epochs) } }));
  console.log(`wrote ${out}`);
} else if (command === "evaluate" && rest[0] && !rest[0].startsWith("--")) {
  const path = rest[0];
  const net = buildMlp();
  const { metadata } = io.loadCheckpoint(readFileSync(path), { model: net, optimizer: makeOptimizer(net) }, { name: path });
  const { accuracy, images } = await testAccuracy(net);
  console.log(`${path}: epoch ${metadata.epoch ?? "?"}, wasmgrad test accuracy ${accuracy.toFixed(4)} on ${images} images`);
  console.log(JSON.stringify({ epoch: Number(metadata.epoch), testAcc: accuracy, images }));
} else {
  console.error("usage: npx tsx examples/pytorch-handover.ts start --out FILE [--epochs N] [--seed S] [--root DIR]\n" +
    "       npx tsx examples/pytorch-handover.ts evaluate FILE [--root DIR]");
  process.exit(2);
}
