// The wasmgrad contender, on the Wasm or the JS backend, written as a user of
// the library would (README's training loop), plus the GEMM measured two ways:
// "kernel" is f32_gemm called on the backend (what bench/gemm.ts and the
// issue's GFLOP/s targets measure; Linear's forward and backward make exactly
// these calls), "op" goes through the TypeScript op that allocates its output
// tensor (ops.gemm, what matmul uses), like tf.matMul and torch's `@`.
// On the Wasm backend each GEMM sample is followed, in this process, by a
// sample of the Wasm SIMD peak probe (peak.ts) for the build wasmgrad runs.

import * as wasmgrad from "../../src/index.ts";
import { data, manualSeed, memoryStats, nn, noGrad, optim, randn, empty, ready, setBackend, getBackend, type Tensor } from "../../src/index.ts";
import { GemmLayout } from "../../src/backend/kernels.ts";
import type { Kernels } from "../../src/backend/kernels.ts";
import { gemm } from "../../src/ops/matmul.ts";
import { fillRandom, maxRssBytes, rssBytes, operandShapes, timeCalls, warmUp, type Contender } from "./contender.ts";
import { probeForBackend, type PeakProbe } from "./peak.ts";
import type { EpochReply, EvalReply, InfoReply, Layout, ProbeInfo, ProfileReply, StatsReply } from "./protocol.ts";

type Lib = Record<string, unknown>;

/** wasmgrad's thread count setter, where this version of src/index.ts exports one. */
function threadApi(): { set?: (n: number) => unknown; get?: () => number } {
  const lib = wasmgrad as unknown as Lib;
  const set = lib["setNumThreads"];
  const get = lib["getNumThreads"];
  return {
    set: typeof set === "function" ? (set as (n: number) => unknown) : undefined,
    get: typeof get === "function" ? (get as () => number) : undefined,
  };
}

const FAMILY: Record<string, string> = {
  f32_gemm: "gemm",
  f32_unary: "elementwise", f32_unary_backward: "elementwise", f32_binary: "elementwise",
  f32_binary_scalar: "elementwise", f32_binary_broadcast: "elementwise", f32_strided_copy: "elementwise",
  f32_fill: "elementwise", f32_arange: "elementwise", i32_to_f32: "elementwise", f32_broadcast_rows: "elementwise",
  u8_to_f32: "data (u8→f32)",
  f32_reduce: "reduce", f32_argmax: "reduce", f32_scatter_add_axis: "reduce",
  random_uniform: "random", random_normal: "random", random_blocks: "random",
  f32_dropout: "dropout", f32_dropout_backward: "dropout", f32_relu_dropout: "dropout", f32_relu_dropout_backward: "dropout",
  f32_cross_entropy: "loss", f32_cross_entropy_backward: "loss", f32_mse: "loss", f32_mse_backward: "loss",
  f32_sgd_step: "optim", f32_adam_step: "optim",
};

export class WasmgradContender implements Contender {
  private readonly notes: string[] = [];
  private threads = 1;
  /** The Wasm SIMD peak probe (wasm backend only), made by the first gemmSetup. */
  private probe: { probe: PeakProbe; busy: PeakProbe; info: ProbeInfo } | null = null;
  private gemmState: { a: Tensor; b: Tensor; c: Tensor; layout: GemmLayout; m: number; k: number; n: number } | null = null;
  private train: {
    net: nn.Sequential;
    opt: optim.SGD;
    lossFn: nn.CrossEntropyLoss;
    trainLoader: data.DataLoader;
    testLoader: data.DataLoader;
  } | null = null;

  private constructor(private readonly backend: "wasm" | "js") {}

  /** Selects the backend and, where src/index.ts exports setNumThreads, the thread count (awaited if it returns a promise). */
  static async create(backend: "wasm" | "js", threads: number): Promise<WasmgradContender> {
    const c = new WasmgradContender(backend);
    setBackend(backend);
    await ready();
    const api = threadApi();
    if (api.set) {
      await api.set(threads);
      c.threads = api.get ? api.get() : threads;
    } else if (threads !== 1) {
      c.notes.push(`--threads ${threads}: this wasmgrad has no setNumThreads, so it ran on 1 thread`);
    }
    return c;
  }

  info(): InfoReply {
    const api = threadApi();
    return {
      contender: `wasmgrad-${this.backend}`,
      versions: {
        wasmgrad: "0.1.0 (this working tree)",
        backend: getBackend().description,
        node: process.version,
        setNumThreads: api.set ? "exported" : "not exported",
      },
      notes: this.notes,
      threads: this.threads,
    };
  }

