// wasmgrad's benchmark suite (issue 4): GEMM, one training epoch of the d2l
// dropout MLP, the test-set evaluation and memory, for wasmgrad (Wasm and JS
// backends), TensorFlow.js 4.22 (wasm and cpu backends) and PyTorch (when
// /usr/bin/python3 can import torch), in one invocation, interleaved.
//
//   npm run bench                     full run (several minutes); writes bench/RESULTS.md and bench/results.json
//   npm run bench -- --quick          under a minute: fewer repeats and shapes, partial epochs scaled
//   npm run bench -- --threads 4      wasmgrad's setNumThreads(4) where src/index.ts exports it (and torch's)
//
// Other flags: --only wasmgrad-wasm,torch (contenders), --no-torch, --no-gemm,
// --no-train, --no-profile, --no-write, --tsx (run the JS contenders under tsx
// instead of an esbuild bundle: for a library change the bundle cannot take),
// --peak-probe (the diagnostic: sample a Wasm SIMD peak probe and its busy twin
// after each wasmgrad-wasm sample, to tell a slow kernel from a shared core), --help.
//
// Each contender runs in a child process of its own (worker.ts, or
// torch_worker.py) that takes JSON-lines requests and times itself; this
// process only decides what to run and in which order: one sample per
// contender per round, the starting contender rotating each round.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { median, rotate } from "../stats.ts";
import { ChildContender } from "./child.ts";
import { PROBE_QUIET_GFLOPS } from "./peak.ts";
import type { EpochReply, EvalReply, InfoReply, Layout, ProbeInfo, ProfileReply, StatsReply } from "./protocol.ts";
import {
  CONTENDERS, CORE_SHARED_BELOW, checkTargets, renderMarkdown,
  type ContenderName, type EpochSummary, type EvalSummary, type GemmCell, type GemmEntry, type GemmStat, type ProbeSummary, type Results, type TrainingResult,
} from "./report.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../..");
const PYTHON = "/usr/bin/python3";
const AVX512_CORES = new Set(["skylakex", "cooperlake", "sapphirerapids"]);

// ---- options -------------------------------------------------------------------

interface Options {
  quick: boolean;
  threads: number;
  only: Set<ContenderName>;
  gemm: boolean;
  train: boolean;
  profile: boolean;
  write: boolean;
  tsx: boolean;
  /** The peak probe and its busy twin between samples: a diagnostic for a noisy machine, off by default. */
  peakProbe: boolean;
}

const HELP = `npm run bench -- [--quick] [--threads N] [--only a,b] [--no-torch] [--no-gemm] [--no-train] [--no-profile] [--no-write] [--tsx] [--peak-probe]
contenders: ${CONTENDERS.join(", ")}`;

function parseOptions(argv: string[]): Options {
  const o: Options = { quick: false, threads: 1, only: new Set(CONTENDERS), gemm: true, train: true, profile: true, write: true, tsx: false, peakProbe: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const eq = a.indexOf("=");
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === "--quick" || a === "-q") o.quick = true;
    else if (a.startsWith("--threads")) {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 256) fail(`--threads must be a positive integer, got ${JSON.stringify(n)}`);
      o.threads = n;
    } else if (a.startsWith("--only")) {
      const names = value().split(",").map((s) => s.trim()).filter(Boolean);
      for (const n of names) if (!(CONTENDERS as readonly string[]).includes(n)) fail(`--only: unknown contender ${n} (${CONTENDERS.join(", ")})`);
      o.only = new Set(names as ContenderName[]);
    } else if (a === "--no-torch") o.only.delete("torch");
    else if (a === "--no-gemm") o.gemm = false;
    else if (a === "--no-train") o.train = false;
    else if (a === "--no-profile") o.profile = false;
    else if (a === "--no-write") o.write = false;
    else if (a === "--tsx") o.tsx = true;
    else if (a === "--peak-probe") o.peakProbe = true;
    else if (a === "--help" || a === "-h") {
      console.log(HELP);
      process.exit(0);
    } else fail(`unknown argument ${a}\n${HELP}`);
  }
  return o;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

const log = (s: string) => process.stderr.write(`${s}\n`);

// ---- the machine ---------------------------------------------------------------

function cpuInfo(): { cpu: string; detail: string; flags: Set<string> } {
  let text = "";
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return { cpu: cpus()[0]?.model ?? "unknown CPU", detail: "", flags: new Set() };
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  const flags = new Set(field("flags").split(/\s+/));
  const isa = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"].filter((f) => flags.has(f));
  const detail = [
    `family ${field("cpu family")} model ${field("model")} stepping ${field("stepping")}`,
    flags.has("hypervisor") ? "virtualised" : "",
    isa.join(" "),
  ].filter(Boolean).join(", ");
  return { cpu: field("model name") || (cpus()[0]?.model ?? "unknown CPU"), detail, flags };
}

