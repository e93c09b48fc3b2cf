// `wasmgrad weight-decay`: runWeightDecay once per λ, with a progress bar per
// run, a table of selected epochs, the final losses and ‖w‖ next to PyTorch's
// range, JSON lines and the chapter's semilog figure.

import { weightDecayEpochs, type WeightDecayOptions, type WeightDecayResult } from "../experiments/weight-decay.ts";
import { place, weightDecayReference, type SeedStats, type WeightDecayReference } from "../experiments/reference.ts";
import type { WeightDecayArgs } from "./args.ts";
import { backendLabel, type Context } from "./context.ts";
import { interrupted } from "./interrupt.ts";
import { loadPlot } from "./plot-loader.ts";
import { yieldToEventLoop } from "./progress.ts";
import { MARKS_LEGEND, marked, num, printTable, statsText, type Cell, type Column } from "./style.ts";

export interface WeightDecayRun {
  /** "λ = 3", or the book's variant label: names the progress bar and the figure's panel. */
  label: string;
  /** The run's name in the tables ("3" under "λ"); default: label. */
  cell?: string;
  opts: WeightDecayOptions & { epochs: number; lr: number };
}

export interface WeightDecayOutcome {
  label: string;
  cell: string;
  result: WeightDecayResult;
  /** Epochs planned (the result's history is shorter when stopped). */
  epochs: number;
  reference?: WeightDecayReference;
}

/** Epochs shown in the per-epoch table: 1, 2, 5, 10, 20, 50, 100, … and the last. */
function shownEpoch(epoch: number, last: number): boolean {
  if (epoch === last) return true;
  const decade = 10 ** Math.floor(Math.log10(epoch));
  return [1, 2, 5].some((m) => m * decade === epoch);
}

export function describeWeightDecay(opts: { penalty?: string; via?: string; epochs: number; lr: number; batchSize?: number; seed?: number }, backend: string): string {
  const penalty = opts.penalty === "l1" ? "L1 penalty λ·Σ|w|" : "L2 penalty λ·‖w‖²/2";
  const via = opts.via === "optimizer" ? "applied by SGD (weight only)" : "in the loss";
  return `${penalty} ${via}, ${opts.epochs} epochs, lr ${opts.lr}, batch ${opts.batchSize ?? 1}, seed ${opts.seed ?? 0}, ${backend} backend`;
}

/** Runs each variant in turn; Ctrl-C stops after the current epoch and keeps what was computed. */
export async function runWeightDecaySet(
  runs: WeightDecayRun[], ctx: Context, { epochTable, labelTitle }: { epochTable: boolean; labelTitle: string },
): Promise<{ outcomes: WeightDecayOutcome[]; stopped: boolean }> {
  const outcomes: WeightDecayOutcome[] = [];
  const epochRows: Cell[][] = [];
  let stopped = false;
  for (const run of runs) {
    if (interrupted()) {
      stopped = true;
      break;
    }
    const { label, opts } = run;
    const cell = run.cell ?? label;
    const t0 = performance.now();
    ctx.progress.start(opts.epochs, { label, unit: "epochs", rate: "", info: "" });
    const steps = weightDecayEpochs(opts);
    let step = steps.next();
    while (!step.done) {
      const e = step.value;
      const seconds = (performance.now() - t0) / 1000;
      ctx.emit({
        type: "epoch", experiment: "weight-decay", label, lambd: opts.lambd, penalty: opts.penalty ?? "l2", via: opts.via ?? "loss",
        epoch: e.epoch, trainLoss: e.trainLoss, testLoss: e.testLoss, seconds,
      });
      ctx.progress.update(e.epoch, {
        rate: `${Math.round(e.epoch / Math.max(seconds, 1e-9))} epochs/s`,
        info: `train ${num(e.trainLoss)} test ${num(e.testLoss)}`,
      });
      if (epochTable) epochRows.push([cell, String(e.epoch), num(e.trainLoss), num(e.testLoss), seconds.toFixed(2)]);
      // Lets the bar redraw and Ctrl-C's handler run between epochs.
      await yieldToEventLoop();
      if (interrupted()) stopped = true;
      step = steps.next(stopped);
    }
    ctx.progress.stop();
    const result = step.value;
    const last = result.history.length;
    if (epochTable) {
      // Keep the shown epochs of this run only.
      const mine = epochRows.splice(epochRows.length - last, last);
      epochRows.push(...mine.filter((r) => shownEpoch(Number(r[1]), last)));
    }
    outcomes.push({
      label, cell, result, epochs: opts.epochs,
      reference: last === opts.epochs
        ? weightDecayReference({ lambd: opts.lambd, penalty: opts.penalty ?? "l2", via: opts.via ?? "loss", epochs: opts.epochs, lr: opts.lr, batchSize: opts.batchSize })
        : undefined,
    });
    if (stopped) break;
  }

  if (epochTable && epochRows.length) {
    const columns: Column[] = [
      { title: labelTitle, align: "left" }, { title: "epoch", align: "right" }, { title: "train loss", align: "right" },
      { title: "test loss", align: "right" }, { title: "seconds", align: "right" },
    ];
    ctx.out(ctx.p.bold("Per epoch") + ctx.p.dim(" (1, 2, 5, 10, 20, 50, … and the last)"));
    printTable(columns, epochRows, ctx.p, (l) => ctx.out(l));
    ctx.out();
  }
  return { outcomes, stopped };
}

