// Conv2d, pooling and batch norm against PyTorch 1.13 (fixtures from
// tools/make_conv_fixtures.py), on both backends: outputs, every gradient,
// running statistics and eval mode; and float64 finite differences of the
// gradients, which need no fixture. Tolerances: both sides compute in f32 and
// sum in different orders.

import { readFileSync } from "node:fs";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { io, nn, noGrad, setBackend, tensor, type Tensor } from "../src/index.ts";
import { expectClose } from "./helpers/backends.ts";

type T = { shape: number[]; data: number[] };
const fx = JSON.parse(readFileSync(new URL("./fixtures/torch/conv.json", import.meta.url), "utf8"));
const F = nn.functional;
const toTensor = (t: T, requiresGrad = false) => tensor(Float32Array.from(t.data), { shape: t.shape, requiresGrad });
const close = (got: Tensor | null | undefined, want: T, what: string, rtol = 1e-4, atol = 1e-5) => {
  expect(got, what).toBeTruthy();
  expect(got!.shape, what).toEqual(want.shape);
  expectClose(got!.data(), want.data, rtol, atol, what);
};
/** (out · r).sum(), the loss every fixture's gradients come from. */
const weighted = (out: Tensor, r: T) => out.mul(toTensor(r)).sum();

for (const backend of ["wasm", "js"] as const) {
  describe(`convolutions match PyTorch (${backend} backend)`, () => {
    beforeEach(() => setBackend(backend));
    afterAll(() => setBackend("wasm"));

    fx.conv2d.forEach((c: Record<string, any>, i: number) => {
      const cfg = c.config;
      it(`conv2d #${i} (kernel ${JSON.stringify(cfg.k)}, stride ${JSON.stringify(cfg.stride)}, padding ${JSON.stringify(cfg.padding)}, dilation ${JSON.stringify(cfg.dilation)}${cfg.bias ? "" : ", no bias"}): output and the input, weight and bias gradients`, () => {
        const x = toTensor(c.x, true);
        const w = toTensor(c.weight, true);
        const b = c.bias ? toTensor(c.bias, true) : null;
        const out = F.conv2d(x, w, b, { stride: cfg.stride, padding: cfg.padding, dilation: cfg.dilation });
        close(out, c.out, "output");
        weighted(out, c.r).backward();
        close(x.grad, c.dx, "input gradient");
        close(w.grad, c.dweight, "weight gradient");
        if (b) close(b.grad, c.dbias, "bias gradient");
      });
    });

    for (const c of fx.pool) {
      const cfg = c.config;
      it(`${c.kind} pool (kernel ${JSON.stringify(cfg.k)}, stride ${JSON.stringify(cfg.stride)}, padding ${JSON.stringify(cfg.padding)}): output and input gradient`, () => {
        const x = toTensor(c.x, true);
        const opts = { stride: cfg.stride, padding: cfg.padding };
        const out = c.kind === "max"
          ? F.maxPool2d(x, cfg.k, opts)
          : F.avgPool2d(x, cfg.k, { ...opts, countIncludePad: c.kind === "avg" });
        close(out, c.out, "output");
        weighted(out, c.r).backward();
        close(x.grad, c.dx, "input gradient");
      });
    }

    for (const c of fx.batch_norm) {
      it(`${c.module}(${c.num_features}, momentum ${c.momentum}): two training steps then eval: outputs, gradients and the buffers after each`, () => {
        const m = c.module === "BatchNorm2d"
          ? new nn.BatchNorm2d(c.num_features, { momentum: c.momentum })
          : new nn.BatchNorm1d(c.num_features, { momentum: c.momentum });
        noGrad(() => {
          m.weight!.copy_(toTensor(c.weight));
          m.bias!.copy_(toTensor(c.bias));
        });
        for (const [s, step] of (c.steps as Record<string, any>[]).entries()) {
          m.train(step.training);
          m.zeroGrad();
          const x = toTensor(step.x, true);
          const out = m.forward(x);
          close(out, step.out, `step ${s} output`);
          weighted(out, step.r).backward();
          close(x.grad, step.dx, `step ${s} input gradient`);
          close(m.weight!.grad, step.dweight, `step ${s} weight gradient`);
          close(m.bias!.grad, step.dbias, `step ${s} bias gradient`);
          const sd = m.stateDict();
          close(sd.running_mean, step.running_mean, `step ${s} running_mean`);
          close(sd.running_var, step.running_var, `step ${s} running_var`);
          expect(sd.num_batches_tracked!.item(), `step ${s} num_batches_tracked`).toBe(step.num_batches_tracked);
        }
      });
    }
  });
}

