// The demo's training worker: all of wasmgrad runs here, off the page's main
// thread, so the page stays responsive while a network trains. It answers the
// page's requests (protocol.ts) with progress messages.

import { data, getBackend, getNumThreads, manualSeed, nn, noGrad, optim, ready, setBackend, setNumThreadsAsync } from "wasmgrad";
import { buildLenet, buildMlp, fit, makeOptimizer, trainEpoch } from "../src/training.ts";
import { runWeightDecay } from "../src/experiments/weight-decay.ts";
import type { BatchTiming, FromWorker, SpeedupPlan, ToWorker, TrainSettings } from "./protocol.ts";

const PIXELS = 28 * 28;
/**
 * Batches a run on n > 1 threads first trains on one thread, to time one thread
 * against n while it trains (results are bitwise the same on any count). A run
 * spares them only when they are at most a quarter of it.
 */
const ONE_THREAD_BATCHES = 12;
/**
 * Batches left out of the timing after the start and after the switch to n threads: JIT,
 * Wasm tier-up, new workers. In Chromium on the 2-vCPU VM the first batch took 5-10× a
 * settled one, the next two up to 3× (the MLP and LeNet alike).
 */
const WARM_UP_BATCHES = 3;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  (self as unknown as Worker).postMessage(message, transfer);
}

/** 128-bit SIMD in this engine? (A one-function module using v128, as wasm-feature-detect checks it.) */
function simdSupported(): boolean {
  const bytes = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
  return typeof WebAssembly === "object" && WebAssembly.validate(new Uint8Array(bytes));
}

const simd = simdSupported();
/** The backend used for training: the Wasm SIMD core where the engine has SIMD, else the JS backend. */
const trainingBackend = simd ? "wasm" : "js";
/** Threads need the Wasm backend and a shared memory: a cross-origin isolated page. */
const threadsAvailable = simd && self.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";

async function useBackend(name: "wasm" | "js"): Promise<void> {
  setBackend(name);
  await ready();
}

/**
 * Threads for the Wasm backend's matrix products: nested Web Workers over its
 * shared memory, which needs a cross-origin isolated page (this worker is where
 * wasmgrad runs, so Atomics.wait is allowed). Results are bitwise the same for
 * every count. Resolves to the count in effect.
 */
async function useThreads(n: number): Promise<number> {
  if (!threadsAvailable) return 1;
  return setNumThreadsAsync(clampThreads(n));
}

function clampThreads(n: number): number {
  return threadsAvailable ? Math.max(1, Math.min(64, Math.round(n) || 1)) : 1;
}

/** Whether and how a run of `batches` batches on `threads` threads times them against one thread. */
function speedupPlan(threads: number, batches: number): SpeedupPlan {
  if (!simd) return { kind: "none", threads: 1, why: "js-backend" };
  if (!threadsAvailable) return { kind: "none", threads: 1, why: "not-isolated" };
  if (threads === 1) return { kind: "none", threads, why: "one-thread" };
  if (batches < 4 * ONE_THREAD_BATCHES) return { kind: "none", threads, why: "too-short" };
  return { kind: "measure", threads, oneThreadBatches: ONE_THREAD_BATCHES };
}

const datasets = new Map<string, Promise<[data.FashionMnistDataset, data.FashionMnistDataset]>>();
function loadFashionMnist(url: string): Promise<[data.FashionMnistDataset, data.FashionMnistDataset]> {
  let loaded = datasets.get(url);
  if (!loaded) {
    loaded = Promise.all([data.fashionMnist({ url, train: true }), data.fashionMnist({ url, train: false })]);
    loaded.catch(() => datasets.delete(url));
    datasets.set(url, loaded);
  }
  return loaded;
}

