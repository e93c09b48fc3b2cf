// Soak: does a long run hold its memory flat with nothing but the loop
// (no dispose(), keep(), await or garbage-collector call)? Exit code 1 when a figure grew.
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
import { flag, hasFlag, intFlag, table } from "./stats.ts";

/** memoryStats() and RSS at a step; loss and train accuracy: means since the previous row; testAccuracy NaN without a test set. */
export interface SoakRow {
  step: number; liveTensors: number; liveBytes: number; pooledBytes: number; highWater: number; heapBytes: number; rssBytes: number;
  loss: number; trainAccuracy: number; testAccuracy: number; stepsPerSecond: number;
}

type Split = data.Dataset<Tensor[]> | data.Dataset<[Tensor, Tensor]>;

/** Trains the MLP for `steps` steps over `train` (epoch after epoch, the shared trainEpoch) and returns a row every `every` steps. */
export async function soak(train: Split, test: Split | null, opts: { steps: number; every: number; batchSize?: number; onRow?: (row: SoakRow) => void }): Promise<SoakRow[]> {
  const { steps, every, batchSize = 256 } = opts;
  manualSeed(0);
  const net = buildMlp();
  const opt = makeOptimizer(net, { lr: 0.5 });
  const lossFn = new nn.CrossEntropyLoss();
  const loader = new data.DataLoader(train as data.Dataset<[Tensor, Tensor]>, { batchSize, shuffle: true });
  const testLoader = test && new data.DataLoader(test as data.Dataset<[Tensor, Tensor]>, { batchSize: 1000 });
  const rows: SoakRow[] = [];
  let step = 0;
  let since = performance.now();
  while (step < steps) {
    // The epoch's running sums at the previous row, to report each row's own means.
    let last = { images: 0, loss: 0, correct: 0 };
    await trainEpoch(net, loader, opt, lossFn, {
      maxBatches: steps - step,
      onBatch: (p) => {
        if (++step % every !== 0 && step !== steps) return;
        const [loss, correct, seen] = [p.trainLoss * p.images, p.trainAcc * p.images, p.images - last.images];
        const row: SoakRow = {
          step, ...memoryStats(), rssBytes: process.memoryUsage().rss,
          loss: (loss - last.loss) / seen, trainAccuracy: (correct - last.correct) / seen,
          testAccuracy: testLoader ? evaluateAccuracy(net, testLoader) : NaN,
          stepsPerSecond: (step - (rows.at(-1)?.step ?? 0)) / ((performance.now() - since) / 1000),
        };
        net.train(); // evaluateAccuracy left the net in eval mode mid-epoch
        rows.push(row);
        opts.onRow?.(row);
        last = { images: p.images, loss, correct };
        since = performance.now();
      },
    });
  }
  return rows;
}

/** The figures that must not grow; RSS, which moves with V8's garbage collector, by more than max(16 MiB, 5%). */
const FIGURES = ["liveTensors", "liveBytes", "pooledBytes", "highWater", "heapBytes", "rssBytes"] as const;

/**
 * Flat = no figure trends upward after the warm-up rows: the later half of the
 * rows never exceeds the largest value of the earlier half. Not "every row
 * equal": liveBytes and pooledBytes dip on an epoch's short last batch.
 */
export function soakVerdict(rows: readonly SoakRow[], warmupRows = 1): { flat: boolean; findings: string[] } {
  const after = rows.slice(warmupRows);
  if (after.length < 2) return { flat: false, findings: [`need at least ${warmupRows + 2} rows to judge, got ${rows.length}`] };
  const half = Math.ceil(after.length / 2);
  const findings = FIGURES.flatMap((f) => {
    const values = after.map((r) => r[f]);
    const [ceiling, later] = [Math.max(...values.slice(0, half)), Math.max(...values.slice(half))];
    const slack = f === "rssBytes" ? Math.max(16 << 20, 0.05 * values[0]!) : 0;
    return later - ceiling > slack ? [`${f === "rssBytes" ? "RSS" : f} grew: ${ceiling} by step ${after[half - 1]!.step}, ${later} later (+${later - ceiling})`] : [];
  });
  return { flat: findings.length === 0, findings };
}

const mib = (bytes: number, digits = 2) => (bytes / (1 << 20)).toFixed(digits);

