// Soak: does a long run hold its memory flat with nothing but the loop
// (no dispose(), keep(), gc() or await)? Exit code 1 when a figure grew.
//
//   npx tsx bench/soak.ts [--steps 20000] [--every 1000] [--backend wasm|js]
//       d2l's dropout MLP on Fashion-MNIST, trained by the shared trainEpoch:
//       memoryStats() and RSS every --every steps, then a verdict;
//   npx tsx bench/soak.ts --shapes [--steps 20000] [--every 2000] [--backend wasm|js]
//       every loop shape of test/helpers/loop-shapes.ts, each in a process of
//       its own: liveTensors / highWater every --every iterations.

import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { data, manualSeed, memoryStats, nn, setBackend, type BackendName, type Tensor } from "../src/index.ts";
import { buildMlp, evaluateAccuracy, makeOptimizer, trainEpoch } from "../src/training.ts";
import { LOOP_SHAPES } from "../test/helpers/loop-shapes.ts";
import { flag, hasFlag, intFlag } from "./stats.ts";

export interface SoakRow {
  step: number;
  liveTensors: number;
  liveBytes: number;
  pooledBytes: number;
  highWater: number;
  heapBytes: number;
  /** The process's resident set size: the Wasm heap, V8's heap and everything else. */
  rssBytes: number;
  /** Mean training loss and accuracy over the steps since the previous row. */
  loss: number;
  trainAccuracy: number;
  /** Accuracy on the test set, evaluated at the row (NaN without a test set). */
  testAccuracy: number;
  stepsPerSecond: number;
}

export interface SoakOptions {
  steps: number;
  every: number;
  batchSize?: number;
  seed?: number;
  /** Called with each row as it is measured (for printing progress). */
  onRow?: (row: SoakRow) => void;
}

type Split = data.Dataset<Tensor[]> | data.Dataset<[Tensor, Tensor]>;

/** Trains the MLP for `steps` steps over `train` (epoch after epoch, the shared trainEpoch) and returns a row every `every` steps. */
export async function soak(train: Split, test: Split | null, opts: SoakOptions): Promise<SoakRow[]> {
  const { steps, every, batchSize = 256, seed = 0 } = opts;
  manualSeed(seed);
  const net = buildMlp();
  const opt = makeOptimizer(net, { lr: 0.5 });
  const lossFn = new nn.CrossEntropyLoss();
  const loader = new data.DataLoader(train as data.Dataset<[Tensor, Tensor]>, { batchSize, shuffle: true });
  const testLoader = test && new data.DataLoader(test as data.Dataset<[Tensor, Tensor]>, { batchSize: 1000 });

  const rows: SoakRow[] = [];
  let step = 0;
  // The epoch's running sums at the previous row, to report each row's own means.
  let last = { images: 0, loss: 0, correct: 0 };
  let since = performance.now();
  while (step < steps) {
    last = { images: 0, loss: 0, correct: 0 };
    await trainEpoch(net, loader, opt, lossFn, {
      maxBatches: steps - step,
      onBatch: (p) => {
        step++;
        if (step % every !== 0 && step !== steps) return;
        const lossSum = p.trainLoss * p.images;
        const correct = p.trainAcc * p.images;
        const seen = p.images - last.images;
        const s = memoryStats();
        const now = performance.now();
        const row: SoakRow = {
          step, ...s, rssBytes: process.memoryUsage().rss,
          loss: (lossSum - last.loss) / seen, trainAccuracy: (correct - last.correct) / seen,
          testAccuracy: testLoader ? evaluateAccuracy(net, testLoader) : NaN,
          stepsPerSecond: (step - (rows.at(-1)?.step ?? 0)) / ((now - since) / 1000),
        };
        net.train(); // evaluateAccuracy left the net in eval mode mid-epoch
        rows.push(row);
        opts.onRow?.(row);
        last = { images: p.images, loss: lossSum, correct };
        since = performance.now();
      },
    });
  }
  return rows;
}

/** The figures that must not grow, and how much each may: RSS moves with V8's garbage collector. */
const FIGURES: { key: keyof SoakRow; name: string; slackBytes: (first: number) => number }[] = [
  { key: "liveTensors", name: "liveTensors", slackBytes: () => 0 },
  { key: "liveBytes", name: "liveBytes", slackBytes: () => 0 },
  { key: "pooledBytes", name: "pooledBytes", slackBytes: () => 0 },
  { key: "highWater", name: "highWater", slackBytes: () => 0 },
  { key: "heapBytes", name: "heapBytes", slackBytes: () => 0 },
  { key: "rssBytes", name: "RSS", slackBytes: (first) => Math.max(16 << 20, 0.05 * first) },
];

/**
 * Flat = no figure trends upward after the warm-up rows: the later half of the
 * rows never exceeds the largest value of the earlier half (by more than the
 * figure's slack). Not "every row equal": liveBytes and pooledBytes dip when a
 * row falls on an epoch's short last batch, whose tensors are smaller.
 */
export function soakVerdict(rows: readonly SoakRow[], warmupRows = 1): { flat: boolean; findings: string[] } {
  const after = rows.slice(warmupRows);
  if (after.length < 2) return { flat: false, findings: [`need at least ${warmupRows + 2} rows to judge, got ${rows.length}`] };
  const half = Math.ceil(after.length / 2);
  const findings: string[] = [];
  for (const f of FIGURES) {
    const values = after.map((r) => r[f.key] as number);
    const ceiling = Math.max(...values.slice(0, half));
    const later = Math.max(...values.slice(half));
    const grew = later - ceiling;
    if (grew > f.slackBytes(values[0])) {
      findings.push(`${f.name} grew: ${ceiling} by step ${after[half - 1].step}, ${later} later (+${grew})`);
    }
  }
  return { flat: findings.length === 0, findings };
}

