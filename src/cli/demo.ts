// `wasmgrad demo` (the default): both chapters with the book's settings, each
// next to what PyTorch 1.13 measured.

import { dropoutFromScratchDemo } from "../experiments/dropout.ts";
import { BOOK_VARIANTS, BOOK_WEIGHT_DECAY_SETTINGS } from "../experiments/weight-decay.ts";
import type { DemoArgs } from "./args.ts";
import { backendLabel, type Context } from "./context.ts";
import { describeMlp, describeShort, mlpJson, printMlpFinal, resolveMlpOptions, runMlp, useThreads, type MlpOutcome } from "./dropout.ts";
import { interrupted } from "./interrupt.ts";
import { loadPlot } from "./plot-loader.ts";
import { printWeightDecayResults, runWeightDecaySet, weightDecayJson, type WeightDecayRun } from "./weight-decay.ts";

export async function demoCommand(args: DemoArgs, ctx: Context): Promise<{ stopped: boolean }> {
  const { p } = ctx;
  const book = BOOK_WEIGHT_DECAY_SETTINGS;
  const wdEpochs = args.wdEpochs ?? book.epochs;
  const runs: WeightDecayRun[] = BOOK_VARIANTS.map((v) => ({
    label: v.label,
    opts: { ...v.opts, epochs: wdEpochs, lr: book.lr, batchSize: book.batchSize, seed: args.seed },
  }));

  ctx.out(p.bold("# Weight decay") + " (d2l): linear regression, 200 inputs, 20 training / 100 test examples");
  ctx.out(p.dim(`the chapter's six variants, ${wdEpochs} epochs, lr ${book.lr}, batch ${book.batchSize}, seed ${args.seed}, ${backendLabel()} backend`));
  ctx.out();
  const wd = await runWeightDecaySet(runs, ctx, { epochTable: false, labelTitle: "variant" });
  printWeightDecayResults(wd.outcomes, ctx, "variant");

  let scratch: { p: number; out: number[][] }[] = [];
  let mlp: MlpOutcome | null = null;
  const o = resolveMlpOptions({
    dropout: [0.2, 0.5], hidden: [256, 256], optimizer: "sgd", momentum: 0, l1: 0, batchSize: 256,
    epochs: args.epochs, seed: args.seed, data: args.data, limitBatches: args.limitBatches,
  });
  if (!wd.stopped && !interrupted()) {
    scratch = dropoutFromScratchDemo(args.seed);
    ctx.out();
    ctx.out(p.bold("# Dropout from scratch") + " on arange(16).view(2, 8)");
    for (const { p: prob, out } of scratch) ctx.out(`p = ${prob}: ${JSON.stringify(out)}`);

    ctx.out();
    ctx.out(p.bold("# Dropout MLP on Fashion-MNIST") + " (d2l)");
    const threads = useThreads({ threads: undefined, backend: args.backend }, ctx);
    ctx.out(p.dim(describeMlp(o, backendLabel()) + (threads > 1 ? `, ${threads} threads` : "")));
    mlp = await runMlp(o, ctx);
    printMlpFinal(mlp, ctx);
  }
  const stopped = wd.stopped || (mlp?.stopped ?? false) || interrupted();
  if (stopped) ctx.out("\n" + p.warn("Interrupted: the results so far."));

  const plot = args.plot && wd.outcomes.length ? args.plot : null;
  if (plot) {
    const { mlpSpec, stackedSpec, weightDecaySpec, writeSvg } = await loadPlot();
    const specs = [weightDecaySpec(wd.outcomes.map((x) => ({ label: x.label, history: x.result.history })), "Weight decay: train and test loss")];
    if (mlp?.history.length) specs.push(mlpSpec(mlp.history, `Dropout MLP on Fashion-MNIST (${describeShort(o)})`));
    await writeSvg(plot, specs.length === 1 ? specs[0] : stackedSpec(specs));
    ctx.out(`\nPlot: ${plot}`);
  }
  ctx.emit({
    type: "summary", command: "demo",
    weightDecay: {
      settings: { epochs: wdEpochs, lr: book.lr, batchSize: book.batchSize, seed: args.seed, backend: args.backend },
      results: wd.outcomes.map(weightDecayJson),
    },
    dropoutFromScratch: scratch,
    dropout: mlp ? mlpJson(o, mlp, args.backend) : null,
    stopped, plot,
  });
  return { stopped };
}
