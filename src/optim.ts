// optim: SGD, Adam and AdamW with parameter groups, each step one fused kernel
// call per parameter (PyTorch 1.13's update rule, weight decay and momentum included).
// stateDict() / loadStateDict() have PyTorch's structure, so training resumes
// from a checkpoint exactly where it stopped.

import { AnomalyError, hasNaN, isAnomalyEnabled, withoutGrad } from "./autograd.ts";
import { describeValue } from "./ops.ts";
import { fmt } from "./shape.ts";
import { boundaryOutsideScopes } from "./storage.ts";
import { Tensor, zeroGradient, zeros } from "./tensor.ts";

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

/** A hyperparameter's value: what a parameter group holds besides its params. */
export type Hyperparameter = number | boolean | readonly number[];

/** One parameter's optimizer state: momentumBuffer (SGD), or step, expAvg, expAvgSq and maxExpAvgSq (Adam). */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state, as PyTorch's optimizer.state_dict(): per-parameter
 * state keyed by the parameter's index (counting through the groups in order),
 * and each group's hyperparameters with the indices of its parameters.
 * stateDict() returns the optimizer's own state tensors, not copies.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: ({ params: number[] } & Record<string, Hyperparameter>)[];
}

export type OptimizerKind = "SGD" | "Adam" | "AdamW";

/** The base of SGD, Adam and AdamW (torch.optim.Optimizer). */
export abstract class Optimizer<O extends object> {
  readonly paramGroups: (ParamGroup<Required<O>>)[];
  /** Per-parameter state (momentum buffers, Adam moments, step counts). */
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: Required<O>;

