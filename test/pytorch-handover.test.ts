// Handing a training run to PyTorch and back (tools/pytorch_handover.py): after
// k steps in one framework and a hand-over, the next step in the other gives
// the parameters the first would have reached, to 1e-6, for SGD (momentum,
// Nesterov, weight decay on the weights only), Adam and AdamW. The d2l MLP
// trains without dropout, since the two frameworks draw different masks.
// These tests drive /usr/bin/python3 and run only where it has torch
// (Debian's python3-torch, which .ci/run installs).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { data, io, manualSeed, nn, optim, type Tensor } from "../src/index.ts";
import { buildMlp } from "../src/training.ts";

const PYTHON = "/usr/bin/python3";
const TOOL = "tools/pytorch_handover.py";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const TOLERANCE = 1e-6;
const K = 3;
const BATCH = 64;

type AnyOptimizer = optim.SGD | optim.Adam | optim.AdamW;
type MakeOptimizer = (net: nn.Module) => AnyOptimizer;

const weightsAndBiases = (net: nn.Module) => [
  { params: net.parameters().filter((p) => p.ndim > 1), weightDecay: 1e-4 },
  { params: net.parameters().filter((p) => p.ndim === 1), weightDecay: 0 },
];

const OPTIMIZERS: [string, MakeOptimizer][] = [
  ["SGD with momentum and Nesterov", (net) => new optim.SGD(weightsAndBiases(net), { lr: 0.1, momentum: 0.9, nesterov: true })],
  ["Adam", (net) => new optim.Adam(weightsAndBiases(net), { lr: 1e-3 })],
  ["AdamW", (net) => new optim.AdamW(net.parameters(), { lr: 1e-3, weightDecay: 1e-2 })],
  ["Adam with amsgrad", (net) => new optim.Adam(weightsAndBiases(net), { lr: 1e-3, amsgrad: true })],
];

