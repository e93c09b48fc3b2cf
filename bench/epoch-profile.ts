// Where a d2l MLP epoch spends its time, split into parallel regions and time
// on the calling thread alone (issue 20: the serial share decides how the epoch
// scales, by Amdahl's law). Runs on any machine, 2 vCPUs included.
//
//   npx tsx bench/epoch-profile.ts [--threads 2] [--repeats 3] [--images 60000] [--batches N]
//
// Every kernel of the Wasm backend's table is wrapped, from outside, in a timer.
// One epoch runs on --threads threads: a kernel call counts as parallel when
// the pool handed part of it to a worker (workerTilesPosted moved during it).
// The same epoch (same seed, so the same sequence of kernel calls) then runs on
// one thread, and each call's one-thread time goes to the parallel or the
// serial side by what that call did on --threads threads. Serial = everything
// outside parallel calls: unsplit kernels plus the TypeScript layer, data
// gathering and the optimizer's bookkeeping ("outside kernels"); a second table
// splits the one-thread epoch by training step (data, forward, loss, backward,
// step, …), with trainEpoch's loop copied here so each step is timed. The pair of
// epochs is repeated (interleaved, same seeds) and the table is that of the
// pair with the median serial share: machine noise hits both sides alike.
//
// Amdahl's prediction for n threads: 1 / (s + (1 − s) / n), s the serial share
// of the one-thread epoch. It assumes the parallel part scales perfectly and
// that the calls split on --threads threads are the ones split on n (the pool
// splits a call when each part stays above a minimum, so a few more small calls
// stay whole on many threads): an upper bound.

