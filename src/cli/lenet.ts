// `wasmgrad lenet`: d2l's LeNet on Fashion-MNIST with a progress bar per epoch,
// a row per epoch next to PyTorch's seed range (book settings, full data set),
// JSON lines, the loss/accuracy figure and the saved model.

import { saveSafetensors } from "../io.ts";
import { trainLenet } from "../experiments/lenet.ts";
import { lenetReference } from "../experiments/reference.ts";
import type { LenetArgs } from "./args.ts";
import { backendLabel, type Context } from "./context.ts";
import { printMlpFinal, runMlp, useThreads, writeOrKeep, type MlpOutcome } from "./dropout.ts";

export async function lenetCommand(args: LenetArgs, ctx: Context): Promise<{ stopped: boolean }> {
  const threads = useThreads(args, ctx);
  const o = { lr: args.lr, batchSize: args.batchSize, epochs: args.epochs, seed: args.seed, root: args.data, maxBatchesPerEpoch: args.limitBatches };
  ctx.out(ctx.p.bold("LeNet on Fashion-MNIST") + " (d2l)");
  ctx.out(ctx.p.dim(
    `sigmoid, average pooling, Xavier-uniform weights, SGD lr ${o.lr}, batch ${o.batchSize}, ${o.epochs} epoch${o.epochs === 1 ? "" : "s"}, ` +
      `seed ${o.seed}, ${backendLabel()} backend${threads > 1 ? `, ${threads} threads` : ""}`,
  ));
  const r = await runMlp(o, ctx, {
    name: "lenet",
    reference: lenetReference(o),
    note: "epoch 1 is still near chance (loss ≈ 2.3) at lr 0.9",
    train: (callbacks) => trainLenet({ ...o, ...callbacks }),
  });
  if (r.stopped) ctx.out(ctx.p.warn("Interrupted: the results so far."));
  printMlpFinal(r, ctx);
  const plot = args.plot && r.history.length ? args.plot : null;
  if (plot) {
    const { mlpSpec, writeSvg } = await import("./plot.ts");
    await writeSvg(plot, mlpSpec(r.history, `LeNet on Fashion-MNIST (SGD lr ${o.lr})`));
    ctx.out(`Plot: ${plot}`);
  }
  const saved = args.save ? save(r, args.save, ctx) : null;
  const settings = { lr: o.lr, batchSize: o.batchSize, epochs: o.epochs, seed: o.seed, backend: args.backend, data: o.root ?? null };
  ctx.emit({
    type: "summary", command: "lenet", settings, threads, plot, saved,
    data: { trainSize: r.trainSize, testSize: r.testSize }, history: r.history, final: r.history.at(-1) ?? null,
    reference: r.reference ? { key: r.reference.key, comparable: r.comparable, seeds: r.reference.seeds, epochs: r.reference.epochs } : null,
    stopped: r.stopped,
  });
  return { stopped: r.stopped };
}

/** The state dict as safetensors (nn.Sequential's names, as PyTorch's), written as dropout writes its model (writeOrKeep). */
function save(r: MlpOutcome, path: string, ctx: Context): string {
  const last = r.history.at(-1);
  const bytes = saveSafetensors(r.net.stateDict(), {
    format: "pt",
    producer: "wasmgrad lenet",
    epochs: String(r.history.length),
    ...(last ? { train_loss: String(last.trainLoss), test_acc: String(last.testAcc) } : {}),
  });
  writeOrKeep(path, bytes);
  ctx.out(`Model: ${path} (${bytes.length} bytes, safetensors)`);
  return path;
}