  gemmSetup(m: number, k: number, n: number, layout: Layout, warmupMs: number): number {
    this.gemmFree();
    const shapes = operandShapes(m, k, n, layout);
    const a = randn(shapes.a);
    const b = randn(shapes.b);
    const be = getBackend();
    fillRandom(be.heap.f32.subarray(a.ptr >>> 2, (a.ptr >>> 2) + m * k), 1);
    fillRandom(be.heap.f32.subarray(b.ptr >>> 2, (b.ptr >>> 2) + k * n), 2);
    const c = empty([m, n]);
    this.gemmState = { a, b, c, layout: GemmLayout[layout], m, k, n };
    const once = warmUp(this.kernelCall(), warmupMs);
    // The suite samples the allocating op only on the Wasm backend (run.ts).
    if (this.backend === "wasm") warmUp(this.opCall(), Math.min(warmupMs, 100));
    return once;
  }

  private kernelCall(): () => void {
    const { a, b, c, layout, m, k, n } = this.gemmState!;
    const be = getBackend();
    const kr = be.kernels;
    const lda = layout === GemmLayout.TN ? m : k;
    const ldb = layout === GemmLayout.NT ? k : n;
    const pa = a.ptr;
    const pb = b.ptr;
    const pc = c.ptr;
    const work = be.gemmWorkspace;
    return () => kr.f32_gemm(layout, m, n, k, 1, pa, lda, pb, ldb, 0, pc, n, work);
  }

  private opCall(): () => void {
    const { a, b, layout, m, k, n } = this.gemmState!;
    return () => gemm(layout, a, b, m, n, k, [a, b], false).dispose();
  }

  gemmSample(reps: number, variant: "kernel" | "op"): number {
    return timeCalls(variant === "op" ? this.opCall() : this.kernelCall(), reps);
  }

  /**
   * The peak probe and its busy twin (Wasm backend only), made on first use: by
   * the first gemmSetup, or by a training epoch that samples them between
   * batches; never at start-up, so a training process that is not asked for
   * them never compiles them.
   */
  private peakProbes(): { probe: PeakProbe; busy: PeakProbe; info: ProbeInfo } | null {
    if (this.backend !== "wasm") return null;
    if (!this.probe) {
      const description = getBackend().description;
      const { probe, busy, note } = probeForBackend(description);
      this.probe = { probe, busy, info: { build: probe.build, what: probe.what, backend: description, ...(note ? { note } : {}) } };
    }
    return this.probe;
  }

  /** Makes the probe pair (the --peak-probe diagnostic asks for it) and describes it. */
  probeInfo(): ProbeInfo | undefined {
    return this.peakProbes()?.info;
  }

  /** One sample of the peak probe and one of its busy twin, GFLOP/s (~3 ms each: 3 calls, the median one). */
  probeSample(): { gflops: number; busyGflops: number } | undefined {
    if (!this.probe) return undefined;
    return { gflops: this.probe.probe.sample().gflops, busyGflops: this.probe.busy.sample().gflops };
  }

  gemmFree(): void {
    if (!this.gemmState) return;
    const { a, b, c } = this.gemmState;
    a.dispose();
    b.dispose();
    c.dispose();
    this.gemmState = null;
  }

