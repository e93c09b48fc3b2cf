// Sequential and ModuleList: modules held in order under the names "0", "1", …

import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

function checkIndex(i: number, length: number, kind: string, noun: string): number {
  if (!Number.isInteger(i) || i < -length || i >= length) {
    throw new RangeError(`index ${i} is out of range for a ${kind} of ${length} ${noun}`);
  }
  return i < 0 ? i + length : i;
}

/**
 * Runs its modules in order; children are named "0", "1", … as in PyTorch, and
 * net[0] is the first (typed: new Sequential(new Linear(2, 1))[0].weight).
 */
export class Sequential<T extends Module[] = Module[]> extends Module {
  readonly [index: number]: T[number];
  private readonly layers: Module[];
  constructor(...layers: T) {
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
  at<I extends number>(i: I): T[I] {
    return this.layers[checkIndex(i, this.layers.length, "Sequential", "layers")] as T[I];
  }
  [Symbol.iterator](): Iterator<T[number]> {
    return this.layers[Symbol.iterator]();
  }
}

/** Holds submodules in a list (registered, unlike a plain array): net.blocks[0], for (const b of net.blocks). */
export class ModuleList<T extends Module = Module> extends Module {
  readonly [index: number]: T;
  private readonly items: T[] = [];
  constructor(modules: Iterable<T> = []) {
    super();
    this.extend(modules);
  }
  /** ModuleList has no forward of its own: iterate over it in the owner's forward. */
  forward(): Tensor {
    throw new TypeError("ModuleList has no forward(): call its modules from the forward() of the module that holds it");
  }
  append(m: T): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  extend(modules: Iterable<T>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): T {
    return this.items[checkIndex(i, this.items.length, "ModuleList", "modules")]!;
  }
  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}