const dir = mkdtempSync(join(tmpdir(), "wasmgrad-handover-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first K + 1 batches of the bundled Fashion-MNIST subset, in order, kept across training steps. */
async function loadBatches(): Promise<[Tensor, Tensor][]> {
  const train = await data.fashionMnist({ root: "data/fashion-mnist-subset", train: true });
  const out: [Tensor, Tensor][] = [];
  for (const [x, y] of new data.DataLoader(train, { batchSize: BATCH })) {
    out.push([x.keep(), y.keep()]);
    if (out.length === K + 1) break;
  }
  return out;
}
let batches: Promise<[Tensor, Tensor][]> | undefined;

function writeBatches(name: string, list: [Tensor, Tensor][]): string {
  const path = join(dir, name);
  writeFileSync(path, io.saveSafetensors(list.flatMap(([x, y], i) => [[`x.${i}`, x], [`y.${i}`, y]] as [string, Tensor][])));
  return path;
}

/** `steps` steps in PyTorch from the checkpoint at `from`, on the given batches; the resulting checkpoint's path. */
function torchTrain(from: string, batchFile: string, steps: number, out: string, extra: string[] = []): string {
  const path = join(dir, out);
  const args = [TOOL, "train", from, "--batches", batchFile, "--steps", String(steps), "--out", path, ...extra];
  const run = spawnSync(PYTHON, args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${TOOL} failed (${run.status}): ${run.stderr}`);
  return path;
}

/** A fresh d2l MLP without dropout and its optimizer, both restored from a checkpoint file. */
function resume(make: MakeOptimizer, path: string) {
  const net = buildMlp([0, 0]);
  const opt = make(net);
  io.loadCheckpoint(readFileSync(path), { model: net, optimizer: opt }, { name: path });
  return { net, opt };
}

function step(net: nn.Module, opt: AnyOptimizer, [x, y]: [Tensor, Tensor]): void {
  net.train();
  opt.zeroGrad();
  new nn.CrossEntropyLoss().forward(net.forward(x), y).backward();
  opt.step();
}

/** The largest |a − b| over the parameters and over every optimizer state tensor. */
function maxDifference(a: { net: nn.Module; opt: AnyOptimizer }, b: { net: nn.Module; opt: AnyOptimizer }) {
  let params = 0;
  const pb = b.net.stateDict();
  for (const [name, t] of Object.entries(a.net.stateDict())) params = Math.max(params, maxAbs(t, pb[name]!));
  let state = 0;
  const sa = a.opt.stateDict().state;
  const sb = b.opt.stateDict().state;
  expect(Object.keys(sb)).toEqual(Object.keys(sa));
  for (const [index, entries] of Object.entries(sa)) {
    for (const [key, v] of Object.entries(entries)) {
      const w = sb[Number(index)]![key];
      if (typeof v === "number") expect(w, `state ${index}.${key}`).toBe(v);
      else state = Math.max(state, maxAbs(v, w as Tensor));
    }
  }
  return { params, state };
}

function maxAbs(a: Tensor, b: Tensor): number {
  const x = a.data();
  const y = b.data();
  expect(y.length).toBe(x.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

describe.runIf(hasTorch)(`PyTorch hand-over (runs only where ${PYTHON} has torch)`, () => {
  describe.each(OPTIMIZERS)("%s", (_name, make) => {
    it(`wasmgrad → PyTorch: after ${K} steps in wasmgrad, PyTorch's next step equals wasmgrad's to ${TOLERANCE}`, async () => {
      const list = await (batches ??= loadBatches());
      manualSeed(0);
      const net = buildMlp([0, 0]);
      const opt = make(net);
      for (const b of list.slice(0, K)) step(net, opt, b);
      const handed = join(dir, `${_name}-wasmgrad.safetensors`);
      writeFileSync(handed, io.saveCheckpoint({ model: net, optimizer: opt }));
      step(net, opt, list[K]!);

      const back = torchTrain(handed, writeBatches(`${_name}-next.safetensors`, [list[K]!]), 1, `${_name}-torch.safetensors`);
      const diff = maxDifference({ net, opt }, resume(make, back));
      console.info(`${_name}, wasmgrad → PyTorch: max |Δ| parameters ${diff.params.toExponential(2)}, optimizer state ${diff.state.toExponential(2)}`);
      expect(diff.params).toBeLessThanOrEqual(TOLERANCE);
      expect(diff.state).toBeLessThanOrEqual(TOLERANCE);
    });

    it(`PyTorch → wasmgrad: after ${K} steps in PyTorch, wasmgrad's next step equals the one PyTorch takes without a hand-over, to ${TOLERANCE}`, async () => {
      const list = await (batches ??= loadBatches());
      manualSeed(0);
      const start = buildMlp([0, 0]);
      const startFile = join(dir, `${_name}-start.safetensors`);
      writeFileSync(startFile, io.saveCheckpoint({ model: start, optimizer: make(start) }));
      // PyTorch trains K + 1 steps in one process, writing the hand-over after K.
      const afterK = join(dir, `${_name}-torch-k.safetensors`);
      const batchFile = writeBatches(`${_name}-batches.safetensors`, list);
      const torchNext = torchTrain(startFile, batchFile, K + 1, `${_name}-torch-k1.safetensors`, ["--save-after", String(K), afterK]);

      const resumed = resume(make, afterK);
      step(resumed.net, resumed.opt, list[K]!);
      const diff = maxDifference(resumed, resume(make, torchNext));
      console.info(`${_name}, PyTorch → wasmgrad: max |Δ| parameters ${diff.params.toExponential(2)}, optimizer state ${diff.state.toExponential(2)}`);
      expect(diff.params).toBeLessThanOrEqual(TOLERANCE);
      expect(diff.state).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  it("refuses an SGD run with an L1 penalty, which torch.optim.SGD cannot continue, saying so", () => {
    manualSeed(0);
    const net = buildMlp([0, 0]);
    const from = join(dir, "l1.safetensors");
    writeFileSync(from, io.saveCheckpoint({ model: net, optimizer: new optim.SGD(net.parameters(), { lr: 0.1, l1: 1e-4 }) }));
    const run = spawnSync(PYTHON, [TOOL, "inspect", from], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("l1 = 0.0001: torch.optim.SGD has no L1 penalty");
  });
});
