// `npm run bench:lenet`: a d2l LeNet batch on one thread, wasmgrad (the shared trainEpoch) vs PyTorch
// (lenet_torch.py) and TensorFlow.js wasm / cpu (NHWC, minimize()), taking turns; medians, ratios to PyTorch.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type * as TF from "@tensorflow/tfjs";
import { manualSeed, memoryStats, nn, rand, setBackend, tensor, type Tensor } from "../src/index.ts";
import { buildLenet, makeOptimizer, trainEpoch } from "../src/training.ts";
import { hasFlag, machineLine, median, rotate, table } from "./stats.ts";

const ROUNDS = hasFlag("--quick") ? 4 : 10;
const PER_ROUND = 3;
const labels = Array.from({ length: 256 }, (_, i) => (i * 7) % 10);

type Contender = { name: string; batches(n: number): Promise<number[]> };

function wasmgrad(): Contender {
  setBackend("wasm");
  manualSeed(0);
  const net = buildLenet();
  const opt = makeOptimizer(net, { lr: 0.9 });
  const lossFn = new nn.CrossEntropyLoss();
  const batch: [Tensor, Tensor] = [rand([256, 1, 28, 28]).keep(), tensor(Int32Array.from(labels), { dtype: "int32" }).keep()];
  return {
    name: "wasmgrad (wasm, 1 thread)",
    async batches(n) {
      const times: number[] = [];
      let t = performance.now();
      await trainEpoch(net, Array.from({ length: n }, () => batch), opt, lossFn, {
        onBatch: () => {
          times.push(performance.now() - t);
          t = performance.now();
        },
      });
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
  if (backend === "wasm") (await import("@tensorflow/tfjs-backend-wasm")).setThreadsCount(1);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs ${backend} failed to start`);
  await tf.ready();
  const glorot = (shape: number[], fanIn: number, fanOut: number) =>
    tf.variable(tf.randomUniform(shape, -Math.sqrt(6 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut))));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const w = [glorot([5, 5, 1, 6], 25, 150), glorot([5, 5, 6, 16], 150, 400), glorot([400, 120], 400, 120), glorot([120, 84], 120, 84), glorot([84, 10], 84, 10)];
  const b = [zeros(6), zeros(16), zeros(120), zeros(84), zeros(10)];
  const x = tf.randomUniform([256, 28, 28, 1]) as TF.Tensor4D;
  const y = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
  const opt = tf.train.sgd(0.9);
  const pool = (h: TF.Tensor, i: number, pad: number | "valid") =>
    tf.avgPool(tf.sigmoid(tf.add(tf.conv2d(h as TF.Tensor4D, w[i] as TF.Tensor4D, 1, pad), b[i]!)) as TF.Tensor4D, 2, 2, 0);
  const dense = (h: TF.Tensor, i: number) => tf.add(tf.matMul(h as TF.Tensor2D, w[i] as TF.Tensor2D), b[i]!);
  const forward = () => {
    const f = pool(pool(x, 0, 2), 1, "valid").reshape([256, 400]);
    return tf.losses.softmaxCrossEntropy(y, dense(tf.sigmoid(dense(tf.sigmoid(dense(f, 2)), 3)), 4)) as TF.Scalar;
  };
  return {
    name: `TensorFlow.js ${tf.version.tfjs} (${backend})`,
    async batches(n) {
      const times: number[] = [];
      for (let t0 = performance.now(); times.length < n; t0 = performance.now()) {
        const loss = opt.minimize(forward, true)!;
        await loss.data();
        loss.dispose();
        times.push(performance.now() - t0);
      }
      return times;
    },
  };
}

export async function lenetRace(): Promise<void> {
  const contenders: Contender[] = [wasmgrad()];
  const torch = await pytorch();
  if (torch) contenders.push(torch);
  else console.log("PyTorch: /usr/bin/python3 with torch not available, left out");
  const unable: string[] = [];
  for (const backend of ["wasm", "cpu"] as const) {
    const c = await tfjs(backend);
    try {
      await c.batches(1);
      contenders.push(c);
    } catch (error) {
      // TensorFlow.js 4.22's wasm backend has no Conv2DBackpropFilter kernel: it can run a CNN but not train one.
      unable.push(`${c.name}: cannot train LeNet (${(error as Error).message})`);
    }
  }
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await c.batches(2); // warm-up
  let firstHighWater = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // tfjs-cpu takes seconds a batch: one a round.
    for (const c of rotate(contenders, r)) samples.get(c.name)!.push(...(await c.batches(c.name.includes("(cpu)") ? 1 : PER_ROUND)));
    process.stderr.write(`round ${r + 1}/${ROUNDS}\r`);
    if (r === 0) firstHighWater = memoryStats().highWater;
  }
  const base = torch ? median(samples.get(torch.name)!) : NaN;
  console.log(`# d2l LeNet, batch 256, one thread each, ${ROUNDS} rounds of ${PER_ROUND} batches, medians\n# ${machineLine()}\n`);
  console.log(table(["contender", "ms / batch", "epoch (235 batches)", "× PyTorch"], contenders.map((c) => {
    const m = median(samples.get(c.name)!);
    return [c.name, m.toFixed(1), `${((m * 235) / 1000).toFixed(1)} s`, (m / base).toFixed(2)];
  }), ["l", "l", "l", "l"]));
  for (const u of unable) console.log(`\n${u}`);
  console.log(`\nwasmgrad highWater: ${(firstHighWater / 2 ** 20).toFixed(1)} MiB after round 1, ${(memoryStats().highWater / 2 ** 20).toFixed(1)} MiB after round ${ROUNDS}`);
  process.exit(0);
}
