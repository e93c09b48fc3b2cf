// `wasmgrad dropout`: trainDropoutMlp with a progress bar per epoch, a row per
// epoch next to PyTorch's range (book settings, full data set), JSON lines,
// the loss/accuracy figure and the saved model.

import { renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describeError, IOError } from "../errors.ts";
import { saveSafetensors } from "../io.ts";
import { trainDropoutMlp, type MlpOptions } from "../experiments/dropout.ts";
import type { EpochStats } from "../training.ts";
import { FULL_FASHION_MNIST, mlpReference, type MlpReference, type SeedStats } from "../experiments/reference.ts";
import { getNumThreads, setNumThreads, type nn } from "../index.ts";
import type { CommonArgs, DropoutArgs } from "./args.ts";
import { backendLabel, type Context } from "./context.ts";
import { interrupted } from "./interrupt.ts";
import { loadPlot } from "./plot-loader.ts";
import { yieldToEventLoop } from "./progress.ts";
import { fixed, MARKS_LEGEND, marked, num, statsText, StreamTable, type Cell, type Column } from "./style.ts";

export type ResolvedMlpOptions = MlpOptions & Required<Pick<MlpOptions, "dropout" | "hidden" | "lr" | "batchSize" | "epochs" | "weightDecay" | "optimizer" | "momentum" | "l1" | "seed">>;

/** The options with the optimizer's defaults filled in (SGD lr 0.5; Adam/AdamW lr 1e-3; AdamW weight decay 1e-2). */
export function resolveMlpOptions(a: Omit<DropoutArgs, "command" | keyof CommonArgs> & { seed: number }): ResolvedMlpOptions {
  return {
    dropout: a.dropout, hidden: a.hidden, optimizer: a.optimizer, momentum: a.momentum, l1: a.l1,
    lr: a.lr ?? (a.optimizer === "sgd" ? 0.5 : 1e-3),
    weightDecay: a.weightDecay ?? (a.optimizer === "adamw" ? 1e-2 : 0),
    batchSize: a.batchSize, epochs: a.epochs, seed: a.seed, root: a.data, maxBatchesPerEpoch: a.limitBatches,
  };
}

const OPTIMIZER_NAMES = { sgd: "SGD", adam: "Adam", adamw: "AdamW" } as const;

export function describeMlp(o: ResolvedMlpOptions, backend: string): string {
  const opt = OPTIMIZER_NAMES[o.optimizer];
  const extras = [
    o.momentum ? `momentum ${o.momentum}` : "", o.weightDecay ? `weight decay ${o.weightDecay}` : "", o.l1 ? `L1 ${o.l1}` : "",
  ].filter(Boolean);
  return `784-${o.hidden[0]}-${o.hidden[1]}-10, dropout ${o.dropout[0]}/${o.dropout[1]}, ${opt} lr ${o.lr}${extras.length ? ", " + extras.join(", ") : ""}, ` +
    `batch ${o.batchSize}, ${o.epochs} epoch${o.epochs === 1 ? "" : "s"}, seed ${o.seed}, ${backend} backend`;
}

export interface MlpOutcome {
  net: nn.Sequential;
  history: EpochStats[];
  trainSize: number;
  testSize: number;
  stopped: boolean;
  reference?: MlpReference;
  /** Whether the reference applies: the book's settings on the full data set. */
  comparable: boolean;
}

type TrainCallbacks = Required<Pick<MlpOptions, "onStart" | "onBatch" | "onEpoch">>;

/** What runMlp trains: the dropout MLP by default; `wasmgrad lenet` passes LeNet. */
export interface Experiment {
  name: string;
  reference: MlpReference | undefined;
  /** Said under the data line when PyTorch's ranges apply. */
  note: string;
  train(callbacks: TrainCallbacks): Promise<Omit<MlpOutcome, "reference" | "comparable">>;
}

function dropoutExperiment(o: ResolvedMlpOptions): Experiment {
  return {
    name: "dropout",
    reference: mlpReference(o),
    note: "test accuracy swings ±0.05 between epochs at lr 0.5",
    train: (callbacks) => trainDropoutMlp({ ...o, ...callbacks }),
  };
}