function gitDescribe(): string {
  try {
    const env = { ...process.env, GIT_OPTIONAL_LOCKS: "0" };
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    // The suite's own previous output is not a change to the code it measures.
    const outputs = [":(exclude)bench/RESULTS.md", ":(exclude)bench/results.json"];
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", ".", ...outputs], { cwd: ROOT, env, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return "unknown";
  }
}

function findData(): { dir: string; full: boolean; note?: string } {
  const has = (d: string) => ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    .every((f) => existsSync(join(d, f)) || existsSync(join(d, `${f}.gz`)));
  for (const d of [process.env.FASHION_MNIST_DIR, "/usr/share/datasets/fashion-mnist"]) {
    if (d && has(d)) return { dir: d, full: true };
  }
  return {
    dir: join(ROOT, "data/fashion-mnist-subset"),
    full: false,
    note: "the full Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or FASHION_MNIST_DIR): " +
      "trained on the bundled 6000 / 1000-image subset, times scaled to a 60 000-image epoch by images/s",
  };
}

// ---- contender processes -------------------------------------------------------

interface Launcher {
  command: string;
  args: string[];
}

/** Bundles worker.ts (tfjs left external) so the JS contenders run under plain node. */
async function prepareLauncher(opts: Options, notes: string[]): Promise<Launcher> {
  const entry = join(HERE, "worker.ts");
  if (opts.tsx) return { command: process.execPath, args: ["--import", "tsx", entry] };
  const { build } = await import("esbuild");
  const outfile = join(ROOT, "node_modules/.cache/wasmgrad-bench/worker.mjs");
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry], bundle: true, platform: "node", format: "esm", target: "node20",
    outfile, external: ["@tensorflow/*"], logLevel: "error",
  });
  void notes;
  return { command: process.execPath, args: [outfile] };
}

interface Live {
  name: ContenderName;
  child: ChildContender;
  info: InfoReply;
}

function torchEnv(threads: number, coretype: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // Set on these machines for other work; the bench's PyTorch wants OpenBLAS's own choice (or the one forced below).
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  env.OMP_NUM_THREADS = String(threads);
  env.OPENBLAS_NUM_THREADS = String(threads);
  env.MKL_NUM_THREADS = String(threads);
  return env;
}

/** The OPENBLAS_CORETYPE the first torch start settled on, reused by later starts. */
let decidedCoretype: string | undefined;

async function startTorch(opts: Options, avx512: boolean, notes: string[], announce: boolean): Promise<Live | null> {
  if (!existsSync(PYTHON)) {
    if (announce) notes.push(`PyTorch skipped: ${PYTHON} not found`);
    return null;
  }
  const script = join(HERE, "torch_worker.py");
  const start = async (coretype: string | undefined) => {
    const child = new ChildContender("torch", PYTHON, [script, String(opts.threads)], torchEnv(opts.threads, coretype), true);
    try {
      const info = await child.request<InfoReply>({ cmd: "info" }, 120);
      return { child, info };
    } catch (e) {
      await child.close();
      throw new Error(`${(e as Error).message}${child.stderrTail.length ? ` (${child.stderrTail.slice(-1)[0]})` : ""}`);
    }
  };
  const forced = process.env.BENCH_OPENBLAS_CORETYPE ?? decidedCoretype;
  try {
    let { child, info } = await start(forced);
    const core = info.versions["OpenBLAS core"];
    if (!forced && core && avx512 && !AVX512_CORES.has(core.toLowerCase())) {
      // OpenBLAS 0.3.21 does not know newer CPUs (e.g. family 6 model 207) and falls back to an SSE3 kernel.
      await child.close();
      decidedCoretype = "SkylakeX";
      ({ child, info } = await start(decidedCoretype));
      if (announce) {
        notes.push(
          `PyTorch: with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, OpenBLAS autodetected the "${core}" core on this AVX-512 CPU ` +
            `(it does not know this CPU model), so the suite set OPENBLAS_CORETYPE=SkylakeX for PyTorch to get the AVX-512 kernels ` +
            `(now "${info.versions["OpenBLAS core"]}"; override with BENCH_OPENBLAS_CORETYPE)`,
        );
      }
    } else if (announce) {
      notes.push(`PyTorch: OpenBLAS core "${core ?? "unknown"}"${forced ? ` (OPENBLAS_CORETYPE=${forced} from BENCH_OPENBLAS_CORETYPE)` : " (autodetected; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset)"}`);
    }
    return { name: "torch", child, info };
  } catch (e) {
    if (announce) notes.push(`PyTorch skipped: ${PYTHON} could not run the torch worker (${(e as Error).message.split("\n")[0]})`);
    return null;
  }
}

