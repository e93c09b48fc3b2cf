// The wasmgrad contender, Wasm or JS backend: the shared training loop
// (src/training.ts), and the GEMM two ways: "kernel" is f32_gemm on the
// backend (the calls Linear makes; the GFLOP/s targets), "op" the op
// that allocates its output tensor (what matmul runs), like tf.matMul and `@`.

import { PerformanceObserver } from "node:perf_hooks";
import { GemmLayout } from "../../src/backend/kernels.ts";
import { data, empty, getBackend, getNumThreads, manualSeed, memoryStats, nn, randn, ready, setBackend, setNumThreads, type Tensor } from "../../src/index.ts";
import { gemm } from "../../src/ops/matmul.ts";
import { buildMlp, evaluateAccuracy, makeOptimizer, type Batches } from "../../src/training.ts";
import { EpochClock, PHASES, timedEpoch, timeKernels } from "../instrument.ts";
import { timeCalls } from "../stats.ts";
import { fillRandom, maxRssBytes, operandShapes, rssBytes, warmUp, type Contender } from "./contender.ts";
import type { EpochReply, EvalReply, InfoReply, Layout, ProfileReply, StatsReply } from "./protocol.ts";

/** A kernel's family in the profile, from its name. */
const family = (name: string) =>
  [[/gemm/, "gemm"], [/dropout/, "dropout"], [/cross_entropy|mse/, "loss"], [/sgd|adam/, "optim"], [/^random/, "random"],
    [/reduce|argmax|scatter/, "reduce"], [/^u8_to_f32/, "data (u8→f32)"]].find(([re]) => (re as RegExp).test(name))?.[1] as string ?? "elementwise";

/** The first `max` batches of a loader (0: all), counting what it gave. */
function take(loader: Batches, max: number) {
  const seen = { batches: 0, images: 0 };
  function* batches() {
    for (const b of loader) {
      yield b;
      seen.batches++;
      seen.images += b[1].shape[0]!;
      if (max > 0 && seen.batches >= max) return;
    }
  }
  return { batches: batches(), seen };
}

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

  info(): InfoReply {
    return {
      contender: `wasmgrad-${this.backend}`,
      versions: { wasmgrad: "0.1.0 (this working tree)", backend: getBackend().description, node: process.version },
      notes: [],
      threads: getNumThreads(),
    };
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
    if (!this.gemmState) return;
    for (const t of [this.gemmState.a, this.gemmState.b, this.gemmState.c]) t.dispose();
    this.gemmState = null;
  }

  async trainSetup(dir: string, seed: number) {
    manualSeed(seed);
    const train = await data.fashionMnist({ root: dir, train: true });
    const test = await data.fashionMnist({ root: dir, train: false });
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
    const { batches, seen } = take(this.train!.testLoader, maxBatches);
    const accuracy = evaluateAccuracy(this.train!.net, batches);
    return { seconds: (performance.now() - t0) / 1000, ...seen, accuracy };
  }

  stats(): StatsReply {
    return { maxRssBytes: maxRssBytes(), rssBytes: rssBytes(), memory: memoryStats() };
  }

  /** One more (partial) epoch with every kernel call and training step timed, and V8's GC pauses counted. */
  async profileEpoch(maxBatches: number): Promise<ProfileReply> {
    const { net, opt, lossFn, trainLoader } = this.train!;
    let gcMs = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs += e.duration;
    });
    obs.observe({ entryTypes: ["gc"] });
    const clock = new EpochClock();
    const restore = timeKernels(getBackend().kernels, clock);
    let e;
    try {
      e = await timedEpoch(net, trainLoader, opt, lossFn, clock, maxBatches || undefined);
    } finally {
      restore();
    }
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    type Row = ProfileReply["rows"][number];
    const families = new Map<string, { total: Row; kernels: Map<string, Row> }>();
    const kernelMs = new Map<string, number>();
    for (const c of clock.calls) {
      const name = family(c.name);
      const f = families.get(name) ?? families.set(name, { total: { name: `kernels: ${name}`, seconds: 0, calls: 0 }, kernels: new Map() }).get(name)!;
      const k = f.kernels.get(c.name) ?? f.kernels.set(c.name, { name: `&nbsp;&nbsp;${c.name}`, seconds: 0, calls: 0 }).get(c.name)!;
      for (const r of [f.total, k]) {
        r.seconds += c.ms / 1000;
        r.calls++;
      }
      kernelMs.set(c.phase, (kernelMs.get(c.phase) ?? 0) + c.ms);
    }
    const all = [...families.values()].sort((a, b) => b.total.seconds - a.total.seconds);
    const kernelSeconds = all.reduce((s, f) => s + f.total.seconds, 0);
    const rows: Row[] = [{ name: "**all Wasm kernels**", seconds: kernelSeconds, calls: all.reduce((s, f) => s + f.total.calls, 0) }];
    for (const f of all) rows.push(f.total, ...[...f.kernels.values()].sort((a, b) => b.seconds - a.seconds));
    rows.push({ name: "**TypeScript layer and the rest (epoch − kernels)**", seconds: e.seconds - kernelSeconds, calls: 0 });
    for (const ph of PHASES) {
      const wall = clock.phaseMs.get(ph) ?? 0;
      rows.push({ name: `phase: ${ph}`, seconds: wall / 1000, calls: e.batches });
      rows.push({ name: "&nbsp;&nbsp;of which TS (outside kernels)", seconds: (wall - (kernelMs.get(ph) ?? 0)) / 1000, calls: 0 });
    }
    rows.push({ name: "GC pauses (V8), inside the phases", seconds: gcMs / 1000, calls: 0 });
    return { seconds: e.seconds, batches: e.batches, rows };
  }
}