/** Trains a model with progress, per-epoch rows (text) or records (JSON); Ctrl-C stops after the current batch. */
export async function runMlp(
  o: { batchSize: number; epochs: number; root?: string }, ctx: Context, how: Experiment = dropoutExperiment(o as ResolvedMlpOptions),
): Promise<MlpOutcome> {
  const { p } = ctx;
  const reference = how.reference;
  let comparable = false;
  let table: StreamTable | null = null;
  let epoch = 1;
  const refAt = (e: number) => (comparable ? reference?.epochs.find((r) => r.epoch === e) : undefined);

  const result = await how.train({
    onStart(info) {
      comparable = reference !== undefined && info.trainSize === FULL_FASHION_MNIST.train && info.testSize === FULL_FASHION_MNIST.test &&
        info.batchesPerEpoch === Math.ceil(info.trainSize / o.batchSize);
      ctx.out(p.dim(`Data: ${info.trainSize} training / ${info.testSize} test images${o.root ? ` from ${o.root}` : ""}, ${info.batchesPerEpoch} batches per epoch`));
      if (reference && comparable) {
        ctx.out(p.dim(`PyTorch 1.13, ${reference.seeds} seeds with these settings: ${MARKS_LEGEND}; ${how.note}`));
      } else if (reference && info.batchesPerEpoch < Math.ceil(info.trainSize / o.batchSize)) {
        ctx.out(p.dim("PyTorch's ranges hold for whole epochs; this run stops each epoch early, so they are left out."));
      } else if (reference) {
        ctx.out(p.dim(`PyTorch's ranges hold for the full ${FULL_FASHION_MNIST.train}/${FULL_FASHION_MNIST.test}-image set; this run has ${info.trainSize}/${info.testSize}, so they are left out.`));
      }
      ctx.out();
      const columns: Column[] = [{ title: "epoch", align: "right", width: 5 }];
      const withRef = comparable;
      columns.push({ title: "train loss", align: "right", width: 7 });
      if (withRef) columns.push({ title: "PyTorch", align: "left", width: 22 });
      columns.push({ title: "train acc", align: "right", width: 7 });
      if (withRef) columns.push({ title: "PyTorch", align: "left", width: 22 });
      columns.push({ title: "test acc", align: "right", width: 7 });
      if (withRef) columns.push({ title: "PyTorch", align: "left", width: 22 });
      columns.push({ title: "seconds", align: "right", width: 7 }, { title: "images/s", align: "right", width: 8 });
      table = new StreamTable(columns, p, (l) => ctx.out(l));
      table.header();
    },
    onBatch({ batch, total, trainLoss, imagesPerSecond }) {
      if (batch === 1) ctx.progress.start(total, { label: `epoch ${epoch}/${o.epochs}`, unit: "batches", rate: "", info: "" });
      ctx.progress.update(batch, { rate: `${Math.round(imagesPerSecond)} img/s`, info: `loss ${trainLoss.toFixed(4)}` });
      // Lets the bar redraw and Ctrl-C's handler run; a Ctrl-C stops training after this batch.
      return yieldToEventLoop().then(() => !interrupted());
    },
    onEpoch(s) {
      ctx.progress.stop();
      const partial = s.batches < s.batchesPerEpoch;
      ctx.emit({ type: "epoch", experiment: how.name, ...s, complete: !partial });
      // PyTorch's numbers are for whole epochs: an epoch cut short gets no ✓/✗.
      const ref = partial ? undefined : refAt(s.epoch);
      const refCell = (x: number, r: SeedStats | undefined): Cell => ({ text: r ? statsText(x, r, (v) => fixed(v)) : "—", paint: p.dim });
      const row: Cell[] = [partial ? `${s.epoch}*` : String(s.epoch), marked(p, s.trainLoss, ref?.trainLoss, (x) => fixed(x))];
      if (comparable) row.push(refCell(s.trainLoss, ref?.trainLoss));
      row.push(marked(p, s.trainAcc, ref?.trainAcc, (x) => fixed(x)));
      if (comparable) row.push(refCell(s.trainAcc, ref?.trainAcc));
      row.push(marked(p, s.testAcc, ref?.testAcc, (x) => fixed(x)));
      if (comparable) row.push(refCell(s.testAcc, ref?.testAcc));
      row.push(s.seconds.toFixed(2), String(Math.round(s.imagesPerSecond)));
      table?.row(row);
      if (partial) ctx.out(p.dim(`  * stopped after ${s.batches} of ${s.batchesPerEpoch} batches`));
      epoch = s.epoch + 1;
    },
  });
  ctx.progress.stop();
  return { ...result, reference, comparable };
}

export function mlpJson(o: ResolvedMlpOptions, r: MlpOutcome, backend: string): Record<string, unknown> {
  return {
    settings: {
      dropout: o.dropout, hidden: o.hidden, optimizer: o.optimizer, lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, l1: o.l1,
      batchSize: o.batchSize, epochs: o.epochs, seed: o.seed, backend, data: o.root ?? null,
      ...(o.maxBatchesPerEpoch !== undefined ? { limitBatches: o.maxBatchesPerEpoch } : {}),
    },
    data: { trainSize: r.trainSize, testSize: r.testSize },
    history: r.history,
    final: r.history.at(-1) ?? null,
    reference: r.reference ? { key: r.reference.key, comparable: r.comparable, seeds: r.reference.seeds, epochs: r.reference.epochs } : null,
    stopped: r.stopped,
  };
}

export function printMlpFinal(r: MlpOutcome, ctx: Context): void {
  const last = r.history.at(-1);
  if (!last) return;
  const seconds = r.history.reduce((a, s) => a + s.seconds, 0);
  ctx.out();
  ctx.out(
    `${ctx.p.bold("Final")}: train loss ${fixed(last.trainLoss)}, train acc ${fixed(last.trainAcc)}, test acc ${fixed(last.testAcc)} ` +
      `after ${r.history.length} epoch${r.history.length === 1 ? "" : "s"}${r.stopped ? " (stopped)" : ""}, ${num(seconds)} s`,
  );
}

