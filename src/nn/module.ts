// Module: parameters, buffers and submodules found in its fields, train/eval,
// state dicts with PyTorch's names, and PyTorch's repr.
//
// Registration is read from the object itself: a field (or a property set in the
// constructor) holding an nn.Parameter is a parameter, one holding a Module is a
// submodule, and one named by registerBuffer is a buffer. Object.keys keeps
// assignment order, which is PyTorch's order. (No Proxy: a plain object keeps
// property reads in forward() fast, and nothing can get out of step with it.)

import { withoutGrad } from "../autograd.ts";
import { FormatError, KeyError } from "../errors.ts";
import { scope } from "../storage.ts";
import { describeValue } from "../graph.ts";
import { fmt } from "../shape.ts";
import { Tensor, zeroGradient } from "../tensor.ts";
import { isParameter, markParameter } from "./parameter.ts";
import { addIndent } from "./repr.ts";

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** The forward a module's class defines (the instance's own forward is the boundary wrapper around it). */
export function forwardOf(m: Module): Module["forward"] {
  return Object.getPrototypeOf(m).forward;
}

/** The names declared through register*, which a field's value alone cannot tell (null slots, buffers). */
interface Declared {
  parameters: Set<string>;
  buffers: Set<string>;
  nonPersistent: Set<string>;
  modules: Set<string>;
}

interface Own {
  parameters: [string, Tensor | null][];
  buffers: [string, Tensor | null][];
  modules: [string, Module | null][];
}

export abstract class Module {
  /** True in training mode (dropout active), false after eval(). */
  training = true;
  private declare readonly declared: Declared;

  abstract forward(...inputs: Tensor[]): Tensor;

  constructor() {
    // Not enumerable: the fields scan sees only what subclasses assign.
    Object.defineProperty(this, "declared", {
      value: { parameters: new Set(), buffers: new Set(), nonPersistent: new Set(), modules: new Set() } satisfies Declared,
    });
    // The return of a top-level forward is a memory boundary (storage.ts): an
    // eval-mode forward with no backward gives its graphs back. Nested forwards
    // (a Sequential's layers) run inside the outer scope and are no boundary.
    const forward = this.forward;
    Object.defineProperty(this, "forward", {
      value: (...inputs: Tensor[]) => scope("end of a top-level forward()", () => forward.apply(this, inputs), this),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

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

  // ---- registration ---------------------------------------------------------

  private checkName(name: string, kind: string): void {
    if (typeof name !== "string") throw new TypeError(`${kind} name should be a string, got ${describeValue(name)}`);
    if (name === "") throw new KeyError(`${kind} name can't be empty string ""`);
    if (name.includes(".")) throw new KeyError(`${kind} name can't contain ".", got: ${name}`);
    const d = this.declared;
    const v = (this as Record<string, unknown>)[name];
    const isSlot = d.parameters.has(name) || d.buffers.has(name) || d.modules.has(name) || isParameter(v) || v instanceof Module;
    if (!isSlot && v !== undefined && v !== null) throw new KeyError(`attribute '${name}' already exists`);
  }

  private setSlot(name: string, value: unknown): void {
    const d = this.declared;
    for (const s of [d.parameters, d.buffers, d.modules, d.nonPersistent]) s.delete(name);
    Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
  }

  /** Registers t as a parameter named `name` (also this[name]): it requires grad and is never reclaimed at a step boundary. */
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.checkName(name, "parameter");
    if (t !== null) markParameter(t, name);
    this.setSlot(name, t);
    this.declared.parameters.add(name);
    return t;
  }

  /**
   * Registers t as a buffer (also this[name]): state that is not a parameter, such as
   * BatchNorm's running mean. Persistent buffers are in stateDict after the module's own
   * parameters. Update a buffer in place (copy_, mul_): the field is read as the buffer.
   */
  registerBuffer(name: string, t: Tensor | null, persistent = true): Tensor | null {
    this.checkName(name, "buffer");
    if (t !== null && !(t instanceof Tensor)) {
      throw new TypeError(`cannot assign ${describeValue(t)} to buffer '${name}' (Tensor or null required)`);
    }
    t?.keep();
    this.setSlot(name, t);
    this.declared.buffers.add(name);
    if (!persistent) this.declared.nonPersistent.add(name);
    return t;
  }

  /** Registers m as a submodule named `name` (also this[name]); assigning a Module to a field does the same. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    if (m !== null && !(m instanceof Module)) throw new TypeError(`child module "${name}" must be a Module, got ${describeValue(m)}`);
    this.checkName(name, "module");
    this.setSlot(name, m);
    this.declared.modules.add(name);
    return m;
  }

  /** This module's own parameters, buffers and submodules, each in assignment order. */
  private own(): Own {
    const d = this.declared;
    const out: Own = { parameters: [], buffers: [], modules: [] };
    const self = this as Record<string, unknown>;
    for (const key of Object.keys(this)) {
      const v = self[key];
      if (isParameter(v) || (v == null && d.parameters.has(key))) out.parameters.push([key, v ?? null]);
      else if (d.buffers.has(key) && (v == null || v instanceof Tensor)) out.buffers.push([key, v ?? null]);
      else if (v instanceof Module || (v == null && d.modules.has(key))) out.modules.push([key, v ?? null]);
    }
    return out;
  }

  // ---- walking the tree -----------------------------------------------------

  /** [name, module] for every module in the tree, this one first (named ""), each once. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, pre: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([pre, m]);
      for (const [n, c] of m.own().modules) if (c) walk(c, pre ? `${pre}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }

  /** Every module in the tree, this one first. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** [name, module] for the direct submodules. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    return this.own().modules.filter((e): e is [string, Module] => e[1] !== null && !seen.has(e[1]) && !!seen.add(e[1]));
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** [name, parameter] pairs: each module's own, in tree order ("fc1.weight"), each tensor once, as PyTorch orders them. */
  namedParameters(prefix = ""): [string, Tensor][] {
    return this.namedTensors(prefix, "parameters");
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** [name, buffer] pairs, persistent or not, in tree order. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    return this.namedTensors(prefix, "buffers");
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  private namedTensors(prefix: string, kind: "parameters" | "buffers"): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [pre, m] of this.namedModules(prefix)) {
      for (const [n, t] of m.own()[kind]) {
        if (t && !seen.has(t)) {
          seen.add(t);
          out.push([pre ? `${pre}.${n}` : n, t]);
        }
      }
    }
    return out;
  }

  /** Calls fn on every submodule and then on this one, like PyTorch's apply (d2l's net.apply(init_weights)). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  train(mode = true): this {
    if (typeof mode !== "boolean") throw new TypeError(`training mode is expected to be boolean, got ${describeValue(mode)}`);
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (false freezes them). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  zeroGrad(): void {
    withoutGrad(() => {
      for (const p of this.parameters()) if (p.grad) zeroGradient(p.grad);
    });
  }

  // ---- state dicts ----------------------------------------------------------

  /** The live tensors stateDict names: each module's parameters, then its persistent buffers, then its children's. */
  private stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const walk = (m: Module, pre: string) => {
      const own = m.own();
      for (const [n, p] of own.parameters) if (p) out.push([pre + n, p]);
      for (const [n, b] of own.buffers) if (b && !m.declared.nonPersistent.has(n)) out.push([pre + n, b]);
      for (const [n, c] of own.modules) if (c) walk(c, `${pre}${n}.`);
    };
    walk(this, "");
    return out;
  }

