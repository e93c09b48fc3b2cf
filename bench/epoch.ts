// The training epoch (src/training.ts's trainEpoch), timed; models take turns, reseeded alike. Modes:
//   npx tsx bench/epoch.ts [--threads 1,2,4,8] [--epochs 3] [--images 60000] [--spin-off]
//       the d2l MLP over thread counts (synthetic data); parameters must end bitwise those of 1 thread;
//       --spin-off adds each count with threads that sleep at once instead of spinning first (threadSpin)
//   npx tsx bench/epoch.ts --profile [--threads 2] [--repeats 3] [--images 60000] [--batches N]
//       the serial share by kernel and by training step, and Amdahl's prediction
//   npx tsx bench/epoch.ts --lenet [--quick]    a d2l LeNet batch vs PyTorch and TensorFlow.js (lenet.ts)
//   npx tsx bench/epoch.ts --base <git rev>     ms per training step, this tree vs a commit's src/

import { execSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { join, resolve } from "node:path";
import { FashionMnistDataset } from "../src/data/fashion-mnist.ts";
import { DataLoader } from "../src/data/loader.ts";
import { threadSpin } from "../src/backend/threads.ts";
import { getBackend, getNumThreads, manualSeed, nn, setNumThreads } from "../src/index.ts";
import { buildMlp, makeOptimizer, trainEpoch, type Batches } from "../src/training.ts";
import { EpochClock, PHASES, timedEpoch, timeKernels, type KernelCall } from "./instrument.ts";
import { flag, hasFlag, intFlag, machineLine, median, rotate, table, threadList } from "./stats.ts";

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** n random 28×28 byte images, labels i mod 10: only the data's size matters to the time. */
function syntheticFashion(n: number): FashionMnistDataset {
  let s = 12345;
  const pixels = Uint8Array.from({ length: n * 784 }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
  return new FashionMnistDataset(pixels, Int32Array.from({ length: n }, (_, i) => i % 10));
}

const images = intFlag("--images", 60000);
const lossFn = new nn.CrossEntropyLoss();
const loader = () => new DataLoader(syntheticFashion(images), { batchSize: 256, shuffle: true });

/** A d2l MLP on `threads` threads, seeded 0 like every other. */
function model(threads: number, spin = true) {
  manualSeed(0);
  const net = buildMlp();
  return { threads, spin, net, opt: makeOptimizer(net, { lr: 0.5 }), seconds: [] as number[], running: 0 };
}
type Model = ReturnType<typeof model>;

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

async function threadScaling(): Promise<void> {
  const epochs = intFlag("--epochs", 3);
  const data = loader();
  const counts = threadList("1,2");
  const runs = [...counts.map((n) => model(n)), ...(hasFlag("--spin-off") ? counts.filter((n) => n > 1).map((n) => model(n, false)) : [])];
  const spinning = { ...threadSpin };
  const epoch = async (run: Model, index: number) => {
    if (run.spin !== (threadSpin.workerMicros > 0)) {
      setNumThreads(1); // workers take their spin when they start
      Object.assign(threadSpin, run.spin ? spinning : { callerMicros: 0, workerMicros: 0 });
    }
    setNumThreads(run.threads);
    run.running = getNumThreads();
    manualSeed(1000 + index);
    return (await trainEpoch(run.net, data, run.opt, lossFn)).seconds;
  };
  console.log(`# d2l MLP epoch over thread counts: ${images} synthetic images, batch 256, ${epochs} timed epochs after one warm-up\n# ${machineLine()}\n`);
  for (const run of runs) await epoch(run, 0);
  for (let e = 1; e <= epochs; e++) for (const run of rotate(runs, e)) run.seconds.push(await epoch(run, e));
  setNumThreads(1);
  Object.assign(threadSpin, spinning);
  const one = median(runs[0]!.seconds);
  const reference = parameterHash(runs[0]!.net);
  const hashes = runs.map((run) => parameterHash(run.net));
  console.log(table(["threads", "running", "s / epoch", "(range)", "images/s", "speed-up over 1", "parameters vs 1 thread"], runs.map((run, i) => {
    const s = median(run.seconds);
    return [run.spin ? run.threads : `${run.threads}, no spinning`, run.running, s.toFixed(3), `${Math.min(...run.seconds).toFixed(3)}–${Math.max(...run.seconds).toFixed(3)}`, Math.round(images / s), `${(one / s).toFixed(2)}×`,
      hashes[i] === reference ? "bitwise the same" : `DIFFERENT (${hashes[i]} vs ${reference})`];
  }), ["r", "r", "r", "r", "r", "r", "l"]));
  if (hashes.some((h) => h !== reference)) throw new Error("bench/epoch.ts: parameters differ between thread counts: the threads contract is broken");
}

/**
 * The serial share (issue 20): an epoch on --threads threads marks each kernel
 * call that the pool split; the same epoch (same seeds, same calls) on one
 * thread puts each call's time on the parallel or the serial side by what its
 * twin did. Serial = unsplit kernels + everything outside kernels. The pair
 * with the median share of --repeats interleaved pairs is shown.
 */
async function serialShare(): Promise<void> {
  const threads = intFlag("--threads", 2);
  const repeats = intFlag("--repeats", 3);
  const maxBatches = intFlag("--batches", Math.ceil(images / 256));
  if (threads < 2) throw new Error("bench/epoch.ts --profile: --threads must be 2 or more (the calls that split there are the parallel part)");
  const data = loader();
  const epoch = async (m: Model, seed: number, profile: boolean) => {
    setNumThreads(m.threads);
    manualSeed(seed);
    const clock = new EpochClock();
    const restore = profile ? timeKernels(getBackend().kernels, clock) : () => undefined;
    let gcMs = 0;
    const gc = new PerformanceObserver((list) => list.getEntries().forEach((e) => (gcMs += e.duration)));
    gc.observe({ entryTypes: ["gc"] });
    const { seconds } = await timedEpoch(m.net, data, m.opt, lossFn, clock, maxBatches);
    await new Promise((r) => setTimeout(r, 20)); // the observer reports asynchronously
    restore();
    gc.disconnect();
    return { ms: seconds * 1000, clock, running: getNumThreads(), gcMs };
  };
  console.log(`# d2l MLP epoch profile: ${images} synthetic images, batch 256, ${maxBatches} batches, ${repeats} interleaved pairs; parallel = split on ${threads} threads\n# ${machineLine()}`);
  const models = [model(threads), model(1)] as const;
  for (const m of models) await epoch(m, 1, false); // warm-up: JIT, allocator caches, workers
  // Both models are in the same state (same seeds all along), so both epochs make the same kernel calls, matched by order.
  const pairs = [];
  for (let r = 0; r < repeats; r++) {
    const many = await epoch(models[0], 2 + r, true);
    const one = await epoch(models[1], 2 + r, true);
    const split = one.clock.calls.map((c, i) => many.clock.calls[i]?.parallel === true && many.clock.calls[i]!.name === c.name);
    pairs.push({ many, one, split, share: 1 - sum(one.clock.calls.map((c, i) => (split[i] ? c.ms : 0))) / one.ms });
  }
  setNumThreads(1);
  const { many, one, split, share } = [...pairs].sort((a, b) => a.share - b.share)[(pairs.length - 1) >> 1]!;
  const [M, O] = [many.clock.calls, one.clock.calls];
  if (O.length !== M.length) console.log(`# warning: the two epochs made different kernel calls (${O.length} vs ${M.length}); matched by name and order as far as they go`);
  const msOf = (calls: KernelCall[], pick: (c: KernelCall, i: number) => boolean) => sum(calls.map((c, i) => (pick(c, i) ? c.ms : 0)));
  const [oneParallel, manyParallel] = [msOf(O, (_, i) => split[i]!), msOf(M, (c) => c.parallel)];
  const oneSerial = one.ms - oneParallel;
  const [outsideOne, outsideMany] = [one.ms - sum(O.map((c) => c.ms)), many.ms - sum(M.map((c) => c.ms))];
  const ms = (x: number) => x.toFixed(0);
  const pct = (x: number) => `${((100 * x) / one.ms).toFixed(1)}%`;
  const byOp = [...new Set(O.map((c) => c.name))].map((name) => {
    const of = (calls: KernelCall[], pick: (c: KernelCall, i: number) => boolean) => msOf(calls, (c, i) => c.name === name && pick(c, i));
    const [p1, s1] = [of(O, (_, i) => split[i]!), of(O, (_, i) => !split[i])];
    const count = (pick: (c: KernelCall, i: number) => boolean) => O.filter((c, i) => c.name === name && pick(c, i)).length;
    return { total: p1 + s1, row: [name, count(() => true), count((_, i) => split[i]!), ms(p1), ms(s1), pct(s1), ms(of(M, (c) => c.parallel)), ms(of(M, (c) => !c.parallel))] };
  }).sort((a, b) => b.total - a.total);
  console.log(`\n## Serial time by op (one-thread epoch ${ms(one.ms)} ms; ${threads} threads running ${many.running}, epoch ${ms(many.ms)} ms)\n`);
  console.log(table(["op", "calls", `split on ${threads}`, "1 thread: parallel ms", "1 thread: serial ms", "serial, % of 1-thread epoch", `${threads} threads: parallel ms`, `${threads} threads: serial ms`], [
    ...byOp.map((o) => o.row),
    ["outside kernels (TypeScript layer, data, bookkeeping)", "", "", 0, ms(outsideOne), pct(outsideOne), 0, ms(outsideMany)],
    ["**epoch**", O.length, split.filter(Boolean).length, ms(oneParallel), ms(oneSerial), pct(oneSerial), ms(manyParallel), ms(many.ms - manyParallel)],
  ]));
  console.log("\n## The one-thread epoch by training step (ms)\n");
  console.log(table(["step", "wall", `kernels split on ${threads}`, "kernels not split", "outside kernels", "serial, % of 1-thread epoch"], PHASES.map((ph) => {
    const inPhase = (s: boolean) => sum(O.map((c, i) => (c.phase === ph && split[i] === s ? c.ms : 0)));
    const wall = one.clock.phaseMs.get(ph) ?? 0;
    return [ph, ms(wall), ms(inPhase(true)), ms(inPhase(false)), ms(wall - inPhase(true) - inPhase(false)), pct(wall - inPhase(true))];
  })));
  // Amdahl assumes the parallel part scales perfectly and splits alike on n threads: an upper bound.
  const amdahl = (n: number) => 1 / (share + (1 - share) / n);
  console.log(`\nserial share of the one-thread epoch: ${(100 * share).toFixed(1)}% (pairs: ${pairs.map((p) => `${(100 * p.share).toFixed(1)}%`).join(", ")}; kernels not split ${pct(oneSerial - outsideOne)}, outside kernels ${pct(outsideOne)})`);
  console.log(`measured here: ${threads} threads ${(one.ms / many.ms).toFixed(2)}× one thread (parallel regions ${(oneParallel / Math.max(manyParallel, 1e-9)).toFixed(2)}× faster)`);
  console.log(`V8 garbage collection during the one-thread epoch: ${ms(one.gcMs)} ms (${pct(one.gcMs)}), inside the steps above`);
  console.log(`Amdahl's prediction: ${[2, 4, 8, 16].map((n) => `${n} threads ${amdahl(n).toFixed(2)}×`).join(", ")}; at most ${(1 / share).toFixed(1)}×`);
}

type Lib = typeof import("../src/index.ts");
type Training = typeof import("../src/training.ts");

/** A baseline commit's src/ beside this tree's (the generated files, ignored by git, copied: the kernels are the same). */
async function baseline(rev: string): Promise<{ lib: Lib; training: Training }> {
  const root = resolve(import.meta.dirname, "..");
  const dir = mkdtempSync(join(tmpdir(), "wasmgrad-base-"));
  execSync(`git archive ${rev} src | tar -x -C ${dir}`, { cwd: root });
  // The same module type and compiler options as this tree, or tsx would compile the two copies differently.
  for (const f of ["package.json", "tsconfig.json"]) cpSync(join(root, f), join(dir, f));
  for (const f of readdirSync(join(root, "src/backend")).filter((f) => f.includes(".generated."))) cpSync(join(root, "src/backend", f), join(dir, "src/backend", f));
  return { lib: await import(join(dir, "src/index.ts")), training: await import(join(dir, "src/training.ts")) };
}

/** ms per step of `steps` d2l training steps (trainEpoch over a loader of exactly that many batches). */
function stepper({ lib, training }: { lib: Lib; training: Training }, hidden: [number, number], batch: number, steps: number) {
  lib.manualSeed(0);
  const n = batch * steps;
  const labels = lib.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % 10));
  const data = new lib.data.DataLoader(new lib.data.TensorDataset(lib.randn([n, 784]), labels), { batchSize: batch, shuffle: true });
  const net = training.buildMlp([0.2, 0.5], hidden);
  const opt = training.makeOptimizer(net, { lr: 0.1 });
  const loss = new lib.nn.CrossEntropyLoss();
  return async () => ((await training.trainEpoch(net, data as unknown as Batches, opt, loss)).seconds * 1000) / steps;
}

