// wasmgrad's benchmark suite (issue 4): GEMM, one training epoch of the d2l
// dropout MLP, the test-set evaluation and memory, for wasmgrad (Wasm and JS
// backends), TensorFlow.js 4.22 (wasm and cpu) and PyTorch (when
// /usr/bin/python3 can import torch), each in a process of its own, interleaved.
//
//   npm run bench                  full run (several minutes); writes bench/RESULTS.md and bench/results.json
//   npm run bench -- --quick       under a minute: fewer shapes and samples, partial epochs scaled
//   npm run bench -- --threads 4   wasmgrad's setNumThreads(4) (and torch's)
//
// Other flags: --only wasmgrad-wasm,torch, --no-torch, --no-gemm, --no-train,
// --no-write, --tsx (the JS contenders under tsx instead of an
// esbuild bundle), --help. A noisy machine's diagnostic: npm run bench:gemm -- --peak-probe.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ChildContender } from "./child.ts";
import { gemmPhase, log, trainPhase, type Live } from "./phases.ts";
import type { InfoReply } from "./contender.ts";
import { CONTENDERS, checkTargets, renderMarkdown, type ContenderName, type Results } from "./report.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../..");
const PYTHON = "/usr/bin/python3";

interface Options {
  quick: boolean;
  threads: number;
  only: Set<ContenderName>;
  gemm: boolean;
  train: boolean;
  write: boolean;
  tsx: boolean;
}

const HELP = `npm run bench -- [--quick] [--threads N] [--only a,b] [--no-torch] [--no-gemm] [--no-train] [--no-write] [--tsx]
contenders: ${CONTENDERS.join(", ")}`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { quick: false, threads: 1, only: new Set(CONTENDERS), gemm: true, train: true, write: true, tsx: false };
  const switches: Record<string, () => void> = {
    "--quick": () => (o.quick = true), "--no-torch": () => o.only.delete("torch"), "--no-gemm": () => (o.gemm = false),
    "--no-train": () => (o.train = false), "--no-write": () => (o.write = false),
    "--tsx": () => (o.tsx = true), "--help": () => (console.log(HELP), process.exit(0)),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i] ?? fail(`${a} needs a value`));
    if (switches[a]) switches[a]();
    else if (a.startsWith("--threads")) {
      o.threads = Number(value());
      if (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > 256) fail(`--threads must be a positive integer, got ${o.threads}`);
    } else if (a.startsWith("--only")) {
      const names = value().split(",").map((s) => s.trim()).filter(Boolean);
      for (const n of names) if (!(CONTENDERS as readonly string[]).includes(n)) fail(`--only: unknown contender ${n} (${CONTENDERS.join(", ")})`);
      o.only = new Set(names as ContenderName[]);
    } else fail(`unknown argument ${a}\n${HELP}`);
  }
  return o;
}

// ---- the machine ---------------------------------------------------------------

function cpuInfo(): { cpu: string; detail: string; avx512: boolean } {
  const text = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  const flags = new Set(field("flags").split(/\s+/));
  const isa = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"].filter((f) => flags.has(f));
  const detail = [text && `family ${field("cpu family")} model ${field("model")} stepping ${field("stepping")}`, flags.has("hypervisor") ? "virtualised" : "", isa.join(" ")];
  return { cpu: field("model name") || (cpus()[0]?.model ?? "unknown CPU"), detail: detail.filter(Boolean).join(", "), avx512: flags.has("avx512f") };
}

/** HEAD, and whether the tree differs from it (the suite's own outputs aside). */
function gitDescribe(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" }, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  try {
    const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/RESULTS.md", ":(exclude)bench/results.json");
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes" : ""}`;
  } catch {
    return "unknown";
  }
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

// ---- contender processes -------------------------------------------------------

