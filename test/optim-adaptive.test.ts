// RMSprop, Adagrad and Adadelta against PyTorch 1.13 (tools/make_torch_optim_fixtures.py):
// eight steps from PyTorch's gradients, two parameter groups with different
// settings, on both backends. The kernels do PyTorch's operations with its
// roundings, so parameters and state match PyTorch's float32 values bit for bit.

import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { optim, setBackend, tensor, type Tensor } from "../src/index.ts";

type T = { shape: number[]; data: number[] };
interface Step { grads: [T, T]; params: [T, T]; state: Record<string, T | number>[] }
interface Variant {
  name: string;
  optimizer: "RMSprop" | "Adagrad" | "Adadelta";
  options: Record<string, number | boolean>;
  group1: Record<string, number | boolean>;
  initial: [T, T];
  steps: Step[];
}

const fixture = JSON.parse(readFileSync(new URL("./fixtures/torch/optim_adaptive.json", import.meta.url), "utf8"));
const toTensor = (t: T, requiresGrad = false) => tensor(Float32Array.from(t.data), { shape: t.shape, requiresGrad });
/** The same float32 values, bit for bit (NaN never appears in the fixtures). */
const expectSame = (got: Tensor, want: T, what: string) => {
  expect(got.shape, what).toEqual(want.shape);
  expect(Array.from(got.data()), what).toEqual(Array.from(Float32Array.from(want.data)));
};

function make(v: Variant, a: Tensor, b: Tensor): optim.Optimizer<object> {
  const groups = [{ params: [a] }, { params: [b], ...v.group1 }];
  if (v.optimizer === "RMSprop") return new optim.RMSprop(groups, v.options);
  if (v.optimizer === "Adagrad") return new optim.Adagrad(groups, v.options);
  return new optim.Adadelta(groups, v.options);
}

afterEach(() => setBackend("wasm"));

describe.each(["wasm", "js"] as const)("RMSprop, Adagrad, Adadelta on the %s backend follow PyTorch 1.13 step by step", (backend) => {
  it.each((fixture.variants as Variant[]).map((v) => [v.name, v] as const))("%s: parameters and state after each of 8 steps", (_, v) => {
    setBackend(backend);
    const a = toTensor(v.initial[0], true);
    const b = toTensor(v.initial[1], true);
    const opt = make(v, a, b);
    v.steps.forEach((s, i) => {
      a.grad = toTensor(s.grads[0]);
      b.grad = toTensor(s.grads[1]);
      opt.step();
      expectSame(a, s.params[0], `${v.name} step ${i + 1}: A`);
      expectSame(b, s.params[1], `${v.name} step ${i + 1}: B`);
    });
    const last = v.steps.at(-1)!;
    [a, b].forEach((p, j) => {
      const want = last.state[j];
      const got = opt.state.get(p)!;
      expect(Object.keys(got).sort(), `${v.name} state keys`).toEqual(Object.keys(want).sort());
      for (const [k, w] of Object.entries(want)) {
        if (typeof w === "number") expect(got[k], `${v.name} ${k}`).toBe(w);
        else expectSame(got[k] as Tensor, w, `${v.name} param ${j} ${k}`);
      }
    });
  });
});