export async function dropoutCommand(args: DropoutArgs, ctx: Context): Promise<{ stopped: boolean }> {
  const threads = useThreads(args, ctx);
  const o = resolveMlpOptions(args);
  ctx.out(ctx.p.bold("Dropout MLP on Fashion-MNIST") + " (d2l)");
  ctx.out(ctx.p.dim(describeMlp(o, backendLabel()) + (threads > 1 ? `, ${threads} threads` : "")));
  const r = await runMlp(o, ctx);
  if (r.stopped) ctx.out(ctx.p.warn("Interrupted: the results so far."));
  printMlpFinal(r, ctx);
  const plot = args.plot && r.history.length ? args.plot : null;
  if (plot) {
    const { mlpSpec, writeSvg } = await loadPlot();
    await writeSvg(plot, mlpSpec(r.history, `Dropout MLP on Fashion-MNIST (${describeShort(o)})`));
    ctx.out(`Plot: ${plot}`);
  }
  const saved = args.save ? await saveModel(r.net, args.save, o, r, args.backend, ctx) : null;
  ctx.emit({ type: "summary", command: "dropout", ...mlpJson(o, r, args.backend), threads, plot, saved });
  return { stopped: r.stopped };
}

/** Threads a run takes without --threads: one per logical CPU, at most 8 (past that the epoch gains little; see bench/epoch.ts --profile). */
export const DEFAULT_MAX_THREADS = 8;

export function defaultThreads(): number {
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, availableParallelism()));
}

/**
 * --threads N: setNumThreads(N) for the wasm backend (the matrix products and
 * large elementwise calls run on N threads, bitwise the same results). Without
 * --threads the wasm backend takes defaultThreads(). Returns the thread count in
 * effect; where threads are unavailable setNumThreads has said why, on stderr.
 */
export function useThreads(args: Pick<DropoutArgs, "threads" | "backend">, ctx: Context): number {
  const asked = args.threads;
  if (args.backend !== "wasm") {
    if (asked !== undefined && asked > 1) ctx.note(`--threads ${asked}: the ${args.backend} backend runs on 1 thread (threads are the wasm backend's)`);
    return 1;
  }
  const want = asked ?? defaultThreads();
  setNumThreads(want);
  const got = getNumThreads();
  if (asked !== undefined && got !== asked) ctx.note(`--threads ${asked}: running on ${got} thread${got === 1 ? "" : "s"}`);
  return got;
}

export const describeShort = (o: ResolvedMlpOptions) =>
  `dropout ${o.dropout[0]}/${o.dropout[1]}, ${OPTIMIZER_NAMES[o.optimizer]} lr ${o.lr}${o.weightDecay ? `, wd ${o.weightDecay}` : ""}`;

/**
 * Writes the model's state dict (nn.Sequential's names, as PyTorch's: "1.weight",
 * "1.bias", "4.weight", …) as safetensors, with the settings and the last epoch's
 * figures in the header's metadata. Written to a temporary file and renamed, so an
 * existing file is never left half-overwritten.
 */
async function saveModel(net: nn.Sequential, path: string, o: ResolvedMlpOptions, r: MlpOutcome, backend: string, ctx: Context): Promise<string> {
  const last = r.history.at(-1);
  const metadata: Record<string, string> = {
    format: "pt",
    producer: "wasmgrad dropout",
    architecture: `Flatten, Linear(784,${o.hidden[0]}), ReLU, Dropout(${o.dropout[0]}), Linear(${o.hidden[0]},${o.hidden[1]}), ReLU, Dropout(${o.dropout[1]}), Linear(${o.hidden[1]},10)`,
    settings: JSON.stringify(mlpJson(o, r, backend).settings),
    epochs: String(r.history.length),
    stopped: String(r.stopped),
    ...(last ? { train_loss: String(last.trainLoss), train_acc: String(last.trainAcc), test_acc: String(last.testAcc) } : {}),
  };
  const bytes = saveSafetensors(net.stateDict(), metadata);
  writeOrKeep(path, bytes);
  ctx.out(`Model: ${path} (${bytes.length} bytes, safetensors)`);
  return path;
}

/**
 * Writes bytes to path through a temporary file and a rename. --save was found
 * writable before training; should the write fail anyway (the disk filled, the
 * directory went), the bytes go to the system's temporary directory and the
 * error names that file, so a trained model is never lost.
 */
export function writeOrKeep(path: string, bytes: Uint8Array): void {
  const partial = `${path}.${process.pid}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    const fallback = join(tmpdir(), `wasmgrad-${process.pid}-${basename(path)}`);
    writeFileSync(fallback, bytes);
    throw new IOError(`could not write ${path} (${describeError(error)}): the trained model was saved to ${fallback} instead`, { cause: error });
  }
}
