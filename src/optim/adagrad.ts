// Adagrad and Adadelta, PyTorch 1.13's rules (weight decay, maximize; Adagrad's
// lrDecay and initialAccumulatorValue); one fused kernel call per parameter.

import type { Tensor } from "../tensor.ts";
import { full } from "../tensor-creation.ts";
import { atLeast, check, checkFlags, requireState, show, withOptions } from "./checks.ts";
import { Optimizer, type ParamState, type Params } from "./optimizer.ts";

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Params<AdagradOptions>, opts: AdagradOptions = {}) {
    super(params, withOptions("Adagrad", "options", opts, {
      lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false,
    }, false), { kind: "Adagrad", stateKeys: ["step", "sum"] });
    // As PyTorch: the state exists from the start, the sums at each group's initialAccumulatorValue.
    for (const g of this.paramGroups) {
      for (const p of g.params) this.state.set(p, { step: 0, sum: full([...p.shape], g.initialAccumulatorValue).keep() });
    }
  }

  protected override validate(g: Required<AdagradOptions>): void {
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.lrDecay, 0), `Invalid lr_decay value: ${show(g.lrDecay)}`);
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    check(atLeast(g.initialAccumulatorValue, 0), `Invalid initial_accumulator_value value: ${show(g.initialAccumulatorValue)}`);
    check(atLeast(g.eps, 0), `Invalid epsilon value: ${show(g.eps)}`);
    checkFlags("Adagrad", g, ["maximize"]);
  }

  protected override validateState(st: ParamState, _g: Required<AdagradOptions>, where: string): void {
    requireState(st, where, ["sum"], true);
  }

  protected override update(p: Tensor, grad: Tensor, g: Required<AdagradOptions>): void {
    let st = this.state.get(p);
    if (!st) {
      // A parameter whose state a loaded state dict did not have.
      st = { step: 0, sum: full([...p.shape], g.initialAccumulatorValue).keep() };
      this.state.set(p, st);
    }
    st.step = (st.step as number) + 1;
    const clr = g.lr / (1 + (st.step - 1) * g.lrDecay);
    p.backend.kernels.f32_adagrad_step(p.ptr, grad.ptr, (st.sum as Tensor).ptr, p.numel(), clr, g.eps, g.weightDecay, g.maximize ? 1 : 0);
  }
}

export interface AdadeltaOptions {
  lr?: number;
  rho?: number;
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: Params<AdadeltaOptions>, opts: AdadeltaOptions = {}) {
    super(params, withOptions("Adadelta", "options", opts, {
      lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false,
    }, false), { kind: "Adadelta", stateKeys: ["step", "squareAvg", "accDelta"] });
  }

  protected override validate(g: Required<AdadeltaOptions>): void {
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.rho, 0) && g.rho <= 1, `Invalid rho value: ${show(g.rho)}`);
    check(atLeast(g.eps, 0), `Invalid epsilon value: ${show(g.eps)}`);
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    checkFlags("Adadelta", g, ["maximize"]);
  }

  protected override validateState(st: ParamState, _g: Required<AdadeltaOptions>, where: string): void {
    requireState(st, where, ["squareAvg", "accDelta"], true);
  }

  protected override update(p: Tensor, grad: Tensor, g: Required<AdadeltaOptions>): void {
    let st = this.state.get(p);
    if (!st) {
      st = { step: 0, squareAvg: this.buffer(p), accDelta: this.buffer(p) };
      this.state.set(p, st);
    }
    st.step = (st.step as number) + 1;
    p.backend.kernels.f32_adadelta_step(
      p.ptr, grad.ptr, (st.squareAvg as Tensor).ptr, (st.accDelta as Tensor).ptr, p.numel(),
      g.lr, g.rho, g.eps, g.weightDecay, g.maximize ? 1 : 0,
    );
  }
}