async function startAll(opts: Options, launcher: Launcher, avx512: boolean, notes: string[], announce: boolean): Promise<Live[]> {
  const live: Live[] = [];
  for (const name of CONTENDERS) {
    if (!opts.only.has(name)) continue;
    if (name === "torch") {
      const t = await startTorch(opts, avx512, notes, announce);
      if (t) live.push(t);
      continue;
    }
    const child = new ChildContender(name, launcher.command, [...launcher.args, name, String(opts.threads)], process.env);
    try {
      const info = await child.request<InfoReply>({ cmd: "info" }, 120);
      if (announce) for (const n of info.notes) notes.push(`${name}: ${n}`);
      live.push({ name, child, info });
    } catch (e) {
      if (announce) notes.push(`${name} skipped: ${(e as Error).message.split("\n")[0]}`);
      await child.close();
    }
  }
  return live;
}

/** Whether a contender with `count` samples spread over `rounds` takes one in round r. */
const due = (count: number, rounds: number, r: number) => Math.floor(((r + 1) * count) / rounds) > Math.floor((r * count) / rounds);
const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

// ---- GEMM ----------------------------------------------------------------------

interface GemmShape {
  m: number;
  k: number;
  n: number;
}

const FULL_SHAPES: GemmShape[] = [
  { m: 256, k: 784, n: 256 }, { m: 256, k: 256, n: 256 }, { m: 256, k: 256, n: 10 }, { m: 784, k: 256, n: 256 }, { m: 1024, k: 1024, n: 1024 },
];
const QUICK_SHAPES: GemmShape[] = [{ m: 256, k: 784, n: 256 }, { m: 256, k: 256, n: 10 }];
const LAYOUTS: Layout[] = ["NN", "NT", "TN"];

/** times: seconds per call of each sample; probes / busy: the peak probe's and its busy twin's GFLOP/s right after each (wasmgrad-wasm). */
interface Plan {
  entry: GemmEntry; who: Live; variant: "kernel" | "op"; reps: number; samples: number;
  times: number[]; probes: (number | undefined)[]; busy: (number | undefined)[];
}

/** A cell's figures for one plan: median GFLOP/s and range, and with --peak-probe each sample against the probe taken right after it. */
function gemmStat(p: Plan, flops: number): GemmStat {
  const g = (t: number) => flops / t / 1e9;
  const stat: GemmStat = { gflops: g(median(p.times)), low: g(Math.max(...p.times)), high: g(Math.min(...p.times)), samples: p.times.length, repsPerSample: p.reps };
  // Each sample against the peak probe taken right after it in the same process.
  const pairs = p.times.flatMap((t, i): [number, number][] => {
    const probe = p.probes[i];
    return probe !== undefined && probe > 0 ? [[g(t), probe]] : [];
  });
  if (pairs.length) {
    stat.peak = { share: median(pairs.map(([x, y]) => x / y)), probeGflops: median(pairs.map(([, y]) => y)), pairs };
    // The same samples, split by whether the busy probe found the core shared.
    const split = p.times.flatMap((t, i) => {
      const probe = p.probes[i];
      const busy = p.busy[i];
      return probe && busy !== undefined ? [{ gflops: g(t), share: busy / probe }] : [];
    });
    if (split.length) {
      const unshared = split.filter((x) => x.share >= CORE_SHARED_BELOW);
      stat.peak.sharedSamples = split.length - unshared.length;
      stat.peak.coreSamples = split.length;
      if (unshared.length) stat.peak.unsharedGflops = median(unshared.map((x) => x.gflops));
    }
  }
  return stat;
}