  constructor(
    readonly kind: OptimizerKind,
    params: Params<O>,
    opts: O,
    base: Required<O>,
    /** The state keys a parameter may have: what loadStateDict accepts. */
    private readonly stateKeys: readonly string[],
  ) {
    this.defaults = withOptions(kind, "options", opts, base, false);
    const groups = groupsOf(kind, params);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, i) => {
      if (!g || typeof g !== "object" || !Array.isArray(g.params)) {
        throw new TypeError(`parameter group ${i} must be { params: Tensor[], … }, got ${describeValue(g)}`);
      }
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new TypeError(`optimizer can only optimize Tensors, but group ${i} has ${describeValue(p)}`);
        if (!p.isLeaf) throw new Error("can't optimize a non-leaf Tensor");
        if (p.dtype !== "float32") throw new TypeError(`optimizer can only optimize float32 Tensors, but group ${i} has an ${p.dtype} one`);
        if (seen.has(p)) throw new Error("some parameters appear in more than one parameter group");
        seen.add(p);
      }
      const group = { ...withOptions(kind, `parameter group ${i}`, g, this.defaults, true), params: [...g.params] };
      this.validate(group);
      return group as ParamGroup<Required<O>>;
    });
  }

  protected abstract validate(group: Required<O>): void;
  /** Checks one parameter's loaded state against its group's settings (what step() will read). */
  protected abstract validateState(state: ParamState, group: Required<O>, where: string): void;
  protected abstract update(p: Tensor, grad: Tensor, group: Required<O>): void;

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    // Reading every pointer first: a disposed parameter or gradient throws before any is updated, not halfway.
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        p.ptr;
        p.grad.ptr;
      }
    }
    let index = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = p.grad;
        if (grad) {
          this.update(p, grad, g);
          p.storage.version++;
          if (isAnomalyEnabled() && hasNaN(p)) {
            throw new AnomalyError(
              `anomaly: ${this.kind} step produced NaN in parameter ${index} of shape ${fmt(p.shape)}` +
                (hasNaN(grad) ? " (its gradient already held NaN)" : ""),
            );
          }
        }
        index++;
      }
    }
    boundaryOutsideScopes("optimizer.step()", this);
  }

  /** Zeroes every gradient (PyTorch 1.13's default: fill with zeros, keep the memory). */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    withoutGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          if (opts.setToNone) p.grad = null;
          else zeroGradient(p.grad);
        }
      }
    });
  }

  /** The hyperparameters and per-parameter state (PyTorch's optimizer.state_dict()). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g as ParamGroup<Record<string, Hyperparameter>>;
      for (const k of Object.keys(hyper)) if (Array.isArray(hyper[k])) hyper[k] = [...(hyper[k] as number[])];
      const ids = params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return { ...hyper, params: ids };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, st] of this.state) state[index.get(p)!] = { ...st };
    return { state, paramGroups };
  }

  /**
   * Loads a stateDict() (PyTorch's optimizer.load_state_dict): the groups'
   * hyperparameters and copies of the state, matched to this optimizer's
   * parameters by position. Everything is checked before anything changes.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const plan = this.planLoad(stateDict);
    withoutGrad(() => {
      this.state.clear();
      for (const { param, state } of plan.states) {
        const copy: ParamState = {};
        for (const [k, v] of Object.entries(state)) copy[k] = typeof v === "number" ? v : this.buffer(param).copy_(v);
        this.state.set(param, copy);
      }
    });
    plan.groups.forEach((hyper, i) => Object.assign(this.paramGroups[i], hyper));
  }

  /** @internal Throws what loadStateDict would throw, changing nothing. */
  checkStateDict(stateDict: OptimizerStateDict): void {
    this.planLoad(stateDict);
  }

  private planLoad(sd: OptimizerStateDict): { groups: Required<O>[]; states: { param: Tensor; state: ParamState }[] } {
    const fail = (detail: string): never => {
      throw new Error(`Error in loading state_dict for ${this.kind}: ${detail}`);
    };
    if (!sd || typeof sd !== "object" || !Array.isArray(sd.paramGroups) || !sd.state || typeof sd.state !== "object") {
      fail(`expected { state, paramGroups } from an optimizer's stateDict(), got ${describeValue(sd)}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      fail(`loaded state dict has a different number of parameter groups (${sd.paramGroups.length}, this optimizer has ${this.paramGroups.length})`);
    }
    const paramAt = new Map<number, { param: Tensor; group: Required<O> }>();
    const groups = sd.paramGroups.map((saved, i) => {
      const own = this.paramGroups[i];
      if (!saved || typeof saved !== "object" || !Array.isArray(saved.params)) fail(`parameter group ${i} has no params list`);
      if (saved.params.length !== own.params.length) {
        fail(`loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${i}: ${saved.params.length} parameters, this optimizer's has ${own.params.length})`);
      }
      const { params: _params, ...current } = own;
      let hyper: Required<O>;
      try {
        hyper = withOptions(this.kind, `parameter group ${i}`, saved, current as unknown as Required<O>, true);
        this.validate(hyper);
      } catch (error) {
        return fail(`parameter group ${i}: ${(error as Error).message}`);
      }
      saved.params.forEach((id, j) => {
        if (!Number.isInteger(id) || id < 0 || paramAt.has(id)) fail(`parameter group ${i} lists parameter index ${String(id)} twice or as a non-index`);
        paramAt.set(id, { param: own.params[j], group: hyper });
      });
      return hyper;
    });
    const states: { param: Tensor; state: ParamState }[] = [];
    for (const key of Object.keys(sd.state)) {
      const where = `state of parameter ${key}`;
      const target = paramAt.get(Number(key));
      if (!target) fail(`${where}: no parameter group lists index ${key}`);
      const state = sd.state[Number(key)];
      if (!state || typeof state !== "object") fail(`${where} must be an object, got ${describeValue(state)}`);
      for (const [k, v] of Object.entries(state)) {
        if (!this.stateKeys.includes(k)) fail(`${where} has an unknown entry "${k}" (${this.kind} keeps ${this.stateKeys.join(", ")})`);
        if (v instanceof Tensor) {
          if (v.shape.join() !== target!.param.shape.join()) {
            fail(`${where}: ${k} has shape ${fmt(v.shape)}, the parameter has shape ${fmt(target!.param.shape)}`);
          }
          if (v.dtype !== "float32") fail(`${where}: ${k} must be float32, got ${v.dtype}`);
          if (!v.storage.isAlive) fail(`${where}: ${k}'s memory was already reclaimed or disposed`);
        } else if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
          fail(`${where}: ${k} must be a Tensor or a step count, got ${describeValue(v)}`);
        }
      }
      try {
        this.validateState(state, target!.group, where);
      } catch (error) {
        fail((error as Error).message);
      }
      states.push({ param: target!.param, state });
    }
    return { groups, states };
  }

  /** Owned state buffer, zero-filled. */
  protected buffer(p: Tensor): Tensor {
    return zeros([...p.shape]).keep();
  }
}

/** The params argument as groups, or a message that says what to pass instead. */
function groupsOf<O>(kind: string, params: Params<O>): ParamGroup<O>[] {
  const given: unknown = params;
  const wrong = (hint: string) =>
    new TypeError(`${kind}: params must be an iterable of Tensors or of parameter groups, but got ${describeValue(given)}${hint}`);
  if (given instanceof Tensor) throw wrong(": pass [tensor]");
  if (given !== null && typeof given === "object" && typeof (given as { parameters?: unknown }).parameters === "function") {
    throw wrong(": pass model.parameters()");
  }
  if (given === null || typeof given !== "object" || typeof (given as Iterable<unknown>)[Symbol.iterator] !== "function") throw wrong("");
  const list = [...(given as Iterable<unknown>)];
  if (list.length === 0) throw new RangeError("optimizer got an empty parameter list");
  return list[0] instanceof Tensor ? [{ params: list } as ParamGroup<O>] : (list as ParamGroup<O>[]);
}

