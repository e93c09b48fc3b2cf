// RMSprop, PyTorch 1.13's rule (centered, momentum, weight decay, maximize);
// one fused kernel call per parameter.

import type { Tensor } from "../tensor.ts";
import { atLeast, check, checkFlags, requireState, show, withOptions } from "./checks.ts";
import { Optimizer, type ParamState, type Params } from "./optimizer.ts";

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, opts: RMSpropOptions = {}) {
    super(params, withOptions("RMSprop", "options", opts, {
      lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false,
    }, false), { kind: "RMSprop", stateKeys: ["step", "squareAvg", "momentumBuffer", "gradAvg"] });
  }

  protected override validate(g: Required<RMSpropOptions>): void {
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.eps, 0), `Invalid epsilon value: ${show(g.eps)}`);
    check(atLeast(g.momentum, 0), `Invalid momentum value: ${show(g.momentum)}`);
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    check(atLeast(g.alpha, 0), `Invalid alpha value: ${show(g.alpha)}`);
    checkFlags("RMSprop", g, ["centered", "maximize"]);
  }

  protected override validateState(st: ParamState, g: Required<RMSpropOptions>, where: string): void {
    const tensors = ["squareAvg", ...(g.momentum > 0 ? ["momentumBuffer"] : []), ...(g.centered ? ["gradAvg"] : [])];
    requireState(st, where, tensors, true, " (momentum needs momentumBuffer, centered needs gradAvg)");
  }

  protected override update(p: Tensor, grad: Tensor, g: Required<RMSpropOptions>): void {
    let st = this.state.get(p);
    if (!st) {
      st = { step: 0, squareAvg: this.buffer(p) };
      this.state.set(p, st);
    }
    // Made when first needed, as PyTorch makes them when the state is (a group's settings can change between steps).
    if (g.momentum > 0 && !st.momentumBuffer) st.momentumBuffer = this.buffer(p);
    if (g.centered && !st.gradAvg) st.gradAvg = this.buffer(p);
    st.step = (st.step as number) + 1;
    p.backend.kernels.f32_rmsprop_step(
      p.ptr, grad.ptr, (st.squareAvg as Tensor).ptr, g.centered ? (st.gradAvg as Tensor).ptr : 0,
      g.momentum > 0 ? (st.momentumBuffer as Tensor).ptr : 0, p.numel(),
      g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, g.centered ? 1 : 0, g.maximize ? 1 : 0,
    );
  }
}