describe("the optimizers' settings, as PyTorch checks them", () => {
  const p = () => [tensor([1, 2], { requiresGrad: true })];

  it("uses PyTorch's defaults", () => {
    expect(new optim.RMSprop(p()).defaults).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false });
    expect(new optim.Adagrad(p()).defaults).toEqual({ lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false });
    expect(new optim.Adadelta(p()).defaults).toEqual({ lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false });
  });

  it("refuses bad values with PyTorch's messages", () => {
    expect(() => new optim.RMSprop(p(), { alpha: -0.1 })).toThrow("Invalid alpha value: -0.1");
    expect(() => new optim.RMSprop(p(), { momentum: -1 })).toThrow("Invalid momentum value: -1");
    expect(() => new optim.Adagrad(p(), { lrDecay: -1 })).toThrow("Invalid lr_decay value: -1");
    expect(() => new optim.Adagrad(p(), { initialAccumulatorValue: -1 })).toThrow("Invalid initial_accumulator_value value: -1");
    expect(() => new optim.Adadelta(p(), { rho: 1.5 })).toThrow("Invalid rho value: 1.5");
    expect(() => new optim.Adadelta([{ params: p(), lr: -1 }])).toThrow("Invalid learning rate: -1");
  });

  it("refuses PyTorch's snake_case spellings, suggesting the camelCase name", () => {
    expect(() => new optim.Adagrad(p(), { lr_decay: 0.1 } as never)).toThrow('Adagrad: unknown setting "lr_decay" in options (did you mean "lrDecay"?)');
    expect(() => new optim.RMSprop(p(), { weight_decay: 0.1 } as never)).toThrow('did you mean "weightDecay"?');
  });

  it("refuses a centered flag that is not a boolean", () => {
    expect(() => new optim.RMSprop(p(), { centered: 1 as never })).toThrow("RMSprop: centered must be true or false, got number 1");
  });

  it("gives Adagrad its state from the start, sums at initialAccumulatorValue, as PyTorch does", () => {
    const params = p();
    const opt = new optim.Adagrad(params, { initialAccumulatorValue: 0.25 });
    const st = opt.stateDict().state[0];
    expect(st.step).toBe(0);
    expect(Array.from((st.sum as Tensor).data())).toEqual([0.25, 0.25]);
  });

  it("fills a group's Adagrad sums with that group's initialAccumulatorValue (PyTorch 1.13 uses the constructor's for all)", () => {
    const [a, b] = [tensor([1], { requiresGrad: true }), tensor([2], { requiresGrad: true })];
    const opt = new optim.Adagrad([{ params: [a] }, { params: [b], initialAccumulatorValue: 0.5 }], { initialAccumulatorValue: 0.1 });
    expect((opt.state.get(a)!.sum as Tensor).item()).toBeCloseTo(0.1, 7);
    expect((opt.state.get(b)!.sum as Tensor).item()).toBe(0.5);
  });

  it("resumes from a stateDict() exactly where it stopped", () => {
    const run = (opt: optim.Optimizer<object>, w: Tensor, steps: number) => {
      for (let i = 0; i < steps; i++) {
        w.grad = w.mul(w).add(1).detach();
        opt.step();
      }
    };
    for (const make of [
      (ps: Tensor[]) => new optim.RMSprop(ps, { momentum: 0.9, centered: true }),
      (ps: Tensor[]) => new optim.Adagrad(ps, { lrDecay: 0.1 }),
      (ps: Tensor[]) => new optim.Adadelta(ps),
    ]) {
      const w1 = tensor([0.5, -1, 2], { requiresGrad: true });
      const straight = make([w1]);
      run(straight, w1, 6);
      const w2 = tensor([0.5, -1, 2], { requiresGrad: true });
      const first = make([w2]);
      run(first, w2, 3);
      const w3 = w2.detach().clone().requiresGrad_();
      const resumed = make([w3]);
      resumed.loadStateDict(first.stateDict());
      run(resumed, w3, 3);
      expect(Array.from(w3.data())).toEqual(Array.from(w1.data()));
    }
  });

  it("refuses a loaded state that lacks what the settings need", () => {
    const opt = new optim.RMSprop(p(), { momentum: 0.9 });
    expect(() => opt.loadStateDict({ state: { 0: { step: 1, squareAvg: tensor([0, 0]) } }, paramGroups: opt.stateDict().paramGroups })).toThrow(
      "Error in loading state_dict for RMSprop: state of parameter 0 lacks momentumBuffer (momentum needs momentumBuffer, centered needs gradAvg)",
    );
  });
});