async function versusBase(rev: string): Promise<void> {
  const [rounds, steps] = [15, 20];
  const libs = { base: await baseline(rev), new: { lib: await import("../src/index.ts"), training: await import("../src/training.ts") } };
  console.log(`# ms per training step: this tree vs ${rev}, ${rounds} interleaved rounds of ${steps} steps\n# ${machineLine()}\n`);
  const loops = [["d2l dropout MLP 784-256-256-10, batch 256", 256, 256], ["small MLP 784-32-32-10, batch 64 (per-op overhead dominates)", 32, 64]] as const;
  const rows = [];
  for (const [name, hidden, batch] of loops) {
    const run = { base: stepper(libs.base, [hidden, hidden], batch, steps), new: stepper(libs.new, [hidden, hidden], batch, steps) };
    await run.base();
    await run.new();
    const t = { base: [] as number[], new: [] as number[] };
    for (let r = 0; r < rounds; r++) for (const which of rotate(["base", "new"] as const, r)) t[which].push(await run[which]());
    rows.push([name, median(t.base).toFixed(3), median(t.new).toFixed(3), median(t.new.map((x, i) => x / t.base[i]!)).toFixed(3)]);
  }
  console.log(table(["loop", "base ms/step", "new ms/step", "new / base"], rows));
}

if (hasFlag("--profile")) await serialShare();
else if (hasFlag("--lenet")) await (await import("./lenet.ts")).lenetRace();
else if (flag("--base", "") !== "") await versusBase(flag("--base", ""));
else await threadScaling();
