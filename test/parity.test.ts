// Parity with PyTorch 1.13 from committed fixtures (tools/make_torch_fixtures.py):
// forwards, gradients and multi-step optimizer trajectories of a small MLP, the
// losses, and composite expressions. Tolerance 1e-5 relative (+ small absolute
// for values near 0): both sides compute in f32 but sum in different orders.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nn, optim, tensor, type Tensor } from "../src/index.ts";
import { expectClose } from "./helpers/backends.ts";

type T = { shape: number[]; data: number[] };
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/torch/${name}`, import.meta.url), "utf8"));
const toTensor = (t: T, requiresGrad = false) => tensor(Float32Array.from(t.data), { shape: t.shape, requiresGrad });
const close = (got: Tensor, want: T, what: string, rtol = 1e-5, atol = 1e-6) => {
  expect(got.shape, what).toEqual(want.shape);
  expectClose(got.data(), want.data, rtol, atol, what);
};

function buildMlp(initial: [string, T][]): nn.Sequential {
  const net = new nn.Sequential(
    new nn.Flatten(), new nn.Linear(12, 8), new nn.ReLU(), new nn.Linear(8, 8), new nn.ReLU(), new nn.Linear(8, 5),
  );
  net.loadStateDict(Object.fromEntries(initial.map(([k, v]) => [k, toTensor(v)])));
  return net;
}

type Group = Record<string, unknown> & { params: string[] };
function makeOptimizer(spec: { name: string; groups: Group[] }, net: nn.Sequential) {
  const byName = new Map(net.namedParameters());
  const groups = spec.groups.map((g) => {
    const common = { lr: g.lr as number, weightDecay: g.weight_decay as number, maximize: g.maximize as boolean };
    const params = g.params.map((n) => byName.get(n)!);
    return spec.name === "SGD"
      ? { params, ...common, momentum: g.momentum as number, dampening: g.dampening as number, nesterov: g.nesterov as boolean }
      : { params, ...common, betas: g.betas as [number, number], eps: g.eps as number, amsgrad: g.amsgrad as boolean };
  });
  if (spec.name === "SGD") return new optim.SGD(groups as optim.ParamGroup<optim.SGDOptions>[]);
  if (spec.name === "Adam") return new optim.Adam(groups as optim.ParamGroup<optim.AdamOptions>[]);
  return new optim.AdamW(groups as optim.ParamGroup<optim.AdamOptions>[]);
}

for (const file of ["mlp_sgd.json", "mlp_adam.json", "mlp_adamw.json"]) {
  const fx = fixture(file);
  describe(`MLP parity with PyTorch (${file})`, () => {
    it("gives PyTorch's logits, loss and parameter gradients from the same weights", () => {
      const net = buildMlp(fx.initial_state);
      const x = toTensor(fx.input);
      const y = tensor(fx.labels, { dtype: "int32" });
      const logits = net.forward(x);
      close(logits, fx.logits, "logits");
      const loss = new nn.CrossEntropyLoss().forward(logits, y);
      expect(loss.item()).toBeCloseTo(fx.loss, 5);
      loss.backward();
      const params = new Map(net.namedParameters());
      for (const [name, g] of fx.grads as [string, T][]) close(params.get(name)!.grad!, g, `grad of ${name}`);
    });

    for (const traj of fx.trajectories) {
      it(`follows PyTorch's parameter trajectory for 6 steps: ${traj.name}`, () => {
        const net = buildMlp(fx.initial_state);
        const opt = makeOptimizer(traj.optimizer, net);
        const x = toTensor(fx.input);
        const y = tensor(fx.labels, { dtype: "int32" });
        const lossFn = new nn.CrossEntropyLoss();
        const params = new Map(net.namedParameters());
        for (const step of traj.steps) {
          opt.zeroGrad();
          const loss = lossFn.forward(net.forward(x), y);
          expect(loss.item(), `loss before step ${step.step}`).toBeCloseTo(step.loss, 4);
          loss.backward();
          opt.step();
          for (const [name, want] of step.params as [string, T][]) {
            close(params.get(name)!, want, `${name} after step ${step.step}`, 1e-5, 2e-6);
          }
        }
      });
    }
  });
}

