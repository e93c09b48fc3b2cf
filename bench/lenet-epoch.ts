// One d2l LeNet batch (256 images, forward, loss, backward, SGD step) on one
// thread: wasmgrad (Wasm backend) against PyTorch 1.13 (bench/lenet_torch.py,
// a child process) and TensorFlow.js 4.22's wasm and cpu backends (the same
// model in NHWC, its own layout; variables, minimize() as its examples do).
//
//   npx tsx bench/lenet-epoch.ts [--quick] [--no-tfjs-cpu]
//
// Rounds of a few batches each, the contenders taking turns in every round,
// so machine noise hits them alike; each reports its median batch, an epoch
// estimate (235 batches, the 60 000-image set), and its ratio to PyTorch.
// Memory: wasmgrad's highWater after the first round and after the last.
// TensorFlow.js 4.22's wasm backend cannot train a CNN (no Conv2DBackpropFilter
// kernel): the run says so rather than timing it.

import { spawn } from "node:child_process";
import type * as TF from "@tensorflow/tfjs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { buildLenet } from "../src/training.ts";
import { manualSeed, memoryStats, nn, optim, rand, setBackend, tensor } from "../src/index.ts";
import { median } from "./stats.ts";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 4 : 10;
const PER_ROUND = 3;

type Contender = { name: string; batches(n: number): Promise<number[]> };

function wasmgrad(): Contender {
  setBackend("wasm");
  manualSeed(0);
  const net = buildLenet();
  const opt = new optim.SGD(net.parameters(), { lr: 0.9 });
  const lossFn = new nn.CrossEntropyLoss();
  const x = rand([256, 1, 28, 28]).keep();
  const y = tensor(Int32Array.from({ length: 256 }, (_, i) => (i * 7) % 10), { dtype: "int32" }).keep();
  return {
    name: "wasmgrad (wasm, 1 thread)",
    async batches(n) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const loss = lossFn.forward(net.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        loss.item();
        times.push(performance.now() - t0);
      }
      return times;
    },
  };
}

async function pytorch(): Promise<Contender | null> {
  const child = spawn("/usr/bin/python3", [fileURLToPath(new URL("./lenet_torch.py", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next().catch(() => ({ done: true, value: undefined }));
  if (first.done) return null;
  const info = JSON.parse(first.value as string);
  process.on("exit", () => child.kill());
  return {
    name: `PyTorch ${info.torch} (${info.threads} thread)`,
    async batches(n) {
      child.stdin.write(`${n}\n`);
      return JSON.parse((await lines.next()).value as string);
    },
  };
}

async function tfjs(backend: "wasm" | "cpu"): Promise<Contender> {
  const tf = await import("@tensorflow/tfjs");
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs ${backend} failed to start`);
  await tf.ready();
  const glorot = (shape: number[], fanIn: number, fanOut: number) =>
    tf.variable(tf.randomUniform(shape, -Math.sqrt(6 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut))));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const w1 = glorot([5, 5, 1, 6], 25, 150), b1 = zeros(6), w2 = glorot([5, 5, 6, 16], 150, 400), b2 = zeros(16);
  const w3 = glorot([400, 120], 400, 120), b3 = zeros(120), w4 = glorot([120, 84], 120, 84), b4 = zeros(84);
  const w5 = glorot([84, 10], 84, 10), b5 = zeros(10);
  const x = tf.randomUniform([256, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 256 }, (_, i) => (i * 7) % 10), "int32"), 10);
  const opt = tf.train.sgd(0.9);
  const forward = () => {
    const conv = (h: TF.Tensor4D, w: TF.Variable, pad: number | "valid") => tf.conv2d(h, w as TF.Tensor4D, 1, pad);
    let h = tf.avgPool(tf.sigmoid(tf.add(conv(x as TF.Tensor4D, w1, 2), b1)) as TF.Tensor4D, 2, 2, 0) as TF.Tensor4D;
    h = tf.avgPool(tf.sigmoid(tf.add(conv(h, w2, "valid"), b2)) as TF.Tensor4D, 2, 2, 0) as TF.Tensor4D;
    let f: TF.Tensor = h.reshape([256, 400]);
    f = tf.sigmoid(tf.add(tf.matMul(f as TF.Tensor2D, w3 as TF.Tensor2D), b3));
    f = tf.sigmoid(tf.add(tf.matMul(f as TF.Tensor2D, w4 as TF.Tensor2D), b4));
    return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(f as TF.Tensor2D, w5 as TF.Tensor2D), b5)) as TF.Scalar;
  };
  return {
    name: `TensorFlow.js ${tf.version.tfjs} (${backend})`,
    async batches(n) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const loss = opt.minimize(forward, true)!;
        await loss.data();
        loss.dispose();
        times.push(performance.now() - t0);
      }
      return times;
    },
  };
}
const contenders: Contender[] = [wasmgrad()];
const torch = await pytorch();
if (torch) contenders.push(torch);
else console.log("PyTorch: /usr/bin/python3 with torch not available, left out");
// TensorFlow.js 4.22's wasm backend has no Conv2DBackpropFilter kernel: it can run a CNN but not train one.
const unable: string[] = [];
for (const backend of ["wasm", "cpu"] as const) {
  if (backend === "cpu" && process.argv.includes("--no-tfjs-cpu")) continue;
  const c = await tfjs(backend);
  try {
    await c.batches(1);
    contenders.push(c);
  } catch (error) {
    unable.push(`${c.name}: cannot train LeNet (${(error as Error).message})`);
  }
}
const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (const c of contenders) await c.batches(2); // warm-up
let firstHighWater = 0;
for (let r = 0; r < ROUNDS; r++) {
  // tfjs-cpu takes seconds a batch: one a round.
  for (const c of contenders) samples.get(c.name)!.push(...(await c.batches(c.name.includes("(cpu)") ? 1 : PER_ROUND)));
  process.stderr.write(`round ${r + 1}/${ROUNDS}\r`);
  if (r === 0) firstHighWater = memoryStats().highWater;
}
const base = torch ? median(samples.get(torch.name)!) : NaN;
console.log(`d2l LeNet, batch 256, one thread each, ${ROUNDS} rounds of ${PER_ROUND} batches, medians\n`);
console.log("| contender | ms / batch | epoch (235 batches) | × PyTorch |");
console.log("|---|---|---|---|");
for (const c of contenders) {
  const m = median(samples.get(c.name)!);
  console.log(`| ${c.name} | ${m.toFixed(1)} | ${((m * 235) / 1000).toFixed(1)} s | ${(m / base).toFixed(2)} |`);
}
for (const u of unable) console.log(`\n${u}`);
console.log(`\nwasmgrad highWater: ${(firstHighWater / 2 ** 20).toFixed(1)} MiB after round 1, ${(memoryStats().highWater / 2 ** 20).toFixed(1)} MiB after round ${ROUNDS}`);
process.exit(0);
