// The d2l dropout MLP's training epoch over thread counts (setNumThreads): the
// whole loop, so it shows what the threaded GEMMs and the split elementwise
// calls give together, and what stays serial (data, the TypeScript layer,
// small kernels). On a synthetic Fashion-MNIST-sized data set (60 000 random
// 28×28 byte images, 10 classes): the same work as the real epoch, on machines
// without the data set, such as the `device` machine
// (tools/device-thread-scaling.sh runs this after bench/gemm.ts).
//
//   npx tsx bench/epoch-threads.ts [--threads 1,2,4,8] [--epochs 3] [--images 60000]
//
// One model per thread count, all from the same seed; epochs are taken round
// robin over the thread counts (the starting one rotating) so that machine
// noise hits all alike, and each epoch reseeds the generator with its number,
// so every model sees the same shuffles and dropout masks. After the timed
// epochs the parameters must be bitwise those of the 1-thread model (the
// threads contract); the table says so.

import { cpus } from "node:os";
import { FashionMnistDataset } from "../src/data/fashion-mnist.ts";
import { DataLoader } from "../src/data/loader.ts";
import { buildMlp, trainEpoch } from "../src/training.ts";
import { getNumThreads, manualSeed, nn, optim, setNumThreads } from "../src/index.ts";
import { median } from "./stats.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return process.argv[i]!.includes("=") ? process.argv[i]!.split("=")[1]! : process.argv[i + 1] ?? "";
}
function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`bench/epoch-threads.ts: ${name} takes an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const counts = [...new Set(arg("--threads", "1,2").split(",").map((t) => positive("--threads", t, 256)))].sort((a, b) => a - b);
if (counts[0] !== 1) counts.unshift(1); // the reference for speed-ups and bits
const epochs = positive("--epochs", arg("--epochs", "3"), 100);
const images = positive("--images", arg("--images", "60000"), 1 << 20);

/** Random bytes from a fixed LCG: the data does not matter to the time, only its size. */
function syntheticData(n: number): FashionMnistDataset {
  const pixels = new Uint8Array(n * 784);
  const labels = new Int32Array(n);
  let s = 12345;
  for (let i = 0; i < pixels.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    pixels[i] = s >>> 24;
  }
  for (let i = 0; i < n; i++) labels[i] = i % 10;
  return new FashionMnistDataset(pixels, labels);
}

/** FNV-1a over the parameters' bits. */
function parameterHash(net: nn.Module): string {
  let h = 0x811c9dc5;
  for (const p of net.parameters()) {
    const f = p.data();
    const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

const dataset = syntheticData(images);
const loader = new DataLoader(dataset, { batchSize: 256, shuffle: true });
const lossFn = new nn.CrossEntropyLoss();
const runs = counts.map((threads) => {
  manualSeed(0);
  const net = buildMlp();
  return { threads, net, opt: new optim.SGD(net.parameters(), { lr: 0.5 }), seconds: [] as number[], got: 0 };
});

async function epoch(run: (typeof runs)[number], index: number): Promise<number> {
  setNumThreads(run.threads);
  run.got = getNumThreads();
  manualSeed(1000 + index);
  const e = await trainEpoch(run.net, loader, run.opt, lossFn);
  return e.seconds;
}

console.log(`# d2l MLP epoch over thread counts: ${images} synthetic images, batch 256, ${epochs} timed epochs after one warm-up`);
console.log(`# ${cpus().length} logical CPUs, ${cpus()[0]?.model ?? "unknown CPU"}, node ${process.version}`);
for (const run of runs) await epoch(run, 0);
for (let e = 1; e <= epochs; e++) {
  for (let i = 0; i < runs.length; i++) {
    const run = runs[(i + e) % runs.length]!;
    run.seconds.push(await epoch(run, e));
  }
}
setNumThreads(1);

const one = median(runs[0]!.seconds);
const reference = parameterHash(runs[0]!.net);
console.log("\n| threads | running | s / epoch | (range) | images/s | speed-up over 1 | parameters vs 1 thread |");
console.log("|---:|---:|---:|---:|---:|---:|---|");
let mismatch = false;
for (const run of runs) {
  const s = median(run.seconds);
  const hash = parameterHash(run.net);
  if (hash !== reference) mismatch = true;
  console.log(
    `| ${run.threads} | ${run.got} | ${s.toFixed(3)} | ${Math.min(...run.seconds).toFixed(3)}–${Math.max(...run.seconds).toFixed(3)} | ` +
      `${Math.round(images / s)} | ${(one / s).toFixed(2)}× | ${hash === reference ? "bitwise the same" : `DIFFERENT (${hash} vs ${reference})`} |`,
  );
}
if (mismatch) {
  console.error("bench/epoch-threads.ts: parameters differ between thread counts: the threads contract is broken");
  process.exit(1);
}