// ---- the command line -----------------------------------------------------------

const MiB = 1 << 20;
const mib = (bytes: number, digits = 2) => (bytes / MiB).toFixed(digits);

const COLUMNS: [string, (r: SoakRow) => string][] = [
  ["step", (r) => String(r.step)],
  ["liveTensors", (r) => String(r.liveTensors)],
  ["liveBytes MiB", (r) => mib(r.liveBytes)],
  ["pooledBytes MiB", (r) => mib(r.pooledBytes)],
  ["highWater MiB", (r) => mib(r.highWater)],
  ["heapBytes MiB", (r) => mib(r.heapBytes)],
  ["RSS MiB", (r) => mib(r.rssBytes)],
  ["loss", (r) => r.loss.toFixed(4)],
  ["train acc", (r) => r.trainAccuracy.toFixed(3)],
  ["test acc", (r) => r.testAccuracy.toFixed(3)],
  ["steps/s", (r) => r.stepsPerSecond.toFixed(0)],
];

async function main(): Promise<void> {
  const steps = intFlag("--steps", 20_000);
  const backend = flag("--backend", "wasm") as BackendName;
  setBackend(backend);
  if (hasFlag("--shapes")) return soakShapes(steps, intFlag("--every", Math.min(2000, steps)), backend);
  const every = intFlag("--every", Math.min(1000, steps));
  const train = await data.fashionMnist({ train: true });
  const test = await data.fashionMnist({ train: false });
  console.log(`# soak: d2l dropout MLP 784-256-256-10, SGD lr 0.5, batch 256, ${steps} steps, ${backend} backend`);
  console.log(`Fashion-MNIST: ${train.length} training / ${test.length} test images; node ${process.version}`);
  console.log("");
  console.log(`| ${COLUMNS.map(([h]) => h).join(" | ")} |`);
  console.log(`|${COLUMNS.map(() => "---:").join("|")}|`);
  const rows = await soak(train, test, {
    steps, every,
    onRow: (r) => console.log(`| ${COLUMNS.map(([, cell]) => cell(r)).join(" | ")} |`),
  });
  const { flat, findings } = soakVerdict(rows);
  console.log("");
  if (flat) {
    console.log(
      `verdict: FLAT. After the first ${every} steps no figure rose above its earlier maximum ` +
        "(liveTensors, liveBytes, pooledBytes, highWater, heapBytes by not one byte; RSS by less than max(16 MiB, 5%)).",
    );
  } else {
    console.log(`verdict: NOT FLAT.\n${findings.map((f) => `  - ${f}`).join("\n")}`);
    process.exitCode = 1;
  }
}

// ---- every loop shape, each in a process of its own ---------------------------------

/** Runs loop shape `index` for `steps` iterations in this process; liveTensors and highWater every `every`. */
function soakShape(index: number, steps: number, every: number): { marks: { liveTensors: number; highWater: number }[]; msPerIteration: number } {
  const step = LOOP_SHAPES[index]!.setup();
  const marks: { liveTensors: number; highWater: number }[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    step();
    if (i % every === 0) {
      const { liveTensors, highWater } = memoryStats();
      marks.push({ liveTensors, highWater });
    }
  }
  return { marks, msPerIteration: (performance.now() - t0) / steps };
}

function soakShapes(steps: number, every: number, backend: BackendName): void {
  const child = flag("--shape", "");
  if (child !== "") {
    process.stdout.write(JSON.stringify(soakShape(Number(child), steps, every)));
    return;
  }
  console.log(`# soak of every loop shape: ${steps} iterations each, ${backend} backend, node ${process.version}`);
  console.log("# cells: liveTensors / highWater MiB; no dispose(), keep(), gc() or await in any loop\n");
  const cols = Array.from({ length: Math.floor(steps / every) }, (_, i) => (i + 1) * every);
  console.log(`| shape | ${cols.join(" | ")} | ms/iter | flat |`);
  console.log(`|---|${cols.map(() => "---:").join("|")}|---:|:---:|`);
  const grew: string[] = [];
  LOOP_SHAPES.forEach((shape, index) => {
    const args = ["--import", "tsx", process.argv[1]!, "--shapes", "--shape", String(index), "--steps", String(steps), "--every", String(every), "--backend", backend];
    const run = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
    if (run.status !== 0) {
      console.log(`| ${shape.name} | failed: ${(run.stderr || "").trim().split("\n").slice(0, 3).join(" ")} |`);
      grew.push(shape.name);
      return;
    }
    const { marks, msPerIteration } = JSON.parse(run.stdout) as ReturnType<typeof soakShape>;
    const [first, ...rest] = marks;
    const flat = rest.every((m) => m.liveTensors === first!.liveTensors && m.highWater === first!.highWater);
    if (!flat) grew.push(shape.name);
    const cells = marks.map((m) => `${m.liveTensors} / ${mib(m.highWater, 3)}`);
    console.log(`| ${shape.name} | ${cells.join(" | ")} | ${msPerIteration.toFixed(3)} | ${flat ? "yes" : "NO"} |`);
  });
  console.log("");
  if (grew.length === 0) console.log(`verdict: FLAT. Every shape held liveTensors and highWater exactly from iteration ${every} to ${steps}.`);
  else {
    console.log(`verdict: NOT FLAT: ${grew.join("; ")}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