async function soakMlp(steps: number, backend: string): Promise<void> {
  const every = intFlag("--every", Math.min(1000, steps));
  const [train, test] = [await data.fashionMnist({ train: true }), await data.fashionMnist({ train: false })];
  console.log(`# soak: d2l dropout MLP 784-256-256-10, SGD lr 0.5, batch 256, ${steps} steps, ${backend} backend`);
  console.log(`Fashion-MNIST: ${train.length} training / ${test.length} test images; node ${process.version}\n`);
  const head = ["step", "liveTensors", "liveBytes MiB", "pooledBytes MiB", "highWater MiB", "heapBytes MiB", "RSS MiB", "loss", "train acc", "test acc", "steps/s"];
  console.log(table(head, [], []));
  const rows = await soak(train, test, {
    steps, every,
    onRow: (r) => console.log(`| ${[r.step, r.liveTensors, ...[r.liveBytes, r.pooledBytes, r.highWater, r.heapBytes, r.rssBytes].map((b) => mib(b)),
      r.loss.toFixed(4), r.trainAccuracy.toFixed(3), r.testAccuracy.toFixed(3), r.stepsPerSecond.toFixed(0)].join(" | ")} |`),
  });
  const { flat, findings } = soakVerdict(rows);
  console.log(flat
    ? `\nverdict: FLAT. After the first ${every} steps no figure rose above its earlier maximum (liveTensors, liveBytes, pooledBytes, highWater, heapBytes by not one byte; RSS by less than max(16 MiB, 5%)).`
    : `\nverdict: NOT FLAT.\n${findings.map((f) => `  - ${f}`).join("\n")}`);
  if (!flat) process.exitCode = 1;
}

/** Loop shape `index` for `steps` iterations in this process: liveTensors and highWater every `every`, and ms per iteration. */
function soakShape(index: number, steps: number, every: number) {
  const step = LOOP_SHAPES[index]!.setup();
  const marks: { liveTensors: number; highWater: number }[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    step();
    if (i % every === 0) marks.push((({ liveTensors, highWater }) => ({ liveTensors, highWater }))(memoryStats()));
  }
  return { marks, msPerIteration: (performance.now() - t0) / steps };
}

function soakShapes(steps: number, backend: string): void {
  const every = intFlag("--every", Math.min(2000, steps));
  console.log(`# soak of every loop shape: ${steps} iterations each, ${backend} backend, node ${process.version}`);
  console.log("# cells: liveTensors / highWater MiB; no dispose(), keep(), await or garbage-collector call in any loop\n");
  const grew: string[] = [];
  const rows = LOOP_SHAPES.map((shape, index) => {
    const args = ["--import", "tsx", process.argv[1]!, "--shape", String(index), "--steps", String(steps), "--every", String(every), "--backend", backend];
    const run = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
    if (run.status !== 0) {
      grew.push(shape.name);
      return [shape.name, `failed: ${(run.stderr || "").trim().split("\n").slice(0, 3).join(" ")}`];
    }
    const { marks, msPerIteration } = JSON.parse(run.stdout) as ReturnType<typeof soakShape>;
    const flat = marks.every((m) => m.liveTensors === marks[0]!.liveTensors && m.highWater === marks[0]!.highWater);
    if (!flat) grew.push(shape.name);
    return [shape.name, ...marks.map((m) => `${m.liveTensors} / ${mib(m.highWater, 3)}`), msPerIteration.toFixed(3), flat ? "yes" : "NO"];
  });
  console.log(table(["shape", ...Array.from({ length: Math.floor(steps / every) }, (_, i) => String((i + 1) * every)), "ms/iter", "flat"], rows));
  console.log(grew.length ? `\nverdict: NOT FLAT: ${grew.join("; ")}` : `\nverdict: FLAT. Every shape held liveTensors and highWater exactly from iteration ${every} to ${steps}.`);
  if (grew.length) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const steps = intFlag("--steps", 20_000);
  const backend = flag("--backend", "wasm");
  setBackend(backend as BackendName);
  if (flag("--shape", "") !== "") process.stdout.write(JSON.stringify(soakShape(Number(flag("--shape", "")), steps, intFlag("--every", 2000))));
  else if (hasFlag("--shapes")) soakShapes(steps, backend);
  else await soakMlp(steps, backend);
}