/**
 * `base` with `given`'s settings on top. An undefined setting keeps the base
 * value (`{ weightDecay: undefined }` means the default), and an unknown name
 * is refused: a PyTorch spelling such as weight_decay would otherwise be
 * ignored without a word.
 */
function withOptions<O>(kind: string, where: string, given: unknown, base: Required<O>, isGroup: boolean): Required<O> {
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new TypeError(`${kind}: ${where} must be an object of settings, got ${describeValue(given)}`);
  }
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (isGroup && k === "params") continue;
    if (!Object.hasOwn(base, k)) {
      const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = camel !== k && Object.hasOwn(base, camel) ? `did you mean "${camel}"?` : `${kind} takes ${Object.keys(base).join(", ")}`;
      throw new TypeError(`${kind}: unknown setting "${k}" in ${where} (${hint})`);
    }
    if (v !== undefined) out[k] = v;
  }
  return out as Required<O>;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

/** A finite number ≥ min; non-numbers fail too (a string "0.1" would be coerced by the kernel call). */
function atLeast(v: unknown, min: number): boolean {
  return typeof v === "number" && Number.isFinite(v) && v >= min;
}

function show(v: unknown): string {
  return typeof v === "number" ? String(v) : describeValue(v);
}

function checkFlags(kind: string, g: Record<string, unknown>, names: string[]): void {
  for (const n of names) {
    if (typeof g[n] !== "boolean") throw new TypeError(`${kind}: ${n} must be true or false, got ${describeValue(g[n])}`);
  }
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: SGDOptions = {}) {
    // lr has no default, as in PyTorch: undefined until given.
    super("SGD", params, opts, {
      lr: undefined as unknown as number, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, l1: 0,
    }, ["momentumBuffer"]);
  }

  protected validate(g: Required<SGDOptions>): void {
    check(g.lr !== undefined, "SGD: lr is required (e.g. new optim.SGD(params, { lr: 0.1 }))");
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.momentum, 0), `Invalid momentum value: ${show(g.momentum)}`);
    check(atLeast(g.dampening, -Infinity), `Invalid dampening value: ${show(g.dampening)}`);
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    check(atLeast(g.l1, 0), `Invalid l1 value: ${show(g.l1)}`);
    checkFlags("SGD", g, ["nesterov", "maximize"]);
    check(!g.nesterov || (g.momentum > 0 && g.dampening === 0), "Nesterov momentum requires a momentum and zero dampening");
  }

  protected validateState(): void {
    // A momentum buffer is all SGD keeps, and its shape was checked with the other tensors.
  }

  protected update(p: Tensor, grad: Tensor, g: Required<SGDOptions>): void {
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

class AdamBase extends Optimizer<AdamOptions> {
  constructor(kind: "Adam" | "AdamW", params: Params<AdamOptions>, opts: AdamOptions, private readonly decoupled: boolean, weightDecay: number) {
    super(kind, params, opts, {
      lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, maximize: false,
    }, ["step", "expAvg", "expAvgSq", "maxExpAvgSq"]);
  }

  protected validate(g: Required<AdamOptions>): void {
    check(atLeast(g.lr, 0), `Invalid learning rate: ${show(g.lr)}`);
    check(atLeast(g.eps, 0), `Invalid epsilon value: ${show(g.eps)}`);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) {
      throw new TypeError(`${this.kind}: betas must be a pair [beta1, beta2], got ${describeValue(g.betas)}`);
    }
    g.betas.forEach((b, i) => check(atLeast(b, 0) && b < 1, `Invalid beta parameter at index ${i}: ${show(b)}`));
    check(atLeast(g.weightDecay, 0), `Invalid weight_decay value: ${show(g.weightDecay)}`);
    checkFlags(this.kind, g, ["amsgrad", "maximize"]);
  }

  protected validateState(st: ParamState, g: Required<AdamOptions>, where: string): void {
    const needed = ["step", "expAvg", "expAvgSq", ...(g.amsgrad ? ["maxExpAvgSq"] : [])];
    const missing = needed.filter((k) => !(k in st));
    if (missing.length) {
      throw new Error(`${where} lacks ${missing.join(", ")}${g.amsgrad ? " (amsgrad needs maxExpAvgSq)" : ""}`);
    }
    for (const k of needed.slice(1)) if (!(st[k] instanceof Tensor)) throw new Error(`${where}: ${k} must be a Tensor`);
    if (typeof st.step !== "number") throw new Error(`${where}: step must be a number`);
  }

  protected update(p: Tensor, grad: Tensor, g: Required<AdamOptions>): void {
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