  async trainSetup(dir: string, seed: number) {
    manualSeed(seed);
    const train = await data.fashionMnist({ root: dir, train: true });
    const test = await data.fashionMnist({ root: dir, train: false });
    const net = new nn.Sequential(
      new nn.Flatten(),
      new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2),
      new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.5),
      new nn.Linear(256, 10),
    );
    for (const p of net.parameters()) nn.init.normal_(p, 0, 0.01);
    this.train = {
      net,
      opt: new optim.SGD(net.parameters(), { lr: 0.5 }),
      lossFn: new nn.CrossEntropyLoss(),
      trainLoader: new data.DataLoader(train, { batchSize: 256, shuffle: true }),
      testLoader: new data.DataLoader(test, { batchSize: 256 }),
    };
    return { trainSize: train.length, testSize: test.length, batchesPerEpoch: this.train.trainLoader.length };
  }

  trainEpoch(maxBatches: number, probeEvery = 0): EpochReply {
    const { net, opt, lossFn, trainLoader } = this.train!;
    // Made before the clock starts; each sample's time is taken out of the epoch's.
    const probes = probeEvery > 0 ? this.peakProbes() : null;
    const coreShares: number[] = [];
    let probeMs = 0;
    const t0 = performance.now();
    net.train();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batches = 0;
    let dataMs = 0;
    const it = trainLoader[Symbol.iterator]();
    for (;;) {
      const d0 = performance.now();
      const next = it.next();
      dataMs += performance.now() - d0;
      if (next.done) break;
      const [X, y] = next.value;
      const logits = net.forward(X);
      const loss = lossFn.forward(logits, y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      const n = y.shape[0]!;
      lossSum += loss.item() * n;
      correct += noGrad(() => logits.argmax(1).eq(y).sum().item());
      seen += n;
      batches++;
      if (probes && batches % probeEvery === 0) {
        const p0 = performance.now();
        const plain = probes.probe.sample().gflops;
        coreShares.push(probes.busy.sample().gflops / plain);
        probeMs += performance.now() - p0;
      }
      if (maxBatches > 0 && batches >= maxBatches) {
        it.return?.();
        break;
      }
    }
    const seconds = (performance.now() - t0 - probeMs) / 1000;
    return {
      seconds, batches, images: seen, loss: lossSum / seen, accuracy: correct / seen,
      dataSeconds: dataMs / 1000, highWater: memoryStats().highWater,
      ...(probes ? { coreShares, probeSeconds: probeMs / 1000 } : {}),
    };
  }

  evaluate(maxBatches: number): EvalReply {
    const { net, testLoader } = this.train!;
    const t0 = performance.now();
    net.eval();
    let correct = 0;
    let seen = 0;
    let batches = 0;
    noGrad(() => {
      for (const [X, y] of testLoader) {
        correct += net.forward(X).argmax(1).eq(y).sum().item();
        seen += y.shape[0]!;
        batches++;
        if (maxBatches > 0 && batches >= maxBatches) break;
      }
    });
    return { seconds: (performance.now() - t0) / 1000, batches, images: seen, accuracy: correct / seen };
  }

  stats(): StatsReply {
    return { maxRssBytes: maxRssBytes(), rssBytes: rssBytes(), memory: memoryStats() };
  }

  /**
   * One more (partial) epoch with every kernel call timed and summed by family,
   * the loop's phases timed as wall clock, and GC pauses collected: what is
   * left of a phase after its kernels is the TypeScript layer's own time.
   */
  async profileEpoch(maxBatches: number): Promise<ProfileReply> {
    const { net, opt, lossFn, trainLoader } = this.train!;
    const be = getBackend() as { kernels: Kernels };
    const original = be.kernels;
    const families: Record<string, { seconds: number; calls: number }> = {};
    let kernelMs = 0;
    const wrapped: Record<string, unknown> = {};
    for (const name of Object.keys(original) as (keyof Kernels)[]) {
      const f = original[name] as unknown as (...args: number[]) => number;
      if (typeof f !== "function") continue;
      const key = `${FAMILY[name] ?? "other"}: ${name}`;
      const slot = (families[key] = { seconds: 0, calls: 0 });
      wrapped[name] = (...args: number[]) => {
        const t0 = performance.now();
        const r = f(...args);
        const dt = performance.now() - t0;
        slot.seconds += dt / 1000;
        slot.calls++;
        kernelMs += dt;
        return r;
      };
    }
    const { PerformanceObserver } = await import("node:perf_hooks");
    let gcMs = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs += e.duration;
    });
    obs.observe({ entryTypes: ["gc"] });
    const phases: Record<string, { wallMs: number; kernelMs: number }> = {};
    const phase = <T>(name: string, fn: () => T): T => {
      const p = (phases[name] ??= { wallMs: 0, kernelMs: 0 });
      const k0 = kernelMs;
      const t0 = performance.now();
      const r = fn();
      p.wallMs += performance.now() - t0;
      p.kernelMs += kernelMs - k0;
      return r;
    };
    be.kernels = wrapped as unknown as Kernels;
    let batches = 0;
    const t0 = performance.now();
    try {
      net.train();
      const it = trainLoader[Symbol.iterator]();
      for (;;) {
        const next = phase("data (DataLoader next: gather, u8→f32, step-boundary reclaim)", () => it.next());
        if (next.done) break;
        const [X, y] = next.value;
        const logits = phase("forward", () => net.forward(X));
        const loss = phase("loss", () => lossFn.forward(logits, y));
        phase("zeroGrad", () => opt.zeroGrad());
        phase("backward", () => loss.backward());
        phase("step", () => opt.step());
        phase("metrics (loss.item, argmax accuracy)", () => {
          loss.item();
          noGrad(() => logits.argmax(1).eq(y).sum().item());
        });
        batches++;
        if (maxBatches > 0 && batches >= maxBatches) {
          it.return?.();
          break;
        }
      }
    } finally {
      be.kernels = original;
    }
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    for (const [name, p] of Object.entries(phases)) {
      families[`phase: ${name}`] = { seconds: p.wallMs / 1000, calls: batches };
      families[`phase-ts: ${name}`] = { seconds: (p.wallMs - p.kernelMs) / 1000, calls: batches };
    }
    families["gc: pauses"] = { seconds: gcMs / 1000, calls: 0 };
    const dataPhase = Object.entries(phases).find(([n]) => n.startsWith("data"))?.[1];
    return { seconds, batches, families, dataSeconds: (dataPhase?.wallMs ?? 0) / 1000 };
  }
}
