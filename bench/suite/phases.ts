// The suite's two phases, GEMM and training, over live contender processes:
// one sample per contender per round, the starting contender rotating.

import { due, median, rotate } from "../stats.ts";
import type { ChildContender } from "./child.ts";
import type { EpochReply, EvalReply, InfoReply, Layout, StatsReply } from "./contender.ts";
import { GEMM_ENTRIES, type ContenderName, type EpochSummary, type EvalSummary, type GemmCell, type GemmEntry, type TrainingResult } from "./report.ts";

export interface Live { name: ContenderName; child: ChildContender; info: InfoReply }

export const log = (s: string) => process.stderr.write(`${s}\n`);
const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));
const message = (e: unknown) => (e as Error).message;

// ---- GEMM ----------------------------------------------------------------------

const SHAPES = { full: [[256, 784, 256], [256, 256, 256], [256, 256, 10], [784, 256, 256], [1024, 1024, 1024]], quick: [[256, 784, 256], [256, 256, 10]] };

/** One contender's (or wasmgrad's op's) samples of one cell, seconds per call. */
interface Plan { entry: GemmEntry; who: Live; variant: "kernel" | "op"; reps: number; samples: number; times: number[] }

const failed = (cell: GemmCell, entry: GemmEntry, e: unknown) => void (cell.stats[entry] = { gflops: NaN, low: NaN, high: NaN, samples: 0, repsPerSample: 0, error: message(e) });

/** Sets the cell up in every contender; on the first pass also sizes its plans (reps per sample, samples in all). */
async function setUpCell(cell: GemmCell, plans: Plan[], live: Live[], first: boolean, quick: boolean): Promise<Set<Live>> {
  const ready = new Set<Live>();
  for (const c of live.filter((c) => !cell.stats[c.name]?.error)) {
    try {
      const { m, k, n, layout } = cell;
      const { once } = await c.child.request<{ once: number }>({ cmd: "gemm_setup", m, k, n, layout, warmupMs: first ? (quick ? 50 : 200) : 30 });
      ready.add(c);
      if (!first) continue;
      const reps = Math.max(1, Math.ceil((quick ? 0.01 : 0.03) / once));
      const samples = clamp(Math.floor((quick ? 0.25 : 1.5) / (once * reps)), quick ? 1 : 3, quick ? 5 : 12);
      plans.push({ entry: c.name, who: c, variant: "kernel", reps, samples, times: [] });
      if (c.name === "wasmgrad-wasm") plans.push({ entry: "wasmgrad-wasm op", who: c, variant: "op", reps, samples, times: [] });
    } catch (e) {
      failed(cell, c.name, e);
    }
  }
  return ready;
}

/**
 * A full run goes over every cell in three passes, a third of the samples
 * each, round robin over the contenders: the machine's speed drifts over tens
 * of seconds, and a cell measured in one stretch would carry that stretch's speed.
 */