  /** Parameters and persistent buffers by PyTorch name, in PyTorch's order; the tensors share memory with the model. */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [n, t] of this.stateEntries()) sd[n] = t.detach();
    return sd;
  }

  /** Copies values in by name. strict (default) throws on missing or unexpected keys, like PyTorch. */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const result = this.checkStateDict(sd, opts);
    const own = new Map(this.stateEntries());
    withoutGrad(() => {
      for (const k of Object.keys(sd)) own.get(k)?.copy_(sd[k]);
    });
    return result;
  }

  /** @internal Throws what loadStateDict would throw, changing nothing. */
  checkStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    if (sd === null || typeof sd !== "object" || Array.isArray(sd) || sd instanceof Tensor) {
      throw new TypeError(`Expected state_dict to be dict-like (an object of name → Tensor, as stateDict() returns), got ${describeValue(sd)}.`);
    }
    const strict = opts.strict ?? true;
    const own = new Map(this.stateEntries());
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
      if (!(v instanceof Tensor)) {
        errors.push(`While copying the parameter named "${k}", expected a Tensor of shape ${fmt(p.shape)} from checkpoint but received ${describeValue(v)}.`);
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
      throw new FormatError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`);
    }
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing -------------------------------------------------------------

  /** The settings shown inside the parentheses of the repr, as PyTorch's extra_repr ("in_features=784, …"). */
  extraRepr(): string {
    return "";
  }

  /** PyTorch's repr: `Sequential(\n  (0): Flatten(start_dim=1, end_dim=-1)\n  …\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split("\n") : [];
    const childLines = this.own().modules.map(([n, m]) => `(${n}): ${addIndent(m ? m.toString() : "None", 2)}`);
    const lines = [...extraLines, ...childLines];
    let body = "";
    if (extraLines.length === 1 && childLines.length === 0) body = extraLines[0]!;
    else if (lines.length) body = `\n  ${lines.join("\n  ")}\n`;
    return `${this.constructor.name}(${body})`;
  }

  /** console.log(net) prints the repr, as print(net) does. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Python's KeyError, for names PyTorch rejects with one (defined with the other error classes). */
export { KeyError } from "../errors.ts";
