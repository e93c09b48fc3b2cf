// Module: parameters, children, train/eval, and state dicts with PyTorch's names.

import { noGrad } from "../autograd.ts";
import { describeValue } from "../ops.ts";
import { fmt } from "../shape.ts";
import { zeroGradient, type Tensor } from "../tensor.ts";

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** True in training mode (dropout active), false after eval(). */
  training = true;
  private readonly ownParameters = new Map<string, Tensor | null>();
  private readonly children = new Map<string, Module>();
  private readonly ownBuffers = new Map<string, Tensor | null>();

  abstract forward(...inputs: Tensor[]): Tensor;

  /**
   * One function computing next.forward(this.forward(x)) in fewer passes, or
   * null: nn.Sequential asks each layer about the one after it. (Linear
   * followed by ReLU becomes F.linearRelu; ReLU followed by Dropout in training,
   * F.reluDropout.) The result must be bitwise that of the two forwards,
   * gradients included.
   */
  fusedWith(_next: Module): ((x: Tensor) => Tensor) | null {
    return null;
  }

  /** Registers t as a parameter: it requires grad and is never reclaimed at a step boundary. */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t) {
      if (t.dtype !== "float32") throw new TypeError(`parameter ${name} must be float32, got ${t.dtype}`);
      t.requiresGrad = true;
      t.keep();
    }
    this.ownParameters.set(name, t);
    return t;
  }

  /**
   * Registers t as a buffer: state that is not a parameter (BatchNorm's running
   * statistics). It never requires grad, is never reclaimed at a step boundary,
   * and is saved in stateDict after the module's parameters, as in PyTorch.
   */
  registerBuffer(name: string, t: Tensor | null): Tensor | null {
    if (t) {
      t.requiresGrad = false;
      t.keep();
    }
    this.ownBuffers.set(name, t);
    return t;
  }

  /** [name, buffer] pairs, own buffers first, then each child's, as PyTorch orders them. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const walk = (m: Module, pre: string) => {
      for (const [n, b] of m.ownBuffers) if (b) out.push([pre + n, b]);
      for (const [n, c] of m.children) walk(c, `${pre}${n}.`);
    };
    walk(this, prefix ? `${prefix}.` : "");
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Parameters then buffers of each module, depth first: PyTorch's state_dict order. */
  private namedState(prefix: string, parametersOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, pre: string) => {
      for (const [n, p] of m.ownParameters) {
        if (p && !seen.has(p)) {
          seen.add(p);
          out.push([pre + n, p]);
        }
      }
      if (!parametersOnly) for (const [n, b] of m.ownBuffers) if (b) out.push([pre + n, b]);
      for (const [n, c] of m.children) walk(c, `${pre}${n}.`);
    };
    walk(this, prefix ? `${prefix}.` : "");
    return out;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (!(m instanceof Module)) throw new TypeError(`child module "${name}" must be a Module, got ${describeValue(m)}`);
    this.children.set(name, m);
    return m;
  }

  /** [name, parameter] pairs, own parameters first, then each child's ("1.weight"), as PyTorch orders them. */
  namedParameters(prefix = ""): [string, Tensor][] {
    return this.namedState(prefix, true);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every module in the tree, this one first. */
  modules(): Module[] {
    return [this, ...[...this.children.values()].flatMap((c) => c.modules())];
  }

  /** Calls fn on every submodule and then on this one, like PyTorch's apply (d2l's net.apply(init_weights)). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children.values()) c.apply(fn);
    fn(this);
    return this;
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    noGrad(() => {
      for (const p of this.parameters()) if (p.grad) zeroGradient(p.grad);
    });
  }

  /** The parameters and buffers by PyTorch name, in PyTorch's order; the tensors share memory with the model. */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [n, p] of this.namedState("", false)) sd[n] = p.detach();
    return sd;
  }

  /** Copies values in by name. strict (default) throws on missing or unexpected keys, like PyTorch. */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const result = this.checkStateDict(sd, opts);
    const own = new Map(this.namedState("", false));
    noGrad(() => {
      for (const k of Object.keys(sd)) own.get(k)?.copy_(sd[k]);
    });
    return result;
  }

  /** @internal Throws what loadStateDict would throw, changing nothing. */
  checkStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const own = new Map(this.namedState("", false));
    const keys = Object.keys(sd);
    const missingKeys = [...own.keys()].filter((k) => !Object.hasOwn(sd, k));
    const unexpectedKeys = keys.filter((k) => !own.has(k));
    const errors: string[] = [];
    if (strict && unexpectedKeys.length) errors.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
    if (strict && missingKeys.length) errors.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
    for (const k of keys) {
      const p = own.get(k);
      const v = sd[k];
      if (!p) continue;
      if (!v || typeof v !== "object" || !("shape" in v)) {
        errors.push(`While copying the parameter named "${k}", expected a Tensor, got ${typeof v}.`);
      } else if (v.shape.join() !== p.shape.join()) {
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${fmt(v.shape)} from checkpoint, the shape in current model is ${fmt(p.shape)}.`,
        );
      } else if (!v.storage.isAlive) {
        // Found now rather than halfway through the copies, which would leave the model half loaded.
        errors.push(`While copying the parameter named "${k}", its tensor's memory was already reclaimed or disposed.`);
      }
    }
    if (errors.length) {
      throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`);
    }
    return { missingKeys, unexpectedKeys };
  }
}

/** Runs its modules in order; children are named "0", "1", … as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      let fused = i + 1 < layers.length ? layers[i]!.fusedWith(layers[i + 1]!) : null;
      // Of two overlapping pairs the later one fuses: in Linear → ReLU → Dropout
      // (training), ReLU + Dropout saves a mask and a backward pass, Linear + ReLU
      // only a pass over an output that is still in cache.
      if (fused && i + 2 < layers.length && layers[i + 1]!.fusedWith(layers[i + 2]!)) fused = null;
      if (fused) {
        x = fused(x);
        i++;
      } else x = layers[i]!.forward(x);
    }
    return x;
  }
  get length(): number {
    return this.layers.length;
  }
  /** The i-th layer (negative counts from the end), like net[i]. */
  at(i: number): Module {
    const m = this.layers.at(i);
    if (!m) throw new RangeError(`index ${i} is out of range for a Sequential of ${this.layers.length} layers`);
    return m;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.layers[Symbol.iterator]();
  }
}