describe("a CNN's safetensors from PyTorch", () => {
  it("loads strictly into the same wasmgrad architecture (buffers included) and gives PyTorch's eval-mode output", () => {
    const ref = JSON.parse(readFileSync(new URL("./fixtures/safetensors/torch_cnn_io.json", import.meta.url), "utf8"));
    const sd = io.loadSafetensors(readFileSync(new URL("./fixtures/safetensors/torch_cnn.safetensors", import.meta.url)));
    const net = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 6, 3, { stride: 2, bias: false }), new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(6, 3),
    );
    expect(Object.keys(net.stateDict())).toEqual(ref.keys);
    net.loadStateDict(sd);
    net.eval();
    close(net.forward(toTensor(ref.input)), ref.output, "eval-mode output");
    expect(net.stateDict()["1.num_batches_tracked"]!.item()).toBe(1);
  });
});

describe("convolution layers reject bad input with PyTorch's messages", () => {
  const x = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), { shape });
  it("conv2d: wrong channel count, kernel larger than the padded input, wrong input rank, bad sizes", () => {
    const conv = new nn.Conv2d(3, 4, 5);
    expect(() => conv.forward(x([2, 1, 8, 8]))).toThrow("Given groups=1, weight of size [4, 3, 5, 5], expected input[2, 1, 8, 8] to have 3 channels, but got 1 channels instead");
    expect(() => conv.forward(x([1, 3, 4, 4]))).toThrow("Kernel size can't be greater than actual input size");
    expect(() => conv.forward(x([3, 8]))).toThrow("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 8]");
    expect(() => new nn.Conv2d(3, 4, 0)).toThrow("kernelSize must be an integer ≥ 1");
    expect(() => new nn.Conv2d(3, 4, 3, { stride: [1, 0] })).toThrow("stride must be an integer ≥ 1");
    expect(() => new nn.Conv2d(3, 4, 3, { padding: -1 })).toThrow("padding must be an integer ≥ 0");
  });

  it("conv2d accepts an unbatched [C, H, W] input and returns [OC, OH, OW]", () => {
    expect(new nn.Conv2d(3, 4, 3, { padding: 1 }).forward(x([3, 6, 5])).shape).toEqual([4, 6, 5]);
  });

  it("pooling: padding over half the kernel, an output too small", () => {
    expect(() => F.maxPool2d(x([1, 1, 8, 8]), 2, { padding: 2 })).toThrow("pad should be at most half of effective kernel size");
    expect(() => F.avgPool2d(x([1, 2, 3, 3]), 4)).toThrow("Given input size: (2x3x3). Calculated output size: (2x0x0). Output size is too small");
  });

  it("batch norm: one value per channel in training, wrong feature count, wrong rank", () => {
    expect(() => new nn.BatchNorm1d(3).forward(x([1, 3]))).toThrow("Expected more than 1 value per channel when training, got input size [1, 3]");
    expect(() => new nn.BatchNorm1d(3).forward(x([4, 5]))).toThrow("running_mean should contain 5 elements not 3");
    expect(() => new nn.BatchNorm2d(3).forward(x([4, 3]))).toThrow("BatchNorm2d: expected 4D input (got 2D input)");
    // In eval mode a batch of one is fine: the running statistics normalise it.
    expect(new nn.BatchNorm1d(3).eval().forward(x([1, 3])).shape).toEqual([1, 3]);
  });
});
