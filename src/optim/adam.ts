// Adam and AdamW, PyTorch 1.13's rules (amsgrad and maximize included); one
// fused kernel call per parameter.

import { Tensor } from "../tensor.ts";
import { describeValue } from "../graph.ts";
import { atLeast, check, checkFlags, requireState, show, withOptions } from "./checks.ts";
import { Optimizer, type ParamState, type Params } from "./optimizer.ts";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

class AdamBase extends Optimizer<AdamOptions> {
  constructor(kind: "Adam" | "AdamW", params: Params<AdamOptions>, opts: AdamOptions, private readonly decoupled: boolean, weightDecay: number) {
    super(params, withOptions(kind, "options", opts, {
      lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, maximize: false,
    }, false), { kind, stateKeys: ["step", "expAvg", "expAvgSq", "maxExpAvgSq"] });
  }

  protected override validate(g: Required<AdamOptions>): void {
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.eps, 0), `Invalid epsilon value: ${show(g.eps)}`);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) {
      throw new TypeError(`${this.kind}: betas must be a pair [beta1, beta2], got ${describeValue(g.betas)}`);
    }
    g.betas.forEach((b, i) => check(atLeast(b, 0) && b < 1, `Invalid beta parameter at index ${i}: ${show(b)}`));
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    checkFlags(this.kind, g, ["amsgrad", "maximize"]);
  }

  protected override validateState(st: ParamState, g: Required<AdamOptions>, where: string): void {
    requireState(st, where, ["expAvg", "expAvgSq", ...(g.amsgrad ? ["maxExpAvgSq"] : [])], true, g.amsgrad ? " (amsgrad needs maxExpAvgSq)" : "");
  }

  protected override update(p: Tensor, grad: Tensor, g: Required<AdamOptions>): void {
    let st = this.state.get(p);
    if (!st) {
      st = { step: 0, expAvg: this.buffer(p), expAvgSq: this.buffer(p) };
      this.state.set(p, st);
    }
    if (g.amsgrad && !st.maxExpAvgSq) st.maxExpAvgSq = this.buffer(p);
    st.step = (st.step as number) + 1;
    p.backend.kernels.f32_adam_step(
      p.ptr, grad.ptr, (st.expAvg as Tensor).ptr, (st.expAvgSq as Tensor).ptr,
      g.amsgrad ? (st.maxExpAvgSq as Tensor).ptr : 0, p.numel(),
      g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, st.step, this.decoupled ? 1 : 0,
      g.amsgrad ? 1 : 0, g.maximize ? 1 : 0,
    );
  }
}

/** Adam (L2 weight decay added to the gradient), PyTorch 1.13's rule. */
export class Adam extends AdamBase {
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super("Adam", params, opts, false, 0);
  }
}

/** AdamW (decoupled weight decay, default 1e-2), PyTorch 1.13's rule. */
export class AdamW extends AdamBase {
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super("AdamW", params, opts, true, 1e-2);
  }
}
