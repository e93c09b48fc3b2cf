// DataLoader batches alone: one epoch of shuffled batches of 256 from a
// FashionMnistDataset (60000 synthetic images) and from a TensorDataset
// (X [20000, 784] float32, y int32), this tree against a commit's src/,
// in interleaved rounds in one process; medians of the per-round times.
//
//   npx tsx bench/batches.ts [--base main] [--threads 1] [--rounds 15]

import { execSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { flag, intFlag, machineLine, median, rotate, table } from "./stats.ts";

type Lib = typeof import("../src/index.ts");

/** A commit's src/ beside this tree's, with this tree's generated files (as bench/epoch.ts --base does). */
async function baseline(rev: string): Promise<Lib> {
  const root = resolve(import.meta.dirname, "..");
  const dir = mkdtempSync(join(tmpdir(), "wasmgrad-base-"));
  execSync(`git archive ${rev} src | tar -x -C ${dir}`, { cwd: root });
  for (const f of ["package.json", "tsconfig.json"]) cpSync(join(root, f), join(dir, f));
  for (const f of readdirSync(join(root, "src/backend")).filter((f) => f.includes(".generated."))) cpSync(join(root, "src/backend", f), join(dir, "src/backend", f));
  return import(join(dir, "src/index.ts"));
}

/** Seeded bytes, as bench/epoch.ts's synthetic Fashion-MNIST: only the size matters to the time. */
function bytes(n: number): Uint8Array {
  let s = 12345;
  return Uint8Array.from({ length: n }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
}

const rev = flag("--base", "main");
const threads = intFlag("--threads", 1);
const rounds = intFlag("--rounds", 15);
const pixels = bytes(60000 * 784);

/** ms for one epoch of each loader of `lib`. */
function loaders(lib: Lib): Record<string, () => number> {
  lib.setNumThreads(threads);
  lib.manualSeed(0);
  const fashion = new lib.data.FashionMnistDataset(pixels, Int32Array.from({ length: 60000 }, (_, i) => i % 10));
  const tensors = new lib.data.TensorDataset(lib.randn([20000, 784]), lib.arange(20000));
  const epoch = (loader: Iterable<unknown>) => () => {
    const t0 = performance.now();
    for (const batch of loader) void batch;
    return performance.now() - t0;
  };
  return {
    "FashionMnistDataset, 60000 images": epoch(new lib.data.DataLoader(fashion, { batchSize: 256, shuffle: true })),
    "TensorDataset, X [20000, 784]": epoch(new lib.data.DataLoader(tensors, { batchSize: 256, shuffle: true })),
  };
}

const sides = { base: loaders(await baseline(rev)), new: loaders(await import("../src/index.ts")) };
console.log(`# one epoch of shuffled batches of 256, this tree vs ${rev}, ${threads} thread(s), ${rounds} interleaved rounds\n# ${machineLine()}\n`);
const rows = [];
for (const name of Object.keys(sides.new)) {
  for (const side of Object.values(sides)) side[name]!(); // warm-up (and the heap copy, where there is one)
  const t = { base: [] as number[], new: [] as number[] };
  for (let r = 0; r < rounds; r++) for (const which of rotate(["base", "new"] as const, r)) t[which].push(sides[which][name]!());
  rows.push([name, median(t.base).toFixed(1), median(t.new).toFixed(1), median(t.new.map((x, i) => x / t.base[i]!)).toFixed(3)]);
}
console.log(table(["dataset", "base ms/epoch", "new ms/epoch", "new / base"], rows));
