// Soak: does a long training run hold its memory flat?
//
//   npm run bench:soak                          (builds the module first)
//   npx tsx bench/soak.ts [--steps 20000] [--every 1000] [--backend wasm|js]
//
// Trains d2l's dropout MLP (784-256-256-10, dropout 0.2 / 0.5, weights N(0, 0.01²),
// SGD lr 0.5, batch 256) on Fashion-MNIST (the full set when installed, else the
// bundled 6 000-image subset) the way a user writes the loop: no dispose(), no
// keep(), the loss and accuracy read after every step, the test accuracy
// evaluated from time to time. Every `--every` steps it prints memoryStats()
// and the process's resident set size, then a verdict: flat after the first
// row (the warm-up), or which figure grew. Exit code 1 when one grew.

import { pathToFileURL } from "node:url";
import { data, manualSeed, memoryStats, nn, setBackend, type BackendName, type Tensor } from "../src/index.ts";
import { buildMlp, evaluateAccuracy, makeOptimizer, trainEpoch } from "../src/training.ts";

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
const mib = (bytes: number) => (bytes / MiB).toFixed(2);

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

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`soak: ${name} takes a positive integer, got ${args[i + 1]}`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const steps = flag(args, "--steps", 20_000);
  const every = flag(args, "--every", Math.min(1000, steps));
  const backendAt = args.indexOf("--backend");
  const backend = (backendAt === -1 ? "wasm" : args[backendAt + 1]) as BackendName;
  setBackend(backend);
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
