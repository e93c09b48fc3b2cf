// What the memory rule's bookkeeping (use stamps, graph cells, boundary sweeps)
// costs per training step, as a ratio to a baseline commit, interleaved in one
// process: blocks of steps alternate between the two copies of the library.
//
//   npx tsx bench/memory-overhead.ts [--base <git rev>] [--rounds 15] [--steps 20]
//
// The baseline's src/ is extracted with `git archive` into a temporary folder
// (the generated files, ignored by git, are copied from this tree: the
// kernels are the same). Prints the median ms per step of each and the ratio.

import { execSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "./stats.ts";

type Lib = typeof import("../src/index.ts");

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
}

const root = resolve(import.meta.dirname, "..");
const base = flag("--base", "main");
const rounds = Number(flag("--rounds", "15"));
const steps = Number(flag("--steps", "20"));

async function baseline(): Promise<Lib> {
  const dir = mkdtempSync(join(tmpdir(), "wasmgrad-base-"));
  execSync(`git archive ${base} src | tar -x -C ${dir}`, { cwd: root });
  for (const f of readdirSync(join(root, "src/backend"))) {
    if (f.includes(".generated.")) cpSync(join(root, "src/backend", f), join(dir, "src/backend", f));
  }
  return (await import(join(dir, "src/index.ts"))) as Lib;
}

/** d2l's training step (train_epoch_ch3): forward, loss, zeroGrad, backward, step, then the loss and accuracy read. */
function trainer(lib: Lib, layers: number[], batch: number, dropout: boolean): () => void {
  const { data, manualSeed, nn, noGrad, optim, randn, tensor } = lib;
  manualSeed(0);
  const n = batch * 8;
  const ds = new data.TensorDataset(randn([n, layers[0]]), tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % layers.at(-1)!)));
  const loader = new data.DataLoader(ds, { batchSize: batch, shuffle: true });
  const mods: InstanceType<Lib["nn"]["Module"]>[] = [];
  for (let i = 1; i < layers.length; i++) {
    mods.push(new nn.Linear(layers[i - 1], layers[i]));
    if (i < layers.length - 1) {
      mods.push(new nn.ReLU());
      if (dropout) mods.push(new nn.Dropout(0.2));
    }
  }
  const net = new nn.Sequential(...mods);
  const opt = new optim.SGD(net.parameters(), { lr: 0.1 });
  const lossFn = new nn.CrossEntropyLoss();
  let it = loader[Symbol.iterator]();
  return () => {
    let next = it.next();
    if (next.done) next = (it = loader[Symbol.iterator]()).next();
    const [X, y] = next.value!;
    const logits = net.forward(X);
    const loss = lossFn.forward(logits, y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    loss.item();
    noGrad(() => logits.argmax(1).eq(y).sum().item());
  };
}


async function main(): Promise<void> {
  const libs = { base: await baseline(), new: (await import("../src/index.ts")) as Lib };
  const loops = [
    { name: "d2l dropout MLP 784-256-256-10, batch 256", layers: [784, 256, 256, 10], batch: 256, dropout: true },
    { name: "small MLP 20-32-3, batch 64 (per-op overhead dominates)", layers: [20, 32, 3], batch: 64, dropout: false },
  ];
  console.log(`# memory bookkeeping cost per training step: this tree vs ${base}, ${rounds} interleaved rounds of ${steps} steps`);
  console.log("| loop | base ms/step | new ms/step | new / base |");
  console.log("|---|---:|---:|---:|");
  for (const loop of loops) {
    const run = { base: trainer(libs.base, loop.layers, loop.batch, loop.dropout), new: trainer(libs.new, loop.layers, loop.batch, loop.dropout) };
    for (let i = 0; i < steps; i++) { run.base(); run.new(); }
    const times: Record<"base" | "new", number[]> = { base: [], new: [] };
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (["base", "new"] as const) : (["new", "base"] as const);
      const t: Record<string, number> = {};
      for (const which of order) {
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) run[which]();
        t[which] = (performance.now() - t0) / steps;
        times[which].push(t[which]);
      }
      ratios.push(t.new / t.base);
    }
    console.log(`| ${loop.name} | ${median(times.base).toFixed(3)} | ${median(times.new).toFixed(3)} | ${median(ratios).toFixed(3)} |`);
  }
}

await main();