/** One cell's figures for the progress log. */
function cellLine(cell: GemmCell): string {
  const show = (e: GemmEntry) => {
    const st = cell.stats[e];
    if (!st) return null;
    if (st.error) return `${e} error`;
    const core = st.peak?.coreSamples ? `, ${st.peak.sharedSamples} of ${st.peak.coreSamples} samples on a shared core` : "";
    const peak = st.peak && e === "wasmgrad-wasm" ? ` (${(100 * st.peak.share).toFixed(0)}% of the peak probe's ${st.peak.probeGflops.toFixed(1)}${core})` : "";
    return `${e} ${st.gflops.toFixed(st.gflops < 10 ? 2 : 1)}${peak}`;
  };
  return (["wasmgrad-wasm", "wasmgrad-wasm op", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"] as GemmEntry[]).map(show).filter(Boolean).join(", ");
}

/** With --peak-probe: the probe's and its busy twin's samples over the whole GEMM phase. */
function probeSummary(probeInfo: ProbeInfo | undefined, allProbes: number[], allBusy: number[], coreShares: number[], quietCpu: boolean): ProbeSummary | null {
  return probeInfo && allProbes.length
    ? {
      build: probeInfo.build, what: probeInfo.what, backend: probeInfo.backend,
      median: median(allProbes), low: Math.min(...allProbes), high: Math.max(...allProbes), samples: allProbes.length,
      quietGflops: quietCpu ? PROBE_QUIET_GFLOPS[probeInfo.build] : null,
      ...(allBusy.length ? { busy: { median: median(allBusy), low: Math.min(...allBusy), high: Math.max(...allBusy) } } : {}),
      ...(coreShares.length ? { coreShare: median(coreShares), sharedSamples: coreShares.filter((x) => x < CORE_SHARED_BELOW).length, pairedSamples: coreShares.length } : {}),
      ...(probeInfo.note ? { note: probeInfo.note } : {}),
    }
    : null;
}

/**
 * Every case (shape × layout) is measured in several passes over the whole list,
 * a few samples per contender in each: this machine's speed drifts over tens of
 * seconds, and a case measured in one stretch would take one stretch's speed
 * (a layout could look 1.5× slower than another only because it ran later).
 * Within a pass, the contenders take turns sample by sample, as everywhere.
 */
async function gemmPhase(live: Live[], opts: Options, quietCpu: boolean): Promise<{ cells: GemmCell[]; probe: ProbeSummary | null }> {
  const shapes = opts.quick ? QUICK_SHAPES : FULL_SHAPES;
  const passes = opts.quick ? 1 : 3;
  const minSampleS = opts.quick ? 0.01 : 0.03;
  const maxSamples = opts.quick ? 5 : 12;
  const minSamples = opts.quick ? 1 : 3;
  const budgetS = opts.quick ? 0.25 : 1.5;
  const firstWarmupMs = opts.quick ? 50 : 200;
  const laterWarmupMs = 30;
  let probeInfo: ProbeInfo | undefined;
  const allProbes: number[] = [];
  const allBusy: number[] = [];
  const coreShares: number[] = [];
  const cases = shapes.flatMap((shape) => LAYOUTS.map((layout) => ({
    shape, layout, cell: { ...shape, layout, stats: {} } as GemmCell, plans: null as Plan[] | null,
  })));
  const failed = (cell: GemmCell, entry: GemmEntry, e: unknown, reps = 0) => {
    cell.stats[entry] = { gflops: NaN, low: NaN, high: NaN, samples: 0, repsPerSample: reps, error: (e as Error).message };
  };
  for (let pass = 0; pass < passes; pass++) {
    for (const cs of cases) {
      const { shape, layout, cell } = cs;
      const ready = new Set<Live>();
      for (const c of live) {
        if (cell.stats[c.name]?.error) continue;
        try {
          const warmupMs = pass === 0 ? firstWarmupMs : laterWarmupMs;
          const { once, probe } = await c.child.request<{ once: number; probe?: ProbeInfo }>({ cmd: "gemm_setup", ...shape, layout, warmupMs, peakProbe: opts.peakProbe });
          if (probe && c.name === "wasmgrad-wasm") probeInfo ??= probe;
          ready.add(c);
          if (pass > 0) continue;
          // Sized on the first pass: reps per sample and samples in all, shared out over the passes.
          const reps = Math.max(1, Math.ceil(minSampleS / once));
          const samples = clamp(Math.floor(budgetS / (once * reps)), minSamples, maxSamples);
          cs.plans ??= [];
          cs.plans.push({ entry: c.name, who: c, variant: "kernel", reps, samples, times: [], probes: [], busy: [] });
          if (c.name === "wasmgrad-wasm") cs.plans.push({ entry: "wasmgrad-wasm op", who: c, variant: "op", reps, samples, times: [], probes: [], busy: [] });
        } catch (e) {
          failed(cell, c.name, e);
        }
      }
      const plans = (cs.plans ?? []).filter((p) => ready.has(p.who) && !cell.stats[p.entry]?.error);
      // This pass's share of each plan's samples (the last pass takes what is left).
      const share = (p: Plan) => (pass === passes - 1 ? p.samples - p.times.length : Math.round(p.samples / passes));
      const quota = new Map(plans.map((p) => [p, Math.max(0, share(p))]));
      const rounds = Math.max(0, ...quota.values());
      for (let r = 0; r < rounds; r++) {
        for (const p of rotate(plans, r + pass)) {
          if (!due(quota.get(p)!, rounds, r)) continue;
          try {
            const { seconds, probeGflops, busyProbeGflops } = await p.who.child.request<{ seconds: number; probeGflops?: number; busyProbeGflops?: number }>(
              { cmd: "gemm_sample", reps: p.reps, variant: p.variant },
            );
            p.times.push(seconds);
            p.probes.push(probeGflops);
            p.busy.push(busyProbeGflops);
            if (probeGflops !== undefined) allProbes.push(probeGflops);
            if (busyProbeGflops !== undefined) allBusy.push(busyProbeGflops);
            if (probeGflops && busyProbeGflops !== undefined) coreShares.push(busyProbeGflops / probeGflops);
          } catch (e) {
            failed(cell, p.entry, e, p.reps);
          }
        }
      }
      for (const c of live) await c.child.request({ cmd: "gemm_free" }).catch(() => undefined);
      if (pass < passes - 1) continue;
      const flops = 2 * shape.m * shape.n * shape.k;
      for (const p of cs.plans ?? []) {
        if (cell.stats[p.entry]?.error || p.times.length === 0) continue;
        cell.stats[p.entry] = gemmStat(p, flops);
      }
      log(`  gemm ${shape.m}×${shape.k}×${shape.n} ${layout}: ${cellLine(cell)} GFLOP/s`);
    }
    if (pass < passes - 1) log(`  gemm: pass ${pass + 1}/${passes} done`);
  }
  const probe = probeSummary(probeInfo, allProbes, allBusy, coreShares, quietCpu);
  if (probe) {
    const busy = probe.busy ? `; busy twin median ${probe.busy.median.toFixed(1)} (${(100 * probe.coreShare!).toFixed(0)}% of the plain one, below ${100 * CORE_SHARED_BELOW}% in ${probe.sharedSamples} of ${probe.pairedSamples} samples)` : "";
    log(`  peak probe (${probe.build}): median ${probe.median.toFixed(1)} GFLOP/s, ${probe.low.toFixed(1)}–${probe.high.toFixed(1)} over ${probe.samples} samples${busy}`);
  }
  return { cells: cases.map((cs) => cs.cell), probe };
}

// ---- training ------------------------------------------------------------------

/** Peak probe samples wasmgrad-wasm takes between batches in each timed epoch (full runs). */
const EPOCH_PROBE_SAMPLES = 10;

/**
 * How many batches the timed rounds take, from the warm-up's speed: whole epochs
 * (0) when one is short enough, else enough batches for ~8 s (evaluation ~3 s).
 */
function timingPlan(w: EpochReply, e: EvalReply, batchesPerEpoch: number, testBatches: number, quick: boolean) {
  const perBatch = w.seconds / w.batches;
  const perEvalBatch = e.seconds / e.batches;
  const estEpoch = perBatch * batchesPerEpoch;
  const estEval = perEvalBatch * testBatches;
  const train = quick
    ? clamp(Math.floor(0.8 / perBatch), 2, 20)
    : estEpoch <= 15 ? 0 : clamp(Math.ceil(8 / perBatch), 10, batchesPerEpoch);
  const ev = quick
    ? clamp(Math.floor(0.3 / perEvalBatch), 1, 8)
    : estEval <= 6 ? 0 : clamp(Math.ceil(3 / perEvalBatch), 5, testBatches);
  return { perBatch, estEpoch, train, ev };
}

async function trainPhase(live: Live[], opts: Options, dataDir: string): Promise<TrainingResult> {
  const q = opts.quick;
  const repeats = q ? 2 : 3;
  const errors: TrainingResult["errors"] = {};
  let sizes = { trainSize: 0, testSize: 0, batchesPerEpoch: 0 };
  const afterLoad: TrainingResult["peakRssAfterLoadBytes"] = {};
  const ok: Live[] = [];
  for (const c of live) {
    try {
      const s = await c.child.request<{ trainSize: number; testSize: number; batchesPerEpoch: number; loadSeconds: number }>({ cmd: "train_setup", dir: dataDir, seed: 0 });
      sizes = { trainSize: s.trainSize, testSize: s.testSize, batchesPerEpoch: s.batchesPerEpoch };
      const m = await c.child.request<StatsReply>({ cmd: "stats" });
      afterLoad[c.name] = m.maxRssBytes;
      log(`  ${c.name}: data loaded and model built in ${s.loadSeconds.toFixed(2)} s (peak RSS ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB)`);
      ok.push(c);
    } catch (e) {
      errors[c.name] = (e as Error).message;
    }
  }
  const testBatches = Math.ceil(sizes.testSize / 256);
  // Warm-up: a few batches and evaluation batches each, which also size the timed runs.
  const plan = new Map<ContenderName, { train: number; eval: number }>();
  let afterWarmup = 0;
  for (const c of ok) {
    try {
      const w = await c.child.request<EpochReply>({ cmd: "train_epoch", maxBatches: q ? 2 : 10 });
      const e = await c.child.request<EvalReply>({ cmd: "eval", maxBatches: q ? 1 : 3 });
      if (c.name === "wasmgrad-wasm") afterWarmup = w.highWater ?? 0;
      const { perBatch, estEpoch, train, ev } = timingPlan(w, e, sizes.batchesPerEpoch, testBatches, q);
      plan.set(c.name, { train: train >= sizes.batchesPerEpoch ? 0 : train, eval: ev >= testBatches ? 0 : ev });
      log(`  ${c.name}: warm-up ${(perBatch * 1000).toFixed(1)} ms/batch (≈ ${estEpoch.toFixed(1)} s/epoch): timing ${train ? `${train} batches` : "full epochs"}, eval ${ev ? `${ev} batches` : "full"}`);
    } catch (e) {
      errors[c.name] = (e as Error).message;
    }
  }
  const timed = ok.filter((c) => plan.has(c.name) && !errors[c.name]);
  const epochs = new Map<ContenderName, EpochReply[]>();
  const evals = new Map<ContenderName, EvalReply[]>();
  for (let r = 0; r < repeats; r++) {
    for (const c of rotate(timed, r)) {
      if (errors[c.name]) continue;
      try {
        // With --peak-probe, wasmgrad-wasm's timed epochs also sample the peak probe pair between batches (about
        // ten times an epoch): was the core shared while it trained? (Their time is not counted.)
        const batchesNow = plan.get(c.name)!.train || sizes.batchesPerEpoch;
        const probeEvery = c.name === "wasmgrad-wasm" && !q && opts.peakProbe ? Math.max(1, Math.round(batchesNow / EPOCH_PROBE_SAMPLES)) : 0;
        const e = await c.child.request<EpochReply>({ cmd: "train_epoch", maxBatches: plan.get(c.name)!.train, ...(probeEvery ? { probeEvery } : {}) });
        (epochs.get(c.name) ?? epochs.set(c.name, []).get(c.name)!).push(e);
        const shared = e.coreShares ? `, core shared in ${e.coreShares.filter((x) => x < CORE_SHARED_BELOW).length}/${e.coreShares.length} probe samples` : "";
        log(`  round ${r + 1}/${repeats} ${c.name}: ${e.batches} batches in ${e.seconds.toFixed(2)} s (${(e.images / e.seconds).toFixed(0)} images/s, loss ${e.loss.toFixed(3)}${shared})`);
      } catch (err) {
        errors[c.name] = (err as Error).message;
      }
    }
    for (const c of rotate(timed, r)) {
      if (errors[c.name]) continue;
      try {
        const e = await c.child.request<EvalReply>({ cmd: "eval", maxBatches: plan.get(c.name)!.eval });
        (evals.get(c.name) ?? evals.set(c.name, []).get(c.name)!).push(e);
      } catch (err) {
        errors[c.name] = (err as Error).message;
      }
    }
  }
  const result: TrainingResult = {
    ...sizes, epoch: {}, eval: {}, peakRssBytes: {}, peakRssAfterLoadBytes: afterLoad, rssAtEndBytes: {}, highWater: null, errors,
  };
  // Scaled to the full 60 000-image epoch / 10 000-image test set (the bundled subset is smaller).
  const epochImages = sizes.trainSize === 60000 || sizes.trainSize === 0 ? sizes.trainSize : 60000;
  const evalImages = sizes.testSize === 10000 || sizes.testSize === 0 ? sizes.testSize : 10000;
  for (const c of timed) {
    const es = epochs.get(c.name);
    if (es?.length) {
      const perEpoch = es.map((e) => (e.seconds / e.images) * epochImages);
      const p = plan.get(c.name)!;
      const last = es[es.length - 1]!;
      const s: EpochSummary = {
        mode: p.train === 0 && epochImages === sizes.trainSize ? "full" : "partial",
        batchesPerRepeat: p.train || sizes.batchesPerEpoch,
        repeats: es.length,
        epochSeconds: median(perEpoch), epochSecondsLow: Math.min(...perEpoch), epochSecondsHigh: Math.max(...perEpoch),
        imagesPerSecond: median(es.map((e) => e.images / e.seconds)),
        dataShare: median(es.map((e) => e.dataSeconds / e.seconds)),
        lastLoss: last.loss, lastAccuracy: last.accuracy,
        raw: es.map((e) => ({
          seconds: e.seconds, batches: e.batches, images: e.images, dataSeconds: e.dataSeconds, highWater: e.highWater,
          ...(e.coreShares ? { coreShares: e.coreShares } : {}),
        })),
      };
      result.epoch[c.name] = s;
    }
    const vs = evals.get(c.name);
    if (vs?.length) {
      const p = plan.get(c.name)!;
      result.eval[c.name] = {
        mode: p.eval === 0 && evalImages === sizes.testSize ? "full" : "partial",
        batchesPerRepeat: p.eval || testBatches,
        repeats: vs.length,
        seconds: median(vs.map((v) => (v.seconds / v.images) * evalImages)),
        imagesPerSecond: median(vs.map((v) => v.images / v.seconds)),
        accuracy: vs[vs.length - 1]!.accuracy,
      } satisfies EvalSummary;
    }
  }
  for (const c of ok) {
    try {
      const s = await c.child.request<StatsReply>({ cmd: "stats" });
      result.peakRssBytes[c.name] = s.maxRssBytes;
      result.rssAtEndBytes[c.name] = s.rssBytes;
      if (c.name === "wasmgrad-wasm" && s.memory) result.memoryStats = { ...s.memory };
    } catch (e) {
      errors[c.name] ??= (e as Error).message;
    }
  }
  const wes = epochs.get("wasmgrad-wasm");
  if (wes?.length) result.highWater = { afterWarmup, afterEpoch: wes.map((e) => e.highWater ?? 0) };
  const wasm = ok.find((c) => c.name === "wasmgrad-wasm");
  if (wasm && opts.profile && !errors["wasmgrad-wasm"]) {
    try {
      const p = await wasm.child.request<ProfileReply>({ cmd: "profile_epoch", maxBatches: q ? 20 : 0 });
      result.profile = { seconds: p.seconds, batches: p.batches, rows: profileRows(p) };
      log(`  profile: ${p.batches} batches in ${p.seconds.toFixed(2)} s`);
    } catch (e) {
      log(`  profile failed: ${(e as Error).message}`);
    }
  }
  return result;
}

/** Kernel families summed (each with its kernels), then each phase's wall time and its TS (non-kernel) part, then GC. */
function profileRows(p: ProfileReply): { name: string; seconds: number; calls: number }[] {
  type Row = { name: string; seconds: number; calls: number };
  const families = new Map<string, { total: Row; kernels: Row[] }>();
  const phases: Row[] = [];
  let gc: Row | null = null;
  for (const [key, v] of Object.entries(p.families)) {
    if (key.startsWith("phase: ")) phases.push({ name: `phase: ${key.slice(7)}`, ...v });
    else if (key.startsWith("phase-ts: ")) phases.push({ name: "&nbsp;&nbsp;of which TS (outside kernels)", seconds: v.seconds, calls: 0 });
    else if (key.startsWith("gc: ")) gc = { name: "GC pauses (V8), inside the phases", seconds: v.seconds, calls: 0 };
    else if (v.calls > 0) {
      const cut = key.indexOf(": ");
      const family = key.slice(0, cut);
      const f = families.get(family) ?? { total: { name: `kernels: ${family}`, seconds: 0, calls: 0 }, kernels: [] };
      f.total.seconds += v.seconds;
      f.total.calls += v.calls;
      f.kernels.push({ name: `&nbsp;&nbsp;${key.slice(cut + 2)}`, ...v });
      families.set(family, f);
    }
  }
  const all = [...families.values()].sort((a, b) => b.total.seconds - a.total.seconds);
  const kernelSeconds = all.reduce((s, f) => s + f.total.seconds, 0);
  const rows: Row[] = [{ name: "**all Wasm kernels**", seconds: kernelSeconds, calls: all.reduce((s, f) => s + f.total.calls, 0) }];
  for (const f of all) rows.push(f.total, ...f.kernels.sort((a, b) => b.seconds - a.seconds));
  rows.push({ name: "**TypeScript layer and the rest (epoch − kernels)**", seconds: p.seconds - kernelSeconds, calls: 0 });
  rows.push(...phases);
  if (gc) rows.push(gc);
  return rows;
}

// ---- main ----------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const cpu = cpuInfo();
  const notes: string[] = [];
  const data = findData();
  if (data.note) notes.push(data.note);
  if (opts.quick) {
    notes.push(
      "QUICK RUN: GEMM on 256×784×256 and 256×256×10 only, fewer samples; training timed on a few batches per contender " +
        "(≤ 20) × 2 rounds and scaled to an epoch; the evaluation on a few batches scaled to 10 000 images. Use `npm run bench` for the real figures.",
    );
  }
  if (opts.tsx) notes.push("--tsx: the JS contenders ran under tsx, whose loader adds ~40 MiB to their peak RSS");
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  log(`wasmgrad bench suite: ${opts.quick ? "quick" : "full"} run; ${cpu.cpu} (${cpu.detail}); node ${process.version}`);
  const launcher = await prepareLauncher(opts, notes);
  const avx512 = cpu.flags.has("avx512f");

  const results: Results = {
    date: new Date().toISOString(),
    mode: opts.quick ? "quick" : "full",
    command,
    threads: opts.threads,
    machine: { cpu: cpu.cpu, cpuDetail: cpu.detail, logicalCpus: cpus().length, memoryGiB: totalmem() / 2 ** 30, os: `${type()} ${release()}` },
    versions: { wasmgrad: `0.1.0 @ ${gitDescribe()}`, node: process.version },
    contenders: {},
    data: { ...data, dir: data.full ? data.dir : relative(ROOT, data.dir) },
    notes,
    gemm: null,
    probe: null,
    training: null,
    targets: [],
    seconds: 0,
    phaseSeconds: {},
    loadAverage: { start: loadavg()[0]!, end: NaN },
  };
  const record = (live: Live[]) => {
    for (const c of live) {
      results.contenders[c.name] = { threads: c.info.threads, versions: c.info.versions };
      const v = c.info.versions;
      if (v["@tensorflow/tfjs"]) results.versions["tfjs"] = v["@tensorflow/tfjs"];
      if (v["@tensorflow/tfjs-backend-wasm"]) results.versions["tfjs-backend-wasm"] = v["@tensorflow/tfjs-backend-wasm"];
      if (v.torch) results.versions["torch"] = `${v.torch} (python ${v.python})`;
        const blas = v["OpenBLAS config"];
      if (blas) results.versions["OpenBLAS"] = `${blas.split(" ")[1] ?? blas}, core ${v["OpenBLAS core"]}`;
    }
  };

  let announced = false;
  const stopAll = async (live: Live[]) => {
    for (const c of live) await c.child.close();
  };
  if (opts.gemm) {
    log("GEMM (each contender in its own process):");
    const live = await startAll(opts, launcher, avx512, notes, !announced);
    announced = true;
    record(live);
    const g0 = performance.now();
    try {
      // The probe's quiet-machine figure is known for the CPU these benchmarks were written on.
      const g = await gemmPhase(live, opts, /family 6 model 207\b/.test(cpu.detail));
      results.gemm = g.cells;
      results.probe = g.probe;
      if (g.probe?.note) notes.push(`wasmgrad-wasm: ${g.probe.note}`);
    } finally {
      await stopAll(live);
    }
    results.phaseSeconds.gemm = (performance.now() - g0) / 1000;
  }
  if (opts.train) {
    log(`Training (fresh processes, so that each one's peak RSS is its training run's): data ${data.dir}`);
    const live = await startAll(opts, launcher, avx512, notes, !announced);
    announced = true;
    record(live);
    const t1 = performance.now();
    try {
      results.training = await trainPhase(live, opts, data.dir);
    } finally {
      await stopAll(live);
    }
    results.phaseSeconds.training = (performance.now() - t1) / 1000;
    const n = results.training.trainSize;
    if (n !== 60000 && !data.note) {
      notes.push(`${data.dir} holds ${n} training images, not Fashion-MNIST's 60 000: epoch times are scaled to 60 000 images by images/s`);
    }
  }
  for (const [name, info] of Object.entries(results.contenders)) {
    if (info!.threads !== opts.threads && name === "torch") {
      notes.push(`${name} ran on ${info!.threads} thread(s), not the ${opts.threads} asked for`);
    }
  }
  if (!results.contenders.torch && opts.only.has("torch") && !notes.some((n) => n.startsWith("PyTorch skipped"))) notes.push("PyTorch skipped");
  results.seconds = (performance.now() - t0) / 1000;
  results.loadAverage.end = loadavg()[0]!;
  results.targets = checkTargets(results);
  const md = renderMarkdown(results);
  process.stdout.write(`\n${md}`);
  if (opts.write) {
    writeFileSync(join(ROOT, "bench/RESULTS.md"), md);
    writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote bench/RESULTS.md and bench/results.json (${results.seconds.toFixed(0)} s)`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