export async function gemmPhase(live: Live[], quick: boolean): Promise<GemmCell[]> {
  const passes = quick ? 1 : 3;
  const cases = SHAPES[quick ? "quick" : "full"].flatMap(([m, k, n]) => (["NN", "NT", "TN"] as Layout[]).map((layout) => ({ cell: { m: m!, k: k!, n: n!, layout, stats: {} } as GemmCell, plans: [] as Plan[] })));
  for (let pass = 0; pass < passes; pass++) {
    for (const { cell, plans: all } of cases) {
      const ready = await setUpCell(cell, all, live, pass === 0, quick);
      const plans = all.filter((p) => ready.has(p.who) && !cell.stats[p.entry]?.error);
      const quota = new Map(plans.map((p) => [p, Math.max(0, pass === passes - 1 ? p.samples - p.times.length : Math.round(p.samples / passes))]));
      const rounds = Math.max(0, ...quota.values());
      for (let r = 0; r < rounds; r++) {
        for (const p of rotate(plans, r + pass).filter((p) => due(quota.get(p)!, rounds, r))) {
          await p.who.child.request<{ seconds: number }>({ cmd: "gemm_sample", reps: p.reps, variant: p.variant }).then((s) => p.times.push(s.seconds), (e) => failed(cell, p.entry, e));
        }
      }
      for (const c of live) await c.child.request({ cmd: "gemm_free" }).catch(() => undefined);
      if (pass < passes - 1) continue;
      const g = (t: number) => (2 * cell.m * cell.n * cell.k) / t / 1e9;
      for (const p of all.filter((p) => !cell.stats[p.entry]?.error && p.times.length)) {
        cell.stats[p.entry] = { gflops: g(median(p.times)), low: g(Math.max(...p.times)), high: g(Math.min(...p.times)), samples: p.times.length, repsPerSample: p.reps };
      }
      const shown = GEMM_ENTRIES.filter((e) => cell.stats[e]).map((e) => `${e} ${cell.stats[e]!.error ? "error" : cell.stats[e]!.gflops.toFixed(1)}`);
      log(`  gemm ${cell.m}×${cell.k}×${cell.n} ${cell.layout}: ${shown.join(", ")} GFLOP/s`);
    }
    if (pass < passes - 1) log(`  gemm: pass ${pass + 1}/${passes} done`);
  }
  return cases.map((cs) => cs.cell);
}

// ---- training ------------------------------------------------------------------

type Sizes = { trainSize: number; testSize: number; batchesPerEpoch: number };

/** Batches per timed round from the warm-up's speed (0: all): whole epochs when short enough, else ~8 s (evaluation ~3 s) worth. */
function timingPlan(name: string, w: EpochReply, e: EvalReply, sizes: Sizes, quick: boolean): { train: number; eval: number } {
  const [perBatch, perEval] = [w.seconds / w.batches, e.seconds / e.batches];
  const testBatches = Math.ceil(sizes.testSize / 256);
  const train = quick ? clamp(Math.floor(0.8 / perBatch), 2, 20) : perBatch * sizes.batchesPerEpoch <= 15 ? 0 : clamp(Math.ceil(8 / perBatch), 10, sizes.batchesPerEpoch);
  const ev = quick ? clamp(Math.floor(0.3 / perEval), 1, 8) : perEval * testBatches <= 6 ? 0 : clamp(Math.ceil(3 / perEval), 5, testBatches);
  log(`  ${name}: warm-up ${(perBatch * 1000).toFixed(1)} ms/batch: timing ${train ? `${train} batches` : "full epochs"}, eval ${ev ? `${ev} batches` : "full"}`);
  return { train: train >= sizes.batchesPerEpoch ? 0 : train, eval: ev >= testBatches ? 0 : ev };
}

/** Epoch seconds scaled to Fashion-MNIST's 60 000 images (the bundled subset is smaller). */
function epochSummary(es: EpochReply[], batches: number, sizes: Sizes): EpochSummary {
  const perEpoch = es.map((e) => (e.seconds / e.images) * 60000);
  return {
    mode: batches === 0 && sizes.trainSize === 60000 ? "full" : "partial", batchesPerRepeat: batches || sizes.batchesPerEpoch, repeats: es.length,
    epochSeconds: median(perEpoch), epochSecondsLow: Math.min(...perEpoch), epochSecondsHigh: Math.max(...perEpoch),
    imagesPerSecond: median(es.map((e) => e.images / e.seconds)), dataShare: median(es.map((e) => e.dataSeconds / e.seconds)),
    lastLoss: es.at(-1)!.loss, lastAccuracy: es.at(-1)!.accuracy,
    raw: es.map(({ seconds, batches, images, dataSeconds, highWater }) => ({ seconds, batches, images, dataSeconds, highWater })),
  };
}

const evalSummary = (vs: EvalReply[], batches: number, testSize: number): EvalSummary => ({
  mode: batches === 0 && testSize === 10000 ? "full" : "partial", batchesPerRepeat: batches || Math.ceil(testSize / 256), repeats: vs.length,
  seconds: median(vs.map((v) => (v.seconds / v.images) * 10000)), imagesPerSecond: median(vs.map((v) => v.images / v.seconds)), accuracy: vs.at(-1)!.accuracy,
});

