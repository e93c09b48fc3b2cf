// The wasmgrad contender, Wasm or JS backend: the shared training loop, and the GEMM as the
// f32_gemm kernel ("kernel": the targets) or as the op that allocates its output ("op", as matmul).

import { GemmLayout } from "../../src/backend/kernels.ts";
import { data, empty, getBackend, getNumThreads, manualSeed, memoryStats, nn, randn, ready, setBackend, setNumThreads, type Tensor } from "../../src/index.ts";
import { gemm } from "../../src/ops/matmul.ts";
import { buildMlp, evaluateAccuracy, makeOptimizer, type Batches } from "../../src/training.ts";
import { EpochClock, timedEpoch } from "../instrument.ts";
import { fillRandom, timeCalls, warmUp } from "../stats.ts";
import { operandShapes, rss, type Contender, type EpochReply, type EvalReply, type Layout } from "./contender.ts";

export class WasmgradContender implements Contender {
  private gemmState: { a: Tensor; b: Tensor; c: Tensor; layout: GemmLayout; m: number; k: number; n: number } | null = null;
  private train: { net: nn.Sequential; opt: ReturnType<typeof makeOptimizer>; lossFn: nn.CrossEntropyLoss; trainLoader: Batches; testLoader: Batches } | null = null;

  private constructor(private readonly backend: "wasm" | "js") {}

  static async create(backend: "wasm" | "js", threads: number): Promise<WasmgradContender> {
    setBackend(backend);
    await ready();
    setNumThreads(threads);
    return new WasmgradContender(backend);
  }

  info() {
    return { contender: `wasmgrad-${this.backend}`, versions: { wasmgrad: "this working tree", backend: getBackend().description, node: process.version }, notes: [], threads: getNumThreads() };
  }

  gemmSetup(m: number, k: number, n: number, layout: Layout, warmupMs: number): number {
    this.gemmFree();
    const shapes = operandShapes(m, k, n, layout);
    const [a, b] = [randn(shapes.a), randn(shapes.b)];
    const f32 = getBackend().heap.f32;
    fillRandom(f32.subarray(a.ptr >>> 2, (a.ptr >>> 2) + m * k), 1);
    fillRandom(f32.subarray(b.ptr >>> 2, (b.ptr >>> 2) + k * n), 2);
    this.gemmState = { a, b, c: empty([m, n]), layout: GemmLayout[layout], m, k, n };
    const once = warmUp(this.call("kernel"), warmupMs);
    // The suite samples the allocating op only on the Wasm backend.
    if (this.backend === "wasm") warmUp(this.call("op"), Math.min(warmupMs, 100));
    return once;
  }

  private call(variant: "kernel" | "op"): () => void {
    const { a, b, c, layout, m, k, n } = this.gemmState!;
    if (variant === "op") return () => gemm(layout, a, b, m, n, k, [a, b], false).dispose();
    const be = getBackend();
    const [lda, ldb] = [layout === GemmLayout.TN ? m : k, layout === GemmLayout.NT ? k : n];
    const [pa, pb, pc, work] = [a.ptr, b.ptr, c.ptr, be.gemmWorkspace];
    return () => be.kernels.f32_gemm(layout, m, n, k, 1, pa, lda, pb, ldb, 0, pc, n, work);
  }

  gemmSample(reps: number, variant: "kernel" | "op"): number {
    return timeCalls(this.call(variant), reps);
  }

  gemmFree(): void {
    for (const t of [this.gemmState?.a, this.gemmState?.b, this.gemmState?.c]) t?.dispose();
    this.gemmState = null;
  }

  async trainSetup(dir: string, seed: number) {
    manualSeed(seed);
    const [train, test] = [await data.fashionMnist({ root: dir, train: true }), await data.fashionMnist({ root: dir, train: false })];
    const net = buildMlp();
    const trainLoader = new data.DataLoader(train, { batchSize: 256, shuffle: true }) as unknown as Batches;
    const testLoader = new data.DataLoader(test, { batchSize: 256 }) as unknown as Batches;
    this.train = { net, opt: makeOptimizer(net, { lr: 0.5 }), lossFn: new nn.CrossEntropyLoss(), trainLoader, testLoader };
    return { trainSize: train.length, testSize: test.length, batchesPerEpoch: trainLoader.length };
  }

  async trainEpoch(maxBatches: number): Promise<EpochReply> {
    const { net, opt, lossFn, trainLoader } = this.train!;
    const clock = new EpochClock();
    const e = await timedEpoch(net, trainLoader, opt, lossFn, clock, maxBatches || undefined);
    return {
      seconds: e.seconds, batches: e.batches, images: e.images, loss: e.trainLoss, accuracy: e.trainAcc,
      dataSeconds: (clock.phaseMs.get("data") ?? 0) / 1000, highWater: memoryStats().highWater,
    };
  }

  evaluate(maxBatches: number): EvalReply {
    const t0 = performance.now();
    const seen = { batches: 0, images: 0 };
    const loader = this.train!.testLoader;
    function* batches() {
      for (const b of loader) {
        yield b;
        [seen.batches, seen.images] = [seen.batches + 1, seen.images + b[1].shape[0]!];
        if (seen.batches === maxBatches) return;
      }
    }
    const accuracy = evaluateAccuracy(this.train!.net, batches());
    return { seconds: (performance.now() - t0) / 1000, ...seen, accuracy };
  }

  stats() {
    return { ...rss(), memory: { ...memoryStats() } };
  }
}
