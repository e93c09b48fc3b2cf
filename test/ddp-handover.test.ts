// The README's DDP hand-over, end to end: a wasmgrad checkpoint of the d2l
// dropout MLP trains one epoch of Fashion-MNIST under torchrun (2 processes,
// gloo, DistributedDataParallel; examples/ddp_from_wasmgrad.py), and the
// checkpoint it writes back evaluates in wasmgrad to PyTorch's own accuracy,
// inside PyTorch's 20-seed range for the first epoch. Runs only where
// /usr/bin/python3 has torch and the full Fashion-MNIST is installed (CI
// installs both: .ci/run); about 15–30 s on two cores.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const PYTHON = "/usr/bin/python3";
const FULL = "/usr/share/datasets/fashion-mnist";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch.distributed as d; assert d.is_gloo_available()"], { stdio: "ignore" }).status === 0;
const hasFullData = ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"].every(
  (f) => existsSync(`${FULL}/${f}`) || existsSync(`${FULL}/${f}.gz`),
);

interface Seed { hist: { epoch: number; train_loss: number; test_acc: number }[] }
const reference = JSON.parse(readFileSync("data/pytorch-reference/dropout_mlp_20seeds.json", "utf8")) as { runs: Seed[] };
const firstEpoch = reference.runs.map((r) => r.hist.find((h) => h.epoch === 1)!);
const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)] as const;

const dir = mkdtempSync(join(tmpdir(), "wasmgrad-ddp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a command of the README's, failing with its output; returns its stdout. */
function sh(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The JSON summary a command prints last (torchrun prefixes rank 0's lines with "[default0]:"). */
function summary(stdout: string): Record<string, number> {
  return JSON.parse(stdout.trim().split("\n").at(-1)!.replace(/^\[default0\]:/, "")) as Record<string, number>;
}

describe.runIf(hasTorch && hasFullData)(`DDP from a wasmgrad checkpoint (runs only where ${PYTHON} has torch and ${FULL} is installed)`, () => {
  it("trains an epoch under torchrun on 2 processes, and wasmgrad evaluates the result inside PyTorch's seed range", () => {
    const start = join(dir, "run.safetensors");
    const back = join(dir, "back.safetensors");
    sh("npx", ["tsx", "examples/pytorch-handover.ts", "start", "--out", start]);
    // python3 -m torch.distributed.run is torchrun, run by the interpreter that has torch.
    const torch = summary(sh(PYTHON, [
      "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "--redirects", "1", "--tee", "1",
      "examples/ddp_from_wasmgrad.py", start, "--out", back,
    ]));
    const wasmgrad = summary(sh("npx", ["tsx", "examples/pytorch-handover.ts", "evaluate", back]));
    console.info(`DDP epoch: PyTorch test accuracy ${torch.testAcc}, wasmgrad's of the checkpoint ${wasmgrad.testAcc}, train CE ${torch.trainLoss?.toFixed(3)}, ${torch.seconds?.toFixed(1)} s`);

    expect(torch.epoch).toBe(1);
    expect(wasmgrad.epoch).toBe(1);
    expect(wasmgrad.images).toBe(10_000);
    expect(Math.abs(wasmgrad.testAcc! - torch.testAcc!)).toBeLessThanOrEqual(1e-4); // one image: argmax ties may break apart
    const [accMin, accMax] = range(firstEpoch.map((h) => h.test_acc));
    const [lossMin, lossMax] = range(firstEpoch.map((h) => h.train_loss));
    expect(wasmgrad.testAcc).toBeGreaterThanOrEqual(accMin);
    expect(wasmgrad.testAcc).toBeLessThanOrEqual(accMax);
    expect(torch.trainLoss).toBeGreaterThanOrEqual(lossMin);
    expect(torch.trainLoss).toBeLessThanOrEqual(lossMax);
  }, 240_000);
});