describe("loss parity with PyTorch", () => {
  const fx = fixture("losses.json");
  for (const c of fx.cross_entropy.cases) {
    it(`CrossEntropyLoss(reduction=${c.reduction}) value and gradient, ±1e4 logits included`, () => {
      const logits = toTensor(fx.cross_entropy.logits, true);
      const y = tensor(fx.cross_entropy.labels, { dtype: "int32" });
      const out = new nn.CrossEntropyLoss({ reduction: c.reduction }).forward(logits, y);
      close(out, c.output, "loss");
      out.backward(c.reduction === "none" ? toTensor(fx.cross_entropy.upstream_for_none) : undefined);
      close(logits.grad!, c.grads.logits, "grad");
    });
  }
  for (const c of fx.mse.cases) {
    it(`MSELoss(reduction=${c.reduction}) value and gradients of input and target`, () => {
      const input = toTensor(fx.mse.input, true);
      const target = toTensor(fx.mse.target, true);
      const out = new nn.MSELoss({ reduction: c.reduction }).forward(input, target);
      close(out, c.output, "loss");
      out.backward(c.reduction === "none" ? toTensor(fx.mse.upstream_for_none) : undefined);
      close(input.grad!, c.grads.input, "grad of input");
      close(target.grad!, c.grads.target, "grad of target");
    });
  }
  for (const c of fx.squared_loss.cases) {
    it(`d2l's squared_loss then ${c.reduction}() matches`, () => {
      const yHat = toTensor(fx.squared_loss.y_hat, true);
      const y = toTensor(fx.squared_loss.y, true);
      const per = yHat.sub(y.reshape(yHat.shape)).square().div(2);
      close(per, c.per_example, "per example");
      const out = c.reduction === "sum" ? per.sum() : per.mean();
      close(out, c.output, "output");
      out.backward();
      close(yHat.grad!, c.grads.y_hat, "grad of y_hat");
      close(y.grad!, c.grads.y, "grad of y");
    });
  }
});

describe("composite expressions match PyTorch's values and gradients", () => {
  const fx = fixture("ops.json");
  const build: Record<string, (v: Record<string, Tensor>) => Tensor> = {
    mul_add_relu_sum: ({ a, b, c }) => a.mul(b).add(c).relu().sum(),
    linear_sigmoid_mean: ({ a, w, b }) => a.matmul(w).add(b).sigmoid().mean(),
    pow_div_abs_tanh_sum_mean: ({ a, b }) => a.pow(2).div(b.abs().add(1)).tanh().sum(1).mean(),
    max_dim1_sum: ({ x }) => x.max(1).values.sum(),
    max_keepdim_times_x_sum: ({ x }) => x.max(0, true).values.mul(x).sum(),
    norm: ({ x }) => x.norm(),
    logsumexp_mean: ({ x }) => x.exp().sum(1).log().mean(),
    sub_square_mean_keepdim_sqrt_sum: ({ a, b }) => a.sub(b).square().mean(0, true).sqrt().sum(),
    neg_log_div_sub_pow3_mean: ({ x, y, z }) => x.log().neg().div(y).sub(z).pow(3).mean(),
  };
  for (const c of fx.cases) {
    it(`${c.expr}`, () => {
      const vars = Object.fromEntries(Object.entries(c.inputs as Record<string, T>).map(([k, v]) => [k, toTensor(v, true)]));
      const fn = build[c.name];
      expect(fn, `a builder for ${c.name}`).toBeDefined();
      const out = fn(vars);
      close(out, c.output, "output", 1e-5, 1e-6);
      out.backward();
      for (const [k, g] of Object.entries(c.grads as Record<string, T>)) close(vars[k].grad!, g, `grad of ${k}`, 1e-4, 1e-6);
    });
  }
});