/** The final table: losses, ‖w‖ and sparsity per variant, with PyTorch's range where the settings are the book's. */
export function printWeightDecayResults(outcomes: WeightDecayOutcome[], ctx: Context, labelTitle: string): void {
  if (!outcomes.length) return;
  const withRef = outcomes.some((o) => o.reference);
  const { p } = ctx;
  const columns: Column[] = [{ title: labelTitle, align: "left" }, { title: "epochs", align: "right" }];
  columns.push({ title: "train loss", align: "right" });
  if (withRef) columns.push({ title: "PyTorch", align: "left" });
  columns.push({ title: "test loss", align: "right" });
  if (withRef) columns.push({ title: "PyTorch", align: "left" });
  columns.push({ title: "‖w‖", align: "right" });
  if (withRef) columns.push({ title: "PyTorch", align: "left" });
  columns.push({ title: "|w|<1e-3", align: "right" }, { title: "seconds", align: "right" });
  const rows = outcomes.map((o) => {
    const r = o.result;
    const epochs = r.history.length === o.epochs ? String(o.epochs) : `${r.history.length}/${o.epochs}`;
    const row: Cell[] = [o.cell, epochs, marked(p, r.trainLoss, o.reference?.train)];
    if (withRef) row.push({ text: o.reference ? statsText(r.trainLoss, o.reference.train) : "—", paint: p.dim });
    row.push(marked(p, r.testLoss, o.reference?.test));
    if (withRef) row.push({ text: o.reference ? statsText(r.testLoss, o.reference.test) : "—", paint: p.dim });
    row.push(marked(p, r.wNorm, o.reference?.wNorm));
    if (withRef) row.push({ text: o.reference ? statsText(r.wNorm, o.reference.wNorm) : "—", paint: p.dim });
    row.push(`${(r.sparsity * 100).toFixed(0)}%`, r.seconds.toFixed(2));
    return row;
  });
  const seeds = outcomes.find((o) => o.reference)?.reference?.seeds;
  ctx.out(ctx.p.bold("Final train/test loss and ‖w‖"));
  if (withRef) ctx.out(ctx.p.dim(`PyTorch 1.13, ${seeds} seeds with the book's settings: ${MARKS_LEGEND}`));
  printTable(columns, rows, p, (l) => ctx.out(l));
}

export function weightDecayJson(o: WeightDecayOutcome): Record<string, unknown> {
  const r = o.result;
  const judged = (x: number, s: SeedStats) => ({ ...s, ...place(x, s) });
  return {
    label: o.label, lambd: r.lambd, penalty: r.penalty, via: r.via, epochs: r.history.length, epochsPlanned: o.epochs,
    trainLoss: r.trainLoss, testLoss: r.testLoss, wNorm: r.wNorm, sparsity: r.sparsity, seconds: r.seconds,
    reference: o.reference
      ? {
          key: o.reference.key, seeds: o.reference.seeds,
          train: judged(r.trainLoss, o.reference.train), test: judged(r.testLoss, o.reference.test),
          wNorm: judged(r.wNorm, o.reference.wNorm), sparsity: judged(r.sparsity, o.reference.sparsity),
        }
      : null,
  };
}

export const lambdLabel = (lambd: number) => `λ = ${lambd}`;

export async function weightDecayCommand(args: WeightDecayArgs, ctx: Context): Promise<{ stopped: boolean }> {
  const runs: WeightDecayRun[] = args.lambd.map((lambd) => ({
    label: lambdLabel(lambd),
    cell: String(lambd),
    opts: { lambd, penalty: args.penalty, via: args.via, epochs: args.epochs, lr: args.lr, batchSize: args.batchSize, seed: args.seed },
  }));
  ctx.out(ctx.p.bold("Weight decay") + " (d2l): linear regression, 200 inputs, 20 training / 100 test examples");
  ctx.out(ctx.p.dim(describeWeightDecay({ ...args }, backendLabel())));
  ctx.out();
  const { outcomes, stopped } = await runWeightDecaySet(runs, ctx, { epochTable: true, labelTitle: "λ" });
  if (stopped) ctx.out(ctx.p.warn("Interrupted: the results so far.") + "\n");
  printWeightDecayResults(outcomes, ctx, "λ");
  const plot = args.plot ?? null;
  if (plot && outcomes.length) {
    const { weightDecaySpec, writeSvg } = await loadPlot();
    const penalty = args.penalty === "l1" ? "L1" : "L2";
    await writeSvg(plot, weightDecaySpec(outcomes.map((o) => ({ label: o.label, history: o.result.history })),
      `Weight decay (${penalty} ${args.via === "optimizer" ? "by SGD" : "in the loss"}): train and test loss`));
    ctx.out(`\nPlot: ${plot}`);
  }
  ctx.emit({
    type: "summary", command: "weight-decay",
    settings: { lambd: args.lambd, penalty: args.penalty, via: args.via, epochs: args.epochs, lr: args.lr, batchSize: args.batchSize, seed: args.seed, backend: args.backend },
    results: outcomes.map(weightDecayJson), stopped, plot: plot && outcomes.length ? plot : null,
  });
  return { stopped };
}
