// wasmgrad's benchmark suite (issue 4): GEMM, the d2l MLP's epoch, evaluation and memory, against
// TensorFlow.js and PyTorch, each contender a process of its own, interleaved (docs/benchmark-design.md).
//   npm run bench -- [--quick] [--threads N] [--only wasmgrad-wasm,torch] [--no-torch] [--no-gemm] [--no-train] [--no-write]

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { dirname, join, relative } from "node:path";
import { flag, gitDescribe, hasFlag, intFlag } from "../stats.ts";
import { ChildContender } from "./child.ts";
import type { InfoReply } from "./contender.ts";
import { gemmPhase, log, trainPhase, type Live } from "./phases.ts";
import { CONTENDERS, checkTargets, renderMarkdown, type ContenderName, type Results } from "./report.ts";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "../..");
const PYTHON = "/usr/bin/python3";
const quick = hasFlag("--quick");
const threads = intFlag("--threads", 1);
const only = new Set(flag("--only", CONTENDERS.join(",")).split(",").filter((c) => !(hasFlag("--no-torch") && c === "torch")));

function cpuInfo(): { cpu: string; detail: string; avx512: boolean } {
  const text = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  const flags = new Set(field("flags").split(/\s+/));
  const isa = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"].filter((f) => flags.has(f));
  const detail = [text && `family ${field("cpu family")} model ${field("model")} stepping ${field("stepping")}`, flags.has("hypervisor") ? "virtualised" : "", isa.join(" ")];
  return { cpu: field("model name") || (cpus()[0]?.model ?? "unknown CPU"), detail: detail.filter(Boolean).join(", "), avx512: flags.has("avx512f") };
}

function findData(): Results["data"] {
  const files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
  for (const d of [process.env.FASHION_MNIST_DIR, "/usr/share/datasets/fashion-mnist"]) {
    if (d && files.every((f) => existsSync(join(d, f)) || existsSync(join(d, `${f}.gz`)))) return { dir: d, full: true };
  }
  return {
    dir: join(ROOT, "data/fashion-mnist-subset"), full: false,
    note: "the full Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or FASHION_MNIST_DIR): trained on the bundled 6000 / 1000-image subset, times scaled to a 60 000-image epoch by images/s",
  };
}

/** worker.ts bundled (tfjs left external) to run under plain node: tsx's loader would add ~40 MiB to the JS contenders' peak RSS. */
async function bundleWorker(): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = join(ROOT, "node_modules/.cache/wasmgrad-bench/worker.mjs");
  mkdirSync(dirname(outfile), { recursive: true });
  await build({ entryPoints: [join(HERE, "worker.ts")], bundle: true, platform: "node", format: "esm", target: "node20", outfile, external: ["@tensorflow/*"], logLevel: "error" });
  return outfile;
}

/** The OPENBLAS_CORETYPE the first torch start settled on, reused by later starts. */
let torchCoretype = process.env.BENCH_OPENBLAS_CORETYPE;

async function launch(name: ContenderName, worker: string, coretype?: string): Promise<Live> {
  // OPENBLAS_* are set on these machines for other work: the bench's PyTorch gets OpenBLAS's own choice, or the one forced.
  const { OPENBLAS_CORETYPE: _, OPENBLAS_L2_SIZE: __, ...env } = process.env;
  const n = `${threads}`;
  const child = name === "torch"
    ? new ChildContender(name, PYTHON, [join(HERE, "torch_worker.py"), n], { ...env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n, ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}) }, true)
    : new ChildContender(name, process.execPath, [worker, name, n], process.env);
  try {
    return { name, child, info: await child.request<InfoReply>({ cmd: "info" }, 120) };
  } catch (e) {
    await child.close();
    throw new Error(`${(e as Error).message.split("\n")[0]}${child.stderrTail.length ? ` (${child.stderrTail.at(-1)})` : ""}`);
  }
}

