// A user's own optimizer on the documented Optimizer base, written as the
// README shows: typed settings, no casts, parameter groups, state that
// stateDict() carries, and settings checked where the built-ins check theirs.

import { describe, expect, it } from "vitest";
import { io, nn, optim, tensor, type Tensor } from "../src/index.ts";

interface SignSGDOptions {
  lr?: number;
  momentum?: number;
}

interface SignSGDState {
  momentumBuffer: Tensor;
}

/** signSGD with momentum: p −= lr · sign(buf), buf = momentum · buf + grad. */
class SignSGD extends optim.Optimizer<SignSGDOptions, SignSGDState> {
  constructor(params: optim.Params<SignSGDOptions>, opts: SignSGDOptions = {}) {
    super(params, { lr: 0.01, momentum: 0.9, ...opts });
  }

  protected override validate(group: Required<SignSGDOptions>): void {
    if (!(group.lr > 0)) throw new RangeError(`Invalid learning rate: ${group.lr}`);
  }

  protected override update(p: Tensor, grad: Tensor, group: Required<SignSGDOptions>): void {
    let state = this.state.get(p);
    if (!state) {
      state = { momentumBuffer: this.buffer(p) };
      this.state.set(p, state);
    }
    state.momentumBuffer.mul_(group.momentum).add_(grad);
    const buf = state.momentumBuffer;
    p.sub_(buf.sign().mul(group.lr));
  }
}

/** An optimizer that overrides step() itself, as PyTorch code does. */
class HalveGrads extends optim.Optimizer<{ lr?: number }> {
  constructor(params: optim.Params<{ lr?: number }>) {
    super(params, { lr: 1 });
  }
  override step(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad?.mul_(0.5 * group.lr);
  }
}

describe("writing your own optimizer on optim.Optimizer", () => {
  it("steps with update(): each parameter by its group's settings", () => {
    const w = tensor([1, -1, 0.5], { requiresGrad: true });
    const b = tensor([0], { requiresGrad: true });
    const opt = new SignSGD([{ params: [w] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    w.grad = tensor([2, -3, 0]);
    b.grad = tensor([-1]);
    opt.step();
    expect(Array.from(w.data())).toEqual([Math.fround(0.9), Math.fround(-0.9), 0.5]);
    expect(Array.from(b.data())).toEqual([0.5]);
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0.9], [0.5, 0.9]]);
    expect(opt.kind).toBe("SignSGD");
  });

  it("trains a model like any built-in optimizer, zeroGrad included", () => {
    const net = new nn.Sequential(new nn.Linear(2, 1));
    const opt = new SignSGD(net.parameters(), { lr: 0.05 });
    const X = tensor([[1, 2], [3, 4], [5, 6]]);
    const y = tensor([[1], [2], [3]]);
    const lossFn = new nn.MSELoss();
    const first = lossFn.forward(net.forward(X), y).item();
    let last = first;
    for (let i = 0; i < 30; i++) {
      opt.zeroGrad();
      const loss = lossFn.forward(net.forward(X), y);
      loss.backward();
      opt.step();
      last = loss.item();
    }
    expect(last).toBeLessThan(first / 10);
  });

  it("carries its state through stateDict() and loadStateDict()", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const opt = new SignSGD([w]);
    w.grad = tensor([1, -1]);
    opt.step();
    const w2 = tensor([1, 2], { requiresGrad: true });
    const opt2 = new SignSGD([w2], { lr: 0.3 });
    opt2.loadStateDict(opt.stateDict());
    expect(opt2.paramGroups[0].lr).toBe(0.01);
    expect(Array.from(opt2.state.get(w2)!.momentumBuffer.data())).toEqual([1, -1]);
  });

  it("checks its settings through validate(), in the constructor and in parameter groups", () => {
    const w = () => [tensor([1], { requiresGrad: true })];
    expect(() => new SignSGD(w(), { lr: 0 })).toThrow("Invalid learning rate: 0");
    expect(() => new SignSGD([{ params: w(), lr: -1 }])).toThrow("Invalid learning rate: -1");
    expect(() => new SignSGD([{ params: w(), beta: 1 } as never])).toThrow('SignSGD: unknown setting "beta" in parameter group 0 (SignSGD takes lr, momentum)');
  });

  it("works under a scheduler and in a checkpoint", () => {
    const net = new nn.Sequential(new nn.Linear(2, 1));
    const opt = new SignSGD(net.parameters(), { lr: 0.2 });
    const sched = new optim.lrScheduler.ExponentialLR(opt, { gamma: 0.5 });
    sched.step();
    expect(opt.paramGroups[0].lr).toBe(0.1);
    net.forward(tensor([[1, 2]])).sum().backward();
    opt.step();
    const ckpt = io.saveCheckpoint({ model: net, optimizer: opt });
    const opt2 = new SignSGD(net.parameters());
    io.loadCheckpoint(ckpt, { model: net, optimizer: opt2 });
    expect(opt2.paramGroups[0].lr).toBe(0.1);
    expect(Array.from(opt2.state.get(net.parameters()[0])!.momentumBuffer.data())).toEqual([1, 2]);
  });

  it("may override step() instead, and works under a scheduler", () => {
    const w = tensor([1], { requiresGrad: true });
    const opt = new HalveGrads([w]);
    const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    w.grad = tensor([8]);
    opt.step();
    sched.step();
    opt.step();
    // 8 · 0.5 · lr 1, then · 0.5 · lr 0.5 once StepLR has halved the rate.
    expect(w.grad.item()).toBe(1);
    expect(sched.getLastLr()).toEqual([0.5]);
  });

  it("says what is missing when neither update() nor step() is overridden", () => {
    class Empty extends optim.Optimizer<{ lr?: number }> {}
    const w = tensor([1], { requiresGrad: true });
    const opt = new Empty([w], { lr: 1 });
    w.grad = tensor([1]);
    expect(() => opt.step()).toThrow("Empty: an optimizer must override update(param, grad, group) or step()");
  });
});