import { FashionMnistDataset } from "../src/data/fashion-mnist.ts";
import { DataLoader } from "../src/data/loader.ts";
import { buildMlp } from "../src/training.ts";
import { getBackend, getNumThreads, manualSeed, nn, noGrad, optim, setNumThreads, type Tensor } from "../src/index.ts";
import { workerTilesPosted } from "../src/backend/threads.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return process.argv[i]!.includes("=") ? process.argv[i]!.split("=")[1]! : process.argv[i + 1] ?? "";
}
function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`bench/epoch-profile.ts: ${name} takes an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const threads = positive("--threads", arg("--threads", "2"), 256);
const images = positive("--images", arg("--images", "60000"), 1 << 20);
const repeats = positive("--repeats", arg("--repeats", "3"), 100);
const maxBatches = positive("--batches", arg("--batches", String(Math.ceil(images / 256))), 1 << 20);
if (threads < 2) {
  console.error("bench/epoch-profile.ts: --threads must be 2 or more (the calls that split there are the parallel part)");
  process.exit(2);
}

/** Random bytes from a fixed LCG, as in bench/epoch-threads.ts: only the data's size matters to the time. */
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

// --- The kernel table, timed ---------------------------------------------------

/** The steps of one training batch, as trainEpoch (src/training.ts) takes them. */
const PHASES = ["data", "forward", "loss", "zeroGrad", "backward", "step", "metrics"] as const;
type Phase = (typeof PHASES)[number];
let phase: Phase = "data";

interface CallLog {
  names: string[];
  ms: number[];
  parallel: boolean[];
  phases: Phase[];
  /** Wall time of each phase over the epoch. */
  phaseMs: Map<Phase, number>;
}
const newLog = (): CallLog => ({ names: [], ms: [], parallel: [], phases: [], phaseMs: new Map() });
let log: CallLog | null = null;
let depth = 0;
const table = getBackend().kernels as unknown as Record<string, unknown>;
for (const name of Object.keys(table)) {
  const f = table[name];
  if (typeof f !== "function") continue;
  const inner = f as (...args: number[]) => unknown;
  table[name] = (...args: number[]) => {
    // Only the outermost call is timed: a kernel that calls another through the table counts once.
    if (!log || depth > 0) return inner(...args);
    depth++;
    const posted = workerTilesPosted();
    const t0 = performance.now();
    try {
      return inner(...args);
    } finally {
      const dt = performance.now() - t0;
      depth--;
      log.names.push(name);
      log.ms.push(dt);
      log.parallel.push(workerTilesPosted() !== posted);
      log.phases.push(phase);
    }
  };
}

// --- One epoch, profiled, on n threads -----------------------------------------

const dataset = syntheticData(images);
const loader = new DataLoader(dataset, { batchSize: 256, shuffle: true });
const lossFn = new nn.CrossEntropyLoss();

function model(n: number) {
  manualSeed(0);
  const net = buildMlp();
  return { n, net, opt: new optim.SGD(net.parameters(), { lr: 0.5 }) };
}
type Model = ReturnType<typeof model>;

/**
 * trainEpoch's loop (src/training.ts: forward, loss, zeroGrad,
 * backward, step, then the loss and accuracy read back), with each step's wall
 * time taken: the same kernel calls, attributed to the step that made them.
 */
function phasedEpoch(m: Model, timed: Map<Phase, number>): number {
  const t0 = performance.now();
  let t = t0;
  const lap = (next: Phase) => {
    const now = performance.now();
    timed.set(phase, (timed.get(phase) ?? 0) + now - t);
    t = now;
    phase = next;
  };
  m.net.train();
  let batch = 0;
  phase = "data";
  const it = loader[Symbol.iterator]();
  for (let r = it.next(); !r.done; r = it.next()) {
    const [X, y] = r.value as readonly [Tensor, Tensor];
    lap("forward");
    const logits = m.net.forward(X);
    lap("loss");
    const loss = lossFn.forward(logits, y);
    lap("zeroGrad");
    m.opt.zeroGrad();
    lap("backward");
    loss.backward();
    lap("step");
    m.opt.step();
    lap("metrics");
    loss.item();
    noGrad(() => logits.argmax(1).eq(y).sum().item());
    lap("data");
    if (++batch >= maxBatches) break;
  }
  lap("data");
  return (performance.now() - t0) / 1000;
}

async function epoch(m: Model, seed: number, profile: boolean): Promise<{ seconds: number; log: CallLog; running: number }> {
  setNumThreads(m.n);
  manualSeed(seed);
  log = profile ? newLog() : null;
  const got = log ?? newLog();
  const seconds = phasedEpoch(m, got.phaseMs);
  log = null;
  return { seconds, log: got, running: getNumThreads() };
}

console.log(`# d2l MLP epoch profile: ${images} synthetic images, batch 256, ${maxBatches} batches, ${repeats} interleaved pairs; parallel = split on ${threads} threads`);
const models = [model(threads), model(1)] as const;
for (const m of models) await epoch(m, 1, false); // warm-up: JIT, allocator caches, workers
const pairs: { many: Awaited<ReturnType<typeof epoch>>; one: Awaited<ReturnType<typeof epoch>>; share: number }[] = [];
for (let r = 0; r < repeats; r++) {
  // Both models are in the same state (same seeds all along), so both epochs make the same kernel calls.
  const many = await epoch(models[0], 2 + r, true);
  const one = await epoch(models[1], 2 + r, true);
  let parallel = 0;
  for (let i = 0; i < one.log.ms.length; i++) if (many.log.parallel[i] && many.log.names[i] === one.log.names[i]) parallel += one.log.ms[i]!;
  pairs.push({ many, one, share: 1 - parallel / (one.seconds * 1000) });
}
setNumThreads(1);
const shares = pairs.map((p) => p.share);
const { many, one } = [...pairs].sort((a, b) => a.share - b.share)[(pairs.length - 1) >> 1]!;

const sameCalls = one.log.names.length === many.log.names.length && one.log.names.every((n, i) => n === many.log.names[i]);
if (!sameCalls) console.log(`# warning: the two epochs made different kernel calls (${one.log.names.length} vs ${many.log.names.length}); calls are matched by name and order as far as they go`);