/** The JS contenders' command: worker.ts bundled (tfjs left external) and run under plain node, or under tsx. */
async function workerCommand(tsx: boolean): Promise<string[]> {
  const entry = join(HERE, "worker.ts");
  if (tsx) return ["--import", "tsx", entry];
  const { build } = await import("esbuild");
  const outfile = join(ROOT, "node_modules/.cache/wasmgrad-bench/worker.mjs");
  mkdirSync(dirname(outfile), { recursive: true });
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", target: "node20", outfile, external: ["@tensorflow/*"], logLevel: "error" });
  return [outfile];
}

/** The OPENBLAS_CORETYPE the first torch start settled on, reused by later starts. */
let torchCoretype = process.env.BENCH_OPENBLAS_CORETYPE;

async function start(name: ContenderName, opts: Options, worker: string[], avx512: boolean, notes: string[]): Promise<Live | null> {
  const launch = async (coretype?: string) => {
    let child: ChildContender;
    if (name === "torch") {
      const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: `${opts.threads}`, OPENBLAS_NUM_THREADS: `${opts.threads}`, MKL_NUM_THREADS: `${opts.threads}` };
      // Set on these machines for other work: the bench's PyTorch gets OpenBLAS's own choice, or the one forced.
      delete env.OPENBLAS_CORETYPE;
      delete env.OPENBLAS_L2_SIZE;
      if (coretype) env.OPENBLAS_CORETYPE = coretype;
      child = new ChildContender(name, PYTHON, [join(HERE, "torch_worker.py"), `${opts.threads}`], env, true);
    } else child = new ChildContender(name, process.execPath, [...worker, name, `${opts.threads}`], process.env);
    try {
      return { name, child, info: await child.request<InfoReply>({ cmd: "info" }, 120) };
    } catch (e) {
      await child.close();
      throw new Error(`${(e as Error).message.split("\n")[0]}${child.stderrTail.length ? ` (${child.stderrTail.at(-1)})` : ""}`);
    }
  };
  try {
    if (name === "torch" && !existsSync(PYTHON)) throw new Error(`${PYTHON} not found`);
    let live = await launch(torchCoretype);
    const core = live.info.versions["OpenBLAS core"];
    // OpenBLAS 0.3.21 does not know newer CPUs and falls back to an SSE3 kernel there.
    if (name === "torch" && !torchCoretype && core && avx512 && !/skylakex|cooperlake|sapphirerapids/i.test(core)) {
      await live.child.close();
      torchCoretype = "SkylakeX";
      live = await launch(torchCoretype);
      notes.push(`PyTorch: OpenBLAS autodetected the "${core}" core on this AVX-512 CPU, so the suite set OPENBLAS_CORETYPE=SkylakeX (override with BENCH_OPENBLAS_CORETYPE)`);
    }
    for (const n of live.info.notes) notes.push(`${name}: ${n}`);
    return live;
  } catch (e) {
    notes.push(`${name} skipped: ${(e as Error).message}`);
    return null;
  }
}

/** Fresh processes for a phase (so that each one's peak RSS is that phase's), stopped after it. */
async function withContenders<T>(opts: Options, worker: string[], results: Results, fn: (live: Live[]) => Promise<T>): Promise<T> {
  const notes: string[] = [];
  const live: Live[] = [];
  for (const name of CONTENDERS) {
    const c = opts.only.has(name) ? await start(name, opts, worker, cpuInfo().avx512, notes) : null;
    if (c) live.push(c);
  }
  for (const n of notes) if (!results.notes.includes(n)) results.notes.push(n);
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

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const cpu = cpuInfo();
  const data = findData();
  const notes = [data.note ?? ""].filter(Boolean);
  if (opts.quick) notes.push("QUICK RUN: 2 GEMM shapes, fewer samples; training and evaluation timed on a few batches and scaled. Use `npm run bench` for the real figures.");
  if (opts.tsx) notes.push("--tsx: the JS contenders ran under tsx, whose loader adds ~40 MiB to their peak RSS");
  log(`wasmgrad bench suite: ${opts.quick ? "quick" : "full"} run; ${cpu.cpu} (${cpu.detail}); node ${process.version}`);
  const worker = await workerCommand(opts.tsx);
  const results: Results = {
    date: new Date().toISOString(), mode: opts.quick ? "quick" : "full",
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`, threads: opts.threads,
    machine: { cpu: cpu.cpu, cpuDetail: cpu.detail, logicalCpus: cpus().length, memoryGiB: totalmem() / 2 ** 30, os: `${type()} ${release()}` },
    versions: { wasmgrad: `0.1.0 @ ${gitDescribe()}`, node: process.version }, contenders: {},
    data: { ...data, dir: data.full ? data.dir : relative(ROOT, data.dir) }, notes,
    gemm: null, training: null, targets: [], seconds: 0, phaseSeconds: {}, loadAverage: { start: loadavg()[0]!, end: NaN },
  };
  if (opts.gemm) {
    log("GEMM (each contender in its own process):");
    const g0 = performance.now();
    results.gemm = await withContenders(opts, worker, results, (live) => gemmPhase(live, opts.quick));
    results.phaseSeconds.gemm = (performance.now() - g0) / 1000;
  }
  if (opts.train) {
    log(`Training (fresh processes): data ${data.dir}`);
    const t1 = performance.now();
    results.training = await withContenders(opts, worker, results, (live) => trainPhase(live, opts.quick, data.dir));
    results.phaseSeconds.training = (performance.now() - t1) / 1000;
    const n = results.training.trainSize;
    if (n !== 60000 && data.full) notes.push(`${data.dir} holds ${n} training images, not 60 000: epoch times are scaled to 60 000 images by images/s`);
  }
  const torch = results.contenders.torch;
  if (torch && torch.threads !== opts.threads) notes.push(`torch ran on ${torch.threads} thread(s), not the ${opts.threads} asked for`);
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