export async function trainPhase(live: Live[], quick: boolean, dataDir: string): Promise<TrainingResult> {
  const r: TrainingResult = { trainSize: 0, testSize: 0, batchesPerEpoch: 0, epoch: {}, eval: {}, peakRssBytes: {}, peakRssAfterLoadBytes: {}, rssAtEndBytes: {}, highWater: null, errors: {} };
  /** fn for each contender that has not failed yet; a failure is recorded and ends that contender's part. */
  const each = async (cs: Live[], fn: (c: Live) => Promise<void>) => {
    for (const c of cs.filter((c) => !r.errors[c.name])) await fn(c).catch((e) => void (r.errors[c.name] ??= message(e)));
  };
  const ask = <T>(c: Live, req: Record<string, unknown> & { cmd: string }) => c.child.request<T>(req);
  await each(live, async (c) => {
    const s = await ask<Sizes & { loadSeconds: number }>(c, { cmd: "train_setup", dir: dataDir, seed: 0 });
    Object.assign(r, { trainSize: s.trainSize, testSize: s.testSize, batchesPerEpoch: s.batchesPerEpoch });
    r.peakRssAfterLoadBytes[c.name] = (await ask<StatsReply>(c, { cmd: "stats" })).maxRssBytes;
    log(`  ${c.name}: data loaded and model built in ${s.loadSeconds.toFixed(2)} s`);
  });
  const plans = new Map<ContenderName, { train: number; eval: number }>();
  let afterWarmup = 0;
  await each(live, async (c) => {
    const w = await ask<EpochReply>(c, { cmd: "train_epoch", maxBatches: quick ? 2 : 10 });
    const e = await ask<EvalReply>(c, { cmd: "eval", maxBatches: quick ? 1 : 3 });
    if (c.name === "wasmgrad-wasm") afterWarmup = w.highWater ?? 0;
    plans.set(c.name, timingPlan(c.name, w, e, r, quick));
  });
  const timed = live.filter((c) => plans.has(c.name));
  const epochs = new Map<ContenderName, EpochReply[]>(timed.map((c) => [c.name, []]));
  const evals = new Map<ContenderName, EvalReply[]>(timed.map((c) => [c.name, []]));
  const repeats = quick ? 2 : 3;
  for (let round = 0; round < repeats; round++) {
    const order = rotate(timed, round);
    await each(order, async (c) => {
      const e = await ask<EpochReply>(c, { cmd: "train_epoch", maxBatches: plans.get(c.name)!.train });
      epochs.get(c.name)!.push(e);
      log(`  round ${round + 1}/${repeats} ${c.name}: ${e.batches} batches in ${e.seconds.toFixed(2)} s (${(e.images / e.seconds).toFixed(0)} images/s, loss ${e.loss.toFixed(3)})`);
    });
    await each(order, async (c) => void evals.get(c.name)!.push(await ask<EvalReply>(c, { cmd: "eval", maxBatches: plans.get(c.name)!.eval })));
  }
  for (const c of timed) {
    const [es, vs, p] = [epochs.get(c.name)!, evals.get(c.name)!, plans.get(c.name)!];
    if (es.length) r.epoch[c.name] = epochSummary(es, p.train, r);
    if (vs.length) r.eval[c.name] = evalSummary(vs, p.eval, r.testSize);
  }
  await each(live, async (c) => {
    const s = await ask<StatsReply>(c, { cmd: "stats" });
    [r.peakRssBytes[c.name], r.rssAtEndBytes[c.name]] = [s.maxRssBytes, s.rssBytes];
    if (c.name === "wasmgrad-wasm") r.memoryStats = s.memory;
  });
  const wes = epochs.get("wasmgrad-wasm");
  if (wes?.length) r.highWater = { afterWarmup, afterEpoch: wes.map((e) => e.highWater ?? 0) };
  return r;
}
