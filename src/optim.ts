// optim: SGD, Adam and AdamW with parameter groups, each step one fused kernel
// call per parameter (PyTorch 1.13's update rule, weight decay and momentum included).

import { noGrad } from "./autograd.ts";
import { Tensor, zeros } from "./tensor.ts";

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

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export type ParamGroup<O> = { params: Tensor[] } & O;
type Params<O> = Tensor[] | ParamGroup<O>[];

abstract class Optimizer<O extends object> {
  readonly paramGroups: (ParamGroup<Required<O>>)[];
  /** Per-parameter state (momentum buffers, Adam moments, step counts). */
  readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  constructor(params: Params<O>, readonly defaults: Required<O>) {
    const list = [...(params as unknown[])];
    if (list.length === 0) throw new RangeError("optimizer got an empty parameter list");
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as ParamGroup<O>[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, i) => {
      if (!g || !Array.isArray(g.params)) throw new TypeError(`parameter group ${i} must be { params: Tensor[], … }`);
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new TypeError(`optimizer can only optimize Tensors, but group ${i} has ${typeof p}`);
        if (!p.isLeaf) throw new Error("can't optimize a non-leaf Tensor");
        if (seen.has(p)) throw new Error("some parameters appear in more than one parameter group");
        seen.add(p);
      }
      const group = { ...defaults, ...g } as ParamGroup<Required<O>>;
      this.validate(group);
      return group;
    });
  }

  protected abstract validate(group: Required<O>): void;
  abstract step(): void;

  /** Zeroes every gradient (PyTorch 1.13's default: fill with zeros, keep the memory). */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          if (opts.setToNone) p.grad = null;
          else p.grad.zero_();
        }
      }
    });
  }

  /** Owned state buffer, zero-filled. */
  protected buffer(p: Tensor): Tensor {
    return zeros([...p.shape]).keep();
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: SGDOptions = {}) {
    super(params, {
      lr: opts.lr ?? NaN, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, l1: 0, ...opts,
    } as Required<SGDOptions>);
  }

  protected validate(g: Required<SGDOptions>): void {
    check(!Number.isNaN(g.lr), "SGD: lr is required (e.g. new optim.SGD(params, { lr: 0.1 }))");
    check(g.lr >= 0, `Invalid learning rate: ${g.lr}`);
    check(g.momentum >= 0, `Invalid momentum value: ${g.momentum}`);
    check(g.weightDecay >= 0, `Invalid weight_decay value: ${g.weightDecay}`);
    check(g.l1 >= 0, `Invalid l1 value: ${g.l1}`);
    check(!g.nesterov || (g.momentum > 0 && g.dampening === 0), "Nesterov momentum requires a momentum and zero dampening");
  }

  step(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        let first = 0;
        let buf = 0;
        if (g.momentum !== 0) {
          let st = this.state.get(p);
          if (!st) {
            st = { momentumBuffer: this.buffer(p) };
            this.state.set(p, st);
            first = 1;
          }
          buf = (st.momentumBuffer as Tensor).ptr;
        }
        p.backend.kernels.f32_sgd_step(
          p.ptr, p.grad.ptr, buf, p.numel(), g.lr, g.momentum, g.dampening, g.weightDecay,
          g.nesterov ? 1 : 0, g.maximize ? 1 : 0, g.l1, first,
        );
        p.storage.version++;
      }
    }
  }
}

class AdamBase extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, opts: AdamOptions, private readonly decoupled: boolean, weightDecay: number) {
    super(params, {
      lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, maximize: false, ...opts,
    } as Required<AdamOptions>);
  }

  protected validate(g: Required<AdamOptions>): void {
    check(g.lr >= 0, `Invalid learning rate: ${g.lr}`);
    check(g.eps >= 0, `Invalid epsilon value: ${g.eps}`);
    check(g.betas[0] >= 0 && g.betas[0] < 1, `Invalid beta parameter at index 0: ${g.betas[0]}`);
    check(g.betas[1] >= 0 && g.betas[1] < 1, `Invalid beta parameter at index 1: ${g.betas[1]}`);
    check(g.weightDecay >= 0, `Invalid weight_decay value: ${g.weightDecay}`);
  }

  step(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        let st = this.state.get(p);
        if (!st) {
          st = { step: 0, expAvg: this.buffer(p), expAvgSq: this.buffer(p) };
          if (g.amsgrad) st.maxExpAvgSq = this.buffer(p);
          this.state.set(p, st);
        }
        st.step = (st.step as number) + 1;
        p.backend.kernels.f32_adam_step(
          p.ptr, p.grad.ptr, (st.expAvg as Tensor).ptr, (st.expAvgSq as Tensor).ptr,
          g.amsgrad ? (st.maxExpAvgSq as Tensor).ptr : 0, p.numel(),
          g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, st.step, this.decoupled ? 1 : 0,
          g.amsgrad ? 1 : 0, g.maximize ? 1 : 0,
        );
        p.storage.version++;
      }
    }
  }
}

/** Adam (L2 weight decay added to the gradient), PyTorch 1.13's rule. */
export class Adam extends AdamBase {
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super(params, opts, false, 0);
  }
}

/** AdamW (decoupled weight decay, default 1e-2), PyTorch 1.13's rule. */
export class AdamW extends AdamBase {
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super(params, opts, true, 1e-2);
  }
}
