// Loss layers beyond MSELoss and CrossEntropyLoss: NLLLoss, L1Loss, BCELoss, BCEWithLogitsLoss.

import type { Tensor } from "../tensor.ts";
import type { BceOptions, BceWithLogitsOptions, NllOptions, Reduction } from "./loss-functions.ts";
import * as L from "./loss-functions.ts";
import { Module } from "./module.ts";

/** Negative log-likelihood of log-probabilities [N, C] (e.g. LogSoftmax's output) against int32 classes [N]. */
export class NLLLoss extends Module {
  constructor(readonly opts: NllOptions = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.nllLoss(input, target, this.opts);
  }
}

/** Mean (or sum, or elementwise) absolute error. */
export class L1Loss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.l1Loss(input, target, this.opts);
  }
}

/** Binary cross-entropy of probabilities in [0, 1] (e.g. Sigmoid's output). */
export class BCELoss extends Module {
  constructor(readonly opts: BceOptions = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropy(input, target, this.opts);
  }
}

/** Sigmoid + binary cross-entropy in one stable formula, on logits. */
export class BCEWithLogitsLoss extends Module {
  constructor(readonly opts: BceWithLogitsOptions = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropyWithLogits(input, target, this.opts);
  }
}
