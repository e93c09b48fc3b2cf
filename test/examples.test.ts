// examples/weight-decay.ts and examples/dropout.ts are the d2l chapters as a reader
// runs them (`npx tsx examples/…`). These tests run them the same way and check
// what they print against PyTorch running the same code
// (data/pytorch-reference/d2l_examples.json, from tools/make_d2l_examples_reference.py),
// and check that docs/d2l-side-by-side.md shows the examples' code as it is.

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = new URL("../", import.meta.url).pathname;
const TSX = `${ROOT}node_modules/tsx/dist/cli.mjs`;
const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");
const reference = JSON.parse(read("data/pytorch-reference/d2l_examples.json"));

type Range = { min: number; max: number };
const expectInside = (x: number, r: Range, what: string) => {
  const msg = `${what} = ${x} should lie in PyTorch's [${r.min}, ${r.max}]`;
  expect(x, msg).toBeGreaterThanOrEqual(r.min);
  expect(x, msg).toBeLessThanOrEqual(r.max);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;

async function runExample(file: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, [TSX, file], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 1 << 20 });
  return stdout;
}

describe("the examples read as the book's code", () => {
  for (const file of ["examples/weight-decay.ts", "examples/dropout.ts"]) {
    it(`${file} imports only "wasmgrad" and has no memory ceremony`, () => {
      const src = read(file);
      expect([...src.matchAll(/from "([^"]+)"/g)].map((m) => m[1])).toEqual(["wasmgrad"]);
      expect(src).not.toMatch(/\.(dispose|keep)\(|memoryStats|\bsrc\//);
    });
  }

  const doc = read("docs/d2l-side-by-side.md");
  const sections = doc.split("\n### ").slice(1).map((s) => ({
    title: s.slice(0, s.indexOf("\n")),
    python: [...s.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!),
    ts: [...s.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!),
    stated: [...s.matchAll(/^(PyTorch|wasmgrad) \((?:[^\n]*?)(\d+) lines?\):$/gm)].map((m) => Number(m[2])),
  }));
  const lines = (blocks: string[]) => blocks.join("\n").split("\n").filter((l) => l.trim()).length;

  it("every wasmgrad block of docs/d2l-side-by-side.md is in an example, verbatim", () => {
    const examples = read("examples/weight-decay.ts") + read("examples/dropout.ts");
    expect(sections.length).toBe(13);
    for (const s of sections) for (const block of s.ts) expect(examples, s.title).toContain(block);
  });

  it("each section's wasmgrad code is at most 1.3× the PyTorch lines, and the doc says how many", () => {
    for (const s of sections) {
      expect(s.stated, s.title).toEqual([lines(s.python), lines(s.ts)]);
      expect(lines(s.ts), s.title).toBeLessThanOrEqual(1.3 * lines(s.python));
    }
  });
});

/** The four trainings of the weight decay example: [train loss, test loss, ‖w‖] each. */
function parseWeightDecay(stdout: string): number[][] {
  const losses = [...stdout.matchAll(/^train loss (\S+), test loss (\S+)$/gm)];
  const norms = [...stdout.matchAll(/^L2 norm of w: (\S+)$/gm)];
  expect(losses.length).toBe(4);
  expect(norms.length).toBe(4);
  return losses.map((m, i) => [Number(m[1]), Number(m[2]), Number(norms[i]![1])]);
}

describe("examples/weight-decay.ts against PyTorch running the same code", () => {
  const RUNS = ["train(0)", "train(3)", "trainConcise(0)", "trainConcise(3)"];

  it("the median over seeds 0–4 of each training's train loss, test loss and ‖w‖ lies in PyTorch's 10-seed range", async () => {
    const outs = await Promise.all([0, 1, 2, 3, 4].map((seed) => runExample("examples/weight-decay.ts", { SEED: String(seed) })));
    const runs = outs.map(parseWeightDecay);
    RUNS.forEach((name, r) => {
      const ref = reference.weight_decay.runs[name];
      ["train_loss", "test_loss", "w_norm"].forEach((k, j) => expectInside(median(runs.map((x) => x[r]![j]!)), ref[k], `${name} ${k}`));
    });
    // What the chapter shows: without decay the model overfits, with it the test loss and ‖w‖ fall.
    for (const [free, decayed] of [[0, 1], [2, 3]] as const) {
      for (const x of runs) {
        expect(x[decayed]![1]).toBeLessThan(x[free]![1]! / 100);
        expect(x[decayed]![2]).toBeLessThan(x[free]![2]! / 10);
      }
    }
  }, 600_000);

  it("train(0) agrees with the CLI's run of the same seed and settings (`wasmgrad weight-decay --lambd 0 --seed 0`)", async () => {
    const [out, cli] = await Promise.all([
      runExample("examples/weight-decay.ts", { SEED: "0" }),
      run(process.execPath, [`${ROOT}bin/wasmgrad.mjs`, "weight-decay", "--lambd", "0", "--seed", "0", "--json"], { cwd: ROOT }),
    ]);
    const [trainLoss, testLoss, wNorm] = parseWeightDecay(out)[0]!;
    const summary = JSON.parse(cli.stdout.trim().split("\n").at(-1)!).results[0];
    // Same data, same initial weights, same shuffles. Not bitwise: the example's hand-written
    // sgd rounds lr·g and p − lr·g separately, SGD's kernel may fuse them; after 2000 steps
    // ‖w‖ and the test loss agree to about 1e-7, and the train losses are both float32
    // rounding noise around 1e-13.
    expect(Math.abs(wNorm! - summary.wNorm) / summary.wNorm).toBeLessThan(1e-5);
    expect(Math.abs(testLoss! - summary.testLoss) / summary.testLoss).toBeLessThan(1e-5);
    expect(trainLoss).toBeLessThan(1e-11);
    expect(summary.trainLoss).toBeLessThan(1e-11);
  }, 300_000);
});

/** The dropout example's output: the four from-scratch tensors, then each training's epochs. */
function parseDropout(stdout: string) {
  const tensors = [...stdout.matchAll(/^tensor\((.*)\)$/gm)].map((m) => (JSON.parse(m[1]!) as number[][]).flat());
  const epochs = [...stdout.matchAll(/^epoch (\d+): train loss (\S+), train acc (\S+), test acc (\S+)$/gm)].map((m) => ({
    epoch: Number(m[1]), trainLoss: Number(m[2]), trainAcc: Number(m[3]), testAcc: Number(m[4]),
  }));
  const half = epochs.length / 2;
  return { tensors, net: epochs.slice(0, half), sequential: epochs.slice(half) };
}

function expectDropoutFromScratch(tensors: number[][]) {
  const [x, p0, p5, p1] = tensors;
  expect(x).toEqual(Array.from({ length: 16 }, (_, i) => i));
  expect(p0).toEqual(x);
  p5!.forEach((v, i) => expect(v === 0 || v === 2 * x![i]!).toBe(true));
  expect(p1).toEqual(new Array(16).fill(0));
}

const FULL = process.env.FASHION_MNIST_DIR ?? "/usr/share/datasets/fashion-mnist";
const hasFullData = ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"].every((f) => existsSync(`${FULL}/${f}`) || existsSync(`${FULL}/${f}.gz`));

describe("examples/dropout.ts against PyTorch running the same code", () => {
  // PyTorch's ranges are for the full 60 000 images. Six PyTorch seeds understate the
  // spread of one run, so the band is their [min, max] widened by half its width each way
  // (test/d2l.test.ts does the same for the CLI's runs).
  const band = (r: Range): Range => ({ min: r.min - (r.max - r.min) / 2, max: r.max + (r.max - r.min) / 2 });
  const union = (rs: Range[]): Range => ({ min: Math.min(...rs.map((r) => r.min)), max: Math.max(...rs.map((r) => r.max)) });
  // The concise model is dropout_mlp.json's model with its settings, there trained from a fresh
  // seed: those PyTorch runs are draws from the same spread, so they count too.
  const mlp = JSON.parse(read("data/pytorch-reference/dropout_mlp.json")).runs.dropout as { hist: { train_loss: number; test_acc: number }[] }[];
  const epoch5 = (name: "Net" | "Sequential") => {
    const ref = reference.dropout.runs[name][4];
    if (name === "Net") return { trainLoss: ref.train_loss as Range, testAcc: ref.test_acc as Range };
    const other = (k: "train_loss" | "test_acc") => mlp.map((r) => ({ min: r.hist[4]![k], max: r.hist[4]![k] }));
    return { trainLoss: union([ref.train_loss, ...other("train_loss")]), testAcc: union([ref.test_acc, ...other("test_acc")]) };
  };

  it.skipIf(!hasFullData)("on the full Fashion-MNIST, both models' epoch-5 train loss and test accuracy lie in PyTorch's band", async () => {
    const { tensors, net, sequential } = parseDropout(await runExample("examples/dropout.ts", { SEED: "0", FASHION_MNIST_DIR: FULL }));
    expectDropoutFromScratch(tensors);
    for (const [name, epochs] of [["Net", net], ["Sequential", sequential]] as const) {
      expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
      const ref = epoch5(name);
      expectInside(epochs[4]!.trainLoss, band(ref.trainLoss), `${name} train loss at epoch 5`);
      expectInside(epochs[4]!.testAcc, band(ref.testAcc), `${name} test accuracy at epoch 5`);
    }
  }, 900_000);

  // 3 epochs of the 6 000-image subset are 72 steps, under a third of one full epoch: from
  // normal(0, 0.01) weights the concise model is only leaving chance level (0.1) by then.
  it("on the bundled subset (EPOCHS=3), dropout from scratch behaves and both models learn", async () => {
    const subset = `${ROOT}data/fashion-mnist-subset`;
    const { tensors, net, sequential } = parseDropout(await runExample("examples/dropout.ts", { SEED: "0", EPOCHS: "3", FASHION_MNIST_DIR: subset }));
    expectDropoutFromScratch(tensors);
    for (const epochs of [net, sequential]) {
      expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(epochs[1]!.trainLoss).toBeLessThan(epochs[0]!.trainLoss);
      expect(epochs[2]!.trainLoss).toBeLessThan(epochs[1]!.trainLoss);
      expect(epochs[2]!.testAcc).toBeGreaterThan(0.3);
    }
  }, 300_000);
});