interface Row {
  calls: number;
  split: number;
  oneParallel: number;
  oneSerial: number;
  manyParallel: number;
  manySerial: number;
}
const rows = new Map<string, Row>();
const row = (name: string): Row => {
  let r = rows.get(name);
  if (!r) rows.set(name, (r = { calls: 0, split: 0, oneParallel: 0, oneSerial: 0, manyParallel: 0, manySerial: 0 }));
  return r;
};
for (let i = 0; i < many.log.names.length; i++) {
  const r = row(many.log.names[i]!);
  if (many.log.parallel[i]) r.manyParallel += many.log.ms[i]!;
  else r.manySerial += many.log.ms[i]!;
}
for (let i = 0; i < one.log.names.length; i++) {
  const r = row(one.log.names[i]!);
  r.calls++;
  // The one-thread call is classified by its twin on many threads.
  const parallel = many.log.names[i] === one.log.names[i] && many.log.parallel[i] === true;
  if (parallel) {
    r.split++;
    r.oneParallel += one.log.ms[i]!;
  } else r.oneSerial += one.log.ms[i]!;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const oneTotal = one.seconds * 1000;
const manyTotal = many.seconds * 1000;
const oneKernels = sum(one.log.ms);
const manyKernels = sum(many.log.ms);
const oneParallel = sum([...rows.values()].map((r) => r.oneParallel));
const manyParallel = sum([...rows.values()].map((r) => r.manyParallel));
const oneSerial = oneTotal - oneParallel;
const share = oneSerial / oneTotal;

const ms = (x: number) => x.toFixed(0);
const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`;
console.log(`\n## Serial time by op (one-thread epoch ${ms(oneTotal)} ms; ${threads} threads running ${many.running}, epoch ${ms(manyTotal)} ms)\n`);
console.log(`| op | calls | split on ${threads} | 1 thread: parallel ms | 1 thread: serial ms | serial, % of 1-thread epoch | ${threads} threads: parallel ms | ${threads} threads: serial ms |`);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
const ordered = [...rows.entries()].sort((a, b) => b[1].oneSerial + b[1].oneParallel - (a[1].oneSerial + a[1].oneParallel));
for (const [name, r] of ordered) {
  console.log(`| ${name} | ${r.calls} | ${r.split} | ${ms(r.oneParallel)} | ${ms(r.oneSerial)} | ${pct(r.oneSerial, oneTotal)} | ${ms(r.manyParallel)} | ${ms(r.manySerial)} |`);
}
const outsideOne = oneTotal - oneKernels;
const outsideMany = manyTotal - manyKernels;
console.log(`| outside kernels (TypeScript layer, data, bookkeeping) | | | 0 | ${ms(outsideOne)} | ${pct(outsideOne, oneTotal)} | 0 | ${ms(outsideMany)} |`);
console.log(`| **epoch** | ${one.log.names.length} | ${sum([...rows.values()].map((r) => r.split))} | ${ms(oneParallel)} | ${ms(oneSerial)} | ${pct(oneSerial, oneTotal)} | ${ms(manyParallel)} | ${ms(manyTotal - manyParallel)} |`);

console.log(`\n## The one-thread epoch by training step (ms)\n`);
console.log(`| step | wall | kernels split on ${threads} | kernels not split | outside kernels | serial, % of 1-thread epoch |`);
console.log("|---|---:|---:|---:|---:|---:|");
for (const ph of PHASES) {
  let split = 0;
  let whole = 0;
  for (let i = 0; i < one.log.ms.length; i++) {
    if (one.log.phases[i] !== ph) continue;
    if (many.log.parallel[i] && many.log.names[i] === one.log.names[i]) split += one.log.ms[i]!;
    else whole += one.log.ms[i]!;
  }
  const wall = one.log.phaseMs.get(ph) ?? 0;
  console.log(`| ${ph} | ${ms(wall)} | ${ms(split)} | ${ms(whole)} | ${ms(wall - split - whole)} | ${pct(wall - split, oneTotal)} |`);
}

const amdahl = (n: number) => 1 / (share + (1 - share) / n);
console.log(`\nserial share of the one-thread epoch: ${(100 * share).toFixed(1)}% (pairs: ${shares.map((x) => `${(100 * x).toFixed(1)}%`).join(", ")}; kernels not split ${pct(oneSerial - outsideOne, oneTotal)}, outside kernels ${pct(outsideOne, oneTotal)})`);
console.log(`measured here: ${threads} threads ${(oneTotal / manyTotal).toFixed(2)}× one thread (parallel regions ${(oneParallel / Math.max(manyParallel, 1e-9)).toFixed(2)}× faster)`);
console.log(`Amdahl's prediction: ${[2, 4, 8, 16].map((n) => `${n} threads ${amdahl(n).toFixed(2)}×`).join(", ")}; at most ${(1 / share).toFixed(1)}×`);
