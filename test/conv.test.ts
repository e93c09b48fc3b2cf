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