async function train(s: TrainSettings): Promise<void> {
  const start = performance.now();
  await useBackend(trainingBackend);
  post({ type: "loading", what: s.dataUrl });
  const [trainSet, testSet] = await loadFashionMnist(s.dataUrl);
  manualSeed(s.seed);
  const trainLoader = new data.DataLoader(trainSet, { batchSize: s.batchSize, shuffle: true });
  const testLoader = new data.DataLoader(testSet, { batchSize: 1000 });
  // LeNet as the book trains it: plain SGD on every parameter.
  const net = s.model === "lenet" ? buildLenet() : buildMlp(s.dropout);
  const opt = s.model === "lenet"
    ? new optim.SGD(net.parameters(), { lr: s.lr })
    : makeOptimizer(net, { optimizer: "sgd", lr: s.lr, weightDecay: s.weightDecay, l1: s.l1 });

  const plan = speedupPlan(clampThreads(s.threads), s.epochs * trainLoader.length);
  const measure = plan.kind === "measure";
  let threads = await useThreads(measure ? 1 : plan.threads);

  const samples = Math.min(s.samples, testSet.length);
  const sampleIndices = Int32Array.from({ length: samples }, (_, i) => i);
  post({
    type: "start",
    threads,
    speedupPlan: plan,
    trainSize: trainSet.length,
    testSize: testSet.length,
    batchesPerEpoch: trainLoader.length,
    sampleImages: testSet.images.slice(0, samples * PIXELS),
    sampleLabels: Array.from(testSet.labels.subarray(0, samples)),
  });

  // Each batch's step is timed here, from the end of the previous batch's report (or of the
  // epoch's evaluation) to its own: the page compares images per second on one thread and on n.
  let epoch = 1;
  let step = 0;
  let stepsOnThreads = 0;
  let imagesBefore = 0;
  let clock = performance.now();
  await fit(net, trainLoader, testLoader, opt, {
    epochs: s.epochs,
    onBatch: async (p) => {
      const seconds = (performance.now() - clock) / 1000;
      const images = p.images - (p.batch === 1 ? 0 : imagesBefore);
      imagesBefore = p.images;
      step++;
      stepsOnThreads++;
      const counted = stepsOnThreads > WARM_UP_BATCHES && images === s.batchSize;
      const timing: BatchTiming = { step, images, seconds, threads, counted };
      post({ type: "batch", epoch, timing, ...p });
      if (measure && step === ONE_THREAD_BATCHES) {
        threads = await useThreads(plan.threads);
        stepsOnThreads = 0;
      }
      clock = performance.now();
    },
    onEpoch: (stats) => {
      const predictions = noGrad(() => {
        const [X] = testSet.getBatch(sampleIndices);
        return Array.from(net.forward(X).argmax(1).data());
      });
      post({ type: "epoch", ...stats, predictions });
      epoch = stats.epoch + 1;
      clock = performance.now();
    },
  });
  post({ type: "done", seconds: (performance.now() - start) / 1000 });
}

/** The book's weight-decay experiment (src/experiments/weight-decay.ts), one run per λ. */
async function weightDecay(lambdas: number[]): Promise<void> {
  await useBackend(trainingBackend);
  for (const lambd of lambdas) {
    const r = runWeightDecay({
      lambd, seed: 0,
      onEpoch: (epoch, trainLoss, testLoss) => post({ type: "wd-epoch", lambd, epoch, trainLoss, testLoss }),
    });
    post({ type: "wd-done", lambd, trainLoss: r.trainLoss, testLoss: r.testLoss, wNorm: r.wNorm, seconds: r.seconds });
  }
}

/**
 * Times `batches` training steps of the dropout MLP on each backend (trainEpoch,
 * the loop training uses), after one untimed warm-up step (compiling, first
 * allocations), on the same data and seed.
 */
async function bench(dataUrl: string, batches: number, batchSize: number, threadCount: number): Promise<void> {
  const [trainSet] = await loadFashionMnist(dataUrl);
  const wanted = threadsAvailable ? Math.max(1, threadCount) : 1;
  // The JS backend last: the page takes its row as the end of the timing.
  const runs: { name: "wasm" | "js"; threads: number }[] = [
    ...(simd ? [{ name: "wasm" as const, threads: wanted }] : []),
    ...(simd && wanted > 1 ? [{ name: "wasm" as const, threads: 1 }] : []),
    { name: "js", threads: 1 },
  ];
  try {
    for (const { name, threads: asked } of runs) {
      await useBackend(name);
      if (name === "wasm") await useThreads(asked);
      manualSeed(0);
      const net = buildMlp([0.2, 0.5]);
      const opt = makeOptimizer(net, { lr: 0.5 });
      const lossFn = new nn.CrossEntropyLoss();
      const loader = new data.DataLoader(trainSet, { batchSize, shuffle: true });
      await trainEpoch(net, loader, opt, lossFn, { maxBatches: 1 });
      const e = await trainEpoch(net, loader, opt, lossFn, { maxBatches: batches });
      const threads = name === "wasm" ? getNumThreads() : 1;
      const backend = getBackend().description + (threads > 1 ? ` (${threads} threads)` : "");
      post({ type: "bench-result", backend, threads, images: e.images, seconds: e.seconds });
    }
  } finally {
    await useBackend(trainingBackend);
  }
}

// Requests are handled one at a time, in order: the page disables its buttons while one runs.
let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  queue = queue.then(async () => {
    try {
      if (msg.type === "train") await train(msg.settings);
      else if (msg.type === "weight-decay") await weightDecay(msg.lambdas);
      else if (msg.type === "bench") await bench(msg.dataUrl, msg.batches, msg.batchSize, msg.threads);
    } catch (error) {
      post({ type: "error", message: error instanceof Error ? error.message : String(error) });
    }
  });
};

async function init(): Promise<void> {
  try {
    await useBackend(trainingBackend);
  } catch (error) {
    post({ type: "error", message: `wasmgrad could not start: ${(error as Error).message}` });
    return;
  }
  post({
    type: "env",
    simd,
    crossOriginIsolated: self.crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer === "function",
    backend: getBackend().description,
    threads: getNumThreads(),
    threadsAvailable,
    classNames: data.FASHION_MNIST_CLASS_NAMES,
  });
}
queue = queue.then(init);
