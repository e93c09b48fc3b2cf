// optim.lrScheduler against PyTorch 1.13 (tools/make_torch_optim_fixtures.py):
// getLastLr() after the constructor and after each of 14 steps, for an SGD
// optimizer with two parameter groups (lr 0.1 and 0.02), and an RMSprop run
// whose rates a StepLR changes, compared parameter by parameter.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { optim, tensor, zeros, type Tensor } from "../src/index.ts";

type T = { shape: number[]; data: number[] };
interface Case { scheduler: string; options: Record<string, unknown>; groupLrs: number[]; lastLr: number[][] }

const fixture = JSON.parse(readFileSync(new URL("./fixtures/torch/lr_schedulers.json", import.meta.url), "utf8"));
const toTensor = (t: T, requiresGrad = false) => tensor(Float32Array.from(t.data), { shape: t.shape, requiresGrad });
/** The fixture's lambdas by name, written as the Python ones are. */
const LAMBDAS: Record<string, (e: number) => number> = { pow95: (e) => 0.95 ** e, inverse: (e) => 1 / (e + 1) };
const { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR } = optim.lrScheduler;

function twoGroups(lrs: number[]) {
  return new optim.SGD([{ params: [zeros([2], { requiresGrad: true })] }, { params: [zeros([1], { requiresGrad: true })], lr: lrs[1] }], { lr: lrs[0] });
}

function makeScheduler(c: Case, opt: optim.SGD): optim.lrScheduler.LRScheduler {
  const o = c.options as never;
  switch (c.scheduler) {
    case "StepLR": return new StepLR(opt, o);
    case "MultiStepLR": return new MultiStepLR(opt, o);
    case "ExponentialLR": return new ExponentialLR(opt, o);
    case "CosineAnnealingLR": return new CosineAnnealingLR(opt, o);
    default: {
      const named = (c.options as { lrLambda: string | string[] }).lrLambda;
      return new LambdaLR(opt, { lrLambda: Array.isArray(named) ? named.map((n) => LAMBDAS[n]) : LAMBDAS[named] });
    }
  }
}

/** Equal to 1e-15 relative: JS and Python share f64 arithmetic, but cos and ** may differ in the last bit. */
function expectRates(got: number[], want: number[], what: string) {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `${what} group ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(1e-15 * Math.abs(want[i])));
}

describe("LR schedulers follow PyTorch 1.13 over 14 epochs, each group from its own lr", () => {
  it.each((fixture.cases as Case[]).map((c) => [`${c.scheduler} ${JSON.stringify(c.options)}`, c] as const))("%s", (_, c) => {
    const opt = twoGroups(c.groupLrs);
    const sched = makeScheduler(c, opt);
    expectRates(sched.getLastLr(), c.lastLr[0], "after the constructor");
    for (let e = 1; e < c.lastLr.length; e++) {
      opt.step();
      sched.step();
      expectRates(sched.getLastLr(), c.lastLr[e], `epoch ${e}`);
      expectRates(opt.paramGroups.map((g) => g.lr), c.lastLr[e], `epoch ${e}: the optimizer's groups`);
    }
  });

  it("drives the optimizer: RMSprop under StepLR gives PyTorch's parameters bit for bit", () => {
    const run = fixture.rmspropWithStepLR as { initial: [T, T]; steps: { grads: [T, T]; params: [T, T]; lastLr: number[] }[] };
    const a = toTensor(run.initial[0], true);
    const b = toTensor(run.initial[1], true);
    const opt = new optim.RMSprop([{ params: [a] }, { params: [b], lr: 0.004 }], { lr: 0.02, momentum: 0.3 });
    const sched = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    run.steps.forEach((s, i) => {
      a.grad = toTensor(s.grads[0]);
      b.grad = toTensor(s.grads[1]);
      opt.step();
      sched.step();
      expect(sched.getLastLr()).toEqual(s.lastLr);
      [a, b].forEach((p: Tensor, j) => expect(Array.from(p.data()), `step ${i + 1} param ${j}`).toEqual(Array.from(Float32Array.from(s.params[j].data))));
    });
  });
});

describe("LR scheduler behaviour beyond the fixtures", () => {
  it("chains two schedulers on one optimizer, each from the group's initial lr, as PyTorch does", () => {
    const opt = new optim.SGD([zeros([1], { requiresGrad: true })], { lr: 1 });
    const a = new LambdaLR(opt, { lrLambda: (e) => 0.5 ** e });
    const b = new ExponentialLR(opt, { gamma: 0.1 });
    expect(b.baseLrs).toEqual([1]);
    a.step();
    b.step();
    expect(opt.paramGroups[0].lr).toBeCloseTo(0.05, 15);
  });

  it("saves and restores its position with stateDict()", () => {
    const opt = new optim.SGD([zeros([1], { requiresGrad: true })], { lr: 1 });
    const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    for (let i = 0; i < 5; i++) s.step();
    const sd = s.stateDict();
    expect(sd).toMatchObject({ lastEpoch: 5, baseLrs: [1], lastLr: [0.25], stepSize: 2, gamma: 0.5 });
    const opt2 = new optim.SGD([zeros([1], { requiresGrad: true })], { lr: 0.25 });
    const s2 = new StepLR(opt2, { stepSize: 2, gamma: 0.5 });
    s2.loadStateDict(sd);
    s.step();
    s2.step();
    expect(s2.getLastLr()).toEqual(s.getLastLr());
  });

  it("refuses bad settings, naming them", () => {
    const opt = new optim.SGD([zeros([1], { requiresGrad: true })], { lr: 1 });
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow("StepLR: stepSize must be a positive integer, got 0");
    expect(() => new StepLR(opt, { step_size: 3 } as never)).toThrow('StepLR: unknown option "step_size" (StepLR takes stepSize, gamma)');
    expect(() => new CosineAnnealingLR(opt, { tMax: 1.5 })).toThrow("CosineAnnealingLR: tMax must be a positive integer, got 1.5");
    expect(() => new MultiStepLR(opt, { milestones: 3 as never })).toThrow("MultiStepLR: milestones must be an array of epochs, got number 3");
    expect(() => new ExponentialLR(opt, {} as never)).toThrow("ExponentialLR: gamma must be a finite number, got undefined");
    expect(() => new LambdaLR(opt, { lrLambda: [(e) => e, (e) => e] })).toThrow("LambdaLR: Expected 1 lr_lambdas, but got 2");
    expect(() => new StepLR({} as never, { stepSize: 1 })).toThrow("StepLR: an object is not an Optimizer");
  });
});
