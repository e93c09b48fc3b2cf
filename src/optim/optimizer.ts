// The Optimizer base (torch.optim.Optimizer): parameter groups, per-parameter
// state, zeroGrad, step, and stateDict() / loadStateDict() with PyTorch's
// structure, so training resumes from a checkpoint exactly where it stopped.
// SGD, Adam, RMSprop, … subclass it, and so can your own optimizer (README,
// "Writing your own optimizer").

import { AnomalyError, hasNaN, isAnomalyEnabled, withoutGrad } from "../autograd.ts";
import { FormatError } from "../errors.ts";
import { describeValue } from "../graph.ts";
import { fmt } from "../shape.ts";
import { boundaryOutsideScopes } from "../storage.ts";
import { Tensor, zeroGradient } from "../tensor.ts";
import { zeros } from "../tensor-creation.ts";
import { groupsOf, withOptions } from "./checks.ts";

/** A parameter group: its parameters and the settings it uses (a group's own, else the optimizer's). */
export type ParamGroup<O> = { params: Tensor[] } & O;
/** What an optimizer takes: parameters, or parameter groups with settings of their own. */
export type Params<O> = Iterable<Tensor> | ParamGroup<Partial<O>>[];

/** A hyperparameter's value: what a parameter group holds besides its params. */
export type Hyperparameter = number | boolean | readonly number[];

/** One parameter's optimizer state: momentumBuffer (SGD), step, expAvg, expAvgSq (Adam), … */
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

export interface OptimizerConfig {
  /** The name in error messages and checkpoints (default: the class's name). */
  kind?: string;
  /** The state entries loadStateDict accepts (default: any). */
  stateKeys?: readonly string[];
}

/**
 * The base of every optimizer (torch.optim.Optimizer). `O` is the settings
 * type, e.g. `{ lr?: number; momentum?: number }`; each parameter group holds
 * all of them (`Required<O>`), its own or else the optimizer's defaults.
 *
 * To write your own, pass the parameters and the complete defaults to
 * `super(params, defaults)`, then override `update(param, grad, group)`, which
 * step() calls for each parameter that has a gradient, inside noGrad (or
 * override step() itself). Keep per-parameter tensors and step counts in
 * `this.state` (typed by `S`, e.g. `{ momentumBuffer: Tensor }`), so
 * stateDict() and checkpoints carry them. Override `validate(group)` to refuse
 * bad settings, in the constructor and when a state dict is loaded.
 */
export abstract class Optimizer<O extends object = Record<string, Hyperparameter>, S extends object = ParamState> {
  readonly paramGroups: ParamGroup<Required<O>>[] = [];
  /** Per-parameter state (momentum buffers, Adam moments, step counts): Tensors and numbers, typed by S. */
  readonly state = new Map<Tensor, S>();
  readonly defaults: Required<O>;
  /** The name in error messages and checkpoints. */
  readonly kind: string;
  private readonly stateKeys: readonly string[] | null;
  private readonly seen = new Set<Tensor>();

  constructor(params: Params<O>, defaults: Required<O>, config: OptimizerConfig = {}) {
    this.kind = config.kind ?? new.target.name;
    this.stateKeys = config.stateKeys ?? null;
    if (defaults === null || typeof defaults !== "object" || Array.isArray(defaults)) {
      throw new TypeError(`${this.kind}: defaults must be an object of settings, got ${describeValue(defaults)}`);
    }
    this.defaults = { ...defaults };
    for (const g of groupsOf(this.kind, params as Params<unknown>)) this.addParamGroup(g as ParamGroup<Partial<O>>);
  }

  /** Adds a group of parameters with settings of its own (torch's add_param_group). */
  addParamGroup(group: ParamGroup<Partial<O>>): void {
    const i = this.paramGroups.length;
    if (!group || typeof group !== "object" || !Array.isArray(group.params)) {
      throw new TypeError(`parameter group ${i} must be { params: Tensor[], … }, got ${describeValue(group)}`);
    }
    for (const p of group.params) {
      if (!(p instanceof Tensor)) throw new TypeError(`optimizer can only optimize Tensors, but group ${i} has ${describeValue(p)}`);
      if (!p.isLeaf) throw new TypeError("can't optimize a non-leaf Tensor");
      if (p.dtype !== "float32") throw new TypeError(`optimizer can only optimize float32 Tensors, but group ${i} has an ${p.dtype} one`);
      if (this.seen.has(p) || group.params.indexOf(p) !== group.params.lastIndexOf(p)) {
        throw new TypeError("some parameters appear in more than one parameter group");
      }
    }
    const settings = withOptions(this.kind, `parameter group ${i}`, group, this.defaults, true);
    this.validate(settings);
    for (const p of group.params) this.seen.add(p);
    this.paramGroups.push({ ...settings, params: [...group.params] } as ParamGroup<Required<O>>);
  }

  /** Throws a RangeError or TypeError naming a bad setting. The default accepts anything. */
  protected validate(_group: Required<O>): void {}

  /** Checks one parameter's loaded state against its group's settings (what step() will read). The default accepts anything. */
  protected validateState(_state: ParamState, _group: Required<O>, _where: string): void {}

  /** Updates one parameter from its gradient; step() calls it inside noGrad. */
  protected update(_param: Tensor, _grad: Tensor, _group: Required<O>): void {
    throw new TypeError(`${this.kind}: an optimizer must override update(param, grad, group) or step()`);
  }

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
    withoutGrad(() => {
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
    });
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
    for (const [p, st] of this.state) state[index.get(p)!] = { ...st } as ParamState;
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
        this.state.set(param, copy as S);
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
      throw new FormatError(`Error in loading state_dict for ${this.kind}: ${detail}`);
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
        if (this.stateKeys && !this.stateKeys.includes(k)) fail(`${where} has an unknown entry "${k}" (${this.kind} keeps ${this.stateKeys.join(", ")})`);
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

  /** An owned state buffer of p's shape, zero-filled: for momentum buffers and moments. */
  protected buffer(p: Tensor): Tensor {
    return zeros([...p.shape]).keep();
  }
}
