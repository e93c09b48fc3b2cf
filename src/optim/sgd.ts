// SGD, PyTorch 1.13's rule (momentum, dampening, Nesterov, weight decay,
// maximize), plus an L1 penalty applied by the optimizer; one fused kernel call
// per parameter.

import type { Tensor } from "../tensor.ts";
import { atLeast, check, checkFlags, show, withOptions } from "./checks.ts";
import { Optimizer, type Params } from "./optimizer.ts";

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
  /** λ of an L1 penalty λ·Σ|p| applied by the optimizer: adds λ·sign(p) to the gradient. */
  l1?: number;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: SGDOptions = {}) {
    // lr has no default, as in PyTorch: undefined until given.
    super(params, withOptions("SGD", "options", opts, {
      lr: undefined as unknown as number, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, l1: 0,
    }, false), { kind: "SGD", stateKeys: ["momentumBuffer"] });
  }

  protected override validate(g: Required<SGDOptions>): void {
    check(g.lr !== undefined, "SGD: lr is required (e.g. new optim.SGD(params, { lr: 0.1 }))");
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.momentum, 0), `Invalid momentum value: ${show(g.momentum)}`);
    check(atLeast(g.dampening, -Infinity), `Invalid dampening value: ${show(g.dampening)}`);
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    check(atLeast(g.l1, 0), `Invalid l1 value: ${show(g.l1)}`);
    checkFlags("SGD", g, ["nesterov", "maximize"]);
    check(!g.nesterov || (g.momentum > 0 && g.dampening === 0), "Nesterov momentum requires a momentum and zero dampening");
  }

  protected override update(p: Tensor, grad: Tensor, g: Required<SGDOptions>): void {
    let first = 0;
    let buf = 0;
    if (g.momentum !== 0) {
      let st = this.state.get(p);
      if (!st?.momentumBuffer) {
        st = { momentumBuffer: this.buffer(p) };
        this.state.set(p, st);
        first = 1;
      }
      buf = (st.momentumBuffer as Tensor).ptr;
    }
    p.backend.kernels.f32_sgd_step(
      p.ptr, grad.ptr, buf, p.numel(), g.lr, g.momentum, g.dampening, g.weightDecay,
      g.nesterov ? 1 : 0, g.maximize ? 1 : 0, g.l1, first,
    );
  }
}
