// The layers of the d2l chapters: Linear, ReLU, Dropout, Flatten, and the losses.

import { isAnomalyEnabled } from "../autograd.ts";
import { empty } from "../tensor-creation.ts";
import type { Tensor } from "../tensor.ts";
import * as F from "./functional.ts";
import { kaimingUniform_, uniform_ } from "./init.ts";
import { forwardOf, Module } from "./module.ts";
import { pyBool, pyFloat } from "./repr.ts";

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    for (const [name, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`Linear: ${name} must be a non-negative integer, got ${v}`);
    }
    // PyTorch's reset_parameters: kaiming-uniform with a = √5 gives U(±1/√in) for the weight, and the bias matches it.
    this.weight = this.registerParameter("weight", empty([outFeatures, inFeatures]))!;
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.bias = this.registerParameter("bias", opts.bias === false ? null : uniform_(empty([outFeatures]), -bound, bound));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
  /** Linear then ReLU: the GEMM applies the ReLU (F.linearRelu), unless a subclass changed either forward. */
  override fusedWith(next: Module): ((x: Tensor) => Tensor) | null {
    if (forwardOf(this) !== Linear.prototype.forward || !(next instanceof ReLU) || forwardOf(next) !== ReLU.prototype.forward) return null;
    if (isAnomalyEnabled()) return null;
    return (x) => F.linearRelu(x, this.weight, this.bias);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
  /** ReLU then an active Dropout: one pass each way (F.reluDropout), unless a subclass changed either forward. */
  override fusedWith(next: Module): ((x: Tensor) => Tensor) | null {
    if (forwardOf(this) !== ReLU.prototype.forward || !(next instanceof Dropout) || forwardOf(next) !== Dropout.prototype.forward) return null;
    if (!next.training || next.p === 0 || isAnomalyEnabled()) return null;
    return (x) => F.reluDropout(x, next.p);
  }
}

/** Zeroes elements with probability p in training mode; the identity after eval(). */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
    }
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}

/** Flattens dims startDim..endDim (default: all but the batch dim), like x.view(N, -1). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

export class MSELoss extends Module {
  constructor(readonly opts: { reduction?: F.Reduction } = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, this.opts);
  }
}

export class CrossEntropyLoss extends Module {
  constructor(readonly opts: { reduction?: F.Reduction } = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, this.opts);
  }
}