async function start(name: ContenderName, worker: string, notes: string[]): Promise<Live | null> {
  try {
    if (name === "torch" && !existsSync(PYTHON)) throw new Error(`${PYTHON} not found`);
    let live = await launch(name, worker, torchCoretype);
    const core = live.info.versions["OpenBLAS core"];
    // OpenBLAS 0.3.21 does not know newer CPUs and falls back to an SSE3 kernel there.
    if (name === "torch" && !torchCoretype && core && cpuInfo().avx512 && !/skylakex|cooperlake|sapphirerapids/i.test(core)) {
      await live.child.close();
      live = await launch(name, worker, (torchCoretype = "SkylakeX"));
      notes.push(`PyTorch: OpenBLAS autodetected the "${core}" core on this AVX-512 CPU, so the suite set OPENBLAS_CORETYPE=SkylakeX (override with BENCH_OPENBLAS_CORETYPE)`);
    }
    notes.push(...live.info.notes.map((n) => `${name}: ${n}`));
    return live;
  } catch (e) {
    notes.push(`${name} skipped: ${(e as Error).message}`);
    return null;
  }
}

/** Fresh processes for a phase (so that each one's peak RSS is that phase's), stopped after it. */
async function withContenders<T>(worker: string, results: Results, fn: (live: Live[]) => Promise<T>): Promise<T> {
  const notes: string[] = [];
  const live: Live[] = [];
  for (const name of CONTENDERS.filter((c) => only.has(c))) {
    const c = await start(name, worker, notes);
    if (c) live.push(c);
  }
  results.notes.push(...notes.filter((n) => !results.notes.includes(n)));
  for (const c of live) {
    results.contenders[c.name] = { threads: c.info.threads, versions: c.info.versions };
    const v = c.info.versions;
    if (v["@tensorflow/tfjs"]) results.versions.tfjs = v["@tensorflow/tfjs"];
    if (v.torch) results.versions.torch = `${v.torch} (python ${v.python})`;
    if (v["OpenBLAS config"]) results.versions.OpenBLAS = `${v["OpenBLAS config"].split(" ")[1]}, core ${v["OpenBLAS core"]}`;
  }
  try {
    return await fn(live);
  } finally {
    for (const c of live) await c.child.close();
  }
}

const t0 = performance.now();
const cpu = cpuInfo();
const data = findData();
const notes = [data.note ?? ""].filter(Boolean);
if (quick) notes.push("QUICK RUN: 2 GEMM shapes, fewer samples; training and evaluation timed on a few batches and scaled. Use `npm run bench` for the real figures.");
log(`wasmgrad bench suite: ${quick ? "quick" : "full"} run; ${cpu.cpu} (${cpu.detail}); node ${process.version}`);
const worker = await bundleWorker();
const results: Results = {
  date: new Date().toISOString(), mode: quick ? "quick" : "full",
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`, threads,
  machine: { cpu: cpu.cpu, cpuDetail: cpu.detail, logicalCpus: cpus().length, memoryGiB: totalmem() / 2 ** 30, os: `${type()} ${release()}` },
  versions: { wasmgrad: `${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version} @ ${gitDescribe()}`, node: process.version }, contenders: {},
  data: { ...data, dir: data.full ? data.dir : relative(ROOT, data.dir) }, notes,
  gemm: null, training: null, targets: [], seconds: 0, phaseSeconds: {}, loadAverage: { start: loadavg()[0]!, end: NaN },
};
/** A phase in fresh contender processes, timed. */
async function phase<K extends "gemm" | "training">(key: K, title: string, fn: (live: Live[]) => Promise<NonNullable<Results[K]>>): Promise<void> {
  log(title);
  const p0 = performance.now();
  results[key] = await withContenders(worker, results, fn);
  results.phaseSeconds[key] = (performance.now() - p0) / 1000;
}
if (!hasFlag("--no-gemm")) await phase("gemm", "GEMM (each contender in its own process):", (live) => gemmPhase(live, quick));
if (!hasFlag("--no-train")) await phase("training", `Training (fresh processes): data ${data.dir}`, (live) => trainPhase(live, quick, data.dir));
const n = results.training?.trainSize ?? 60000;
if (n !== 60000 && data.full) notes.push(`${data.dir} holds ${n} training images, not 60 000: epoch times are scaled to 60 000 images by images/s`);
const torch = results.contenders.torch;
if (torch && torch.threads !== threads) notes.push(`torch ran on ${torch.threads} thread(s), not the ${threads} asked for`);
results.seconds = (performance.now() - t0) / 1000;
results.loadAverage.end = loadavg()[0]!;
results.targets = checkTargets(results);
const md = renderMarkdown(results);
process.stdout.write(`\n${md}`);
if (!hasFlag("--no-write")) {
  writeFileSync(join(ROOT, "bench/RESULTS.md"), md);
  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote bench/RESULTS.md and bench/results.json (${results.seconds.toFixed(0)} s)`);
}
