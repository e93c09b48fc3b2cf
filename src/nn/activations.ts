// Activation layers: Tanh, Sigmoid, Softmax, LogSoftmax, Identity, LeakyReLU, GELU.

import type { Tensor } from "../tensor.ts";
import * as F from "./functional.ts";
import { Module } from "./module.ts";

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** Softmax along dim (-1 by default: PyTorch's implicit choice of dim is deprecated there). */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
    checkDim("Softmax", dim);
  }
  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
}

/** log(softmax(x)) along dim, computed stably (-1 by default). */
export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
    checkDim("LogSoftmax", dim);
  }
  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
}

/** Returns its input (a placeholder, e.g. for a layer switched off). Extra constructor arguments are ignored, as in PyTorch. */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** x > 0 ? x : negativeSlope·x. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) {
      throw new TypeError(`LeakyReLU: negativeSlope must be a finite number, got ${String(negativeSlope)}`);
    }
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }
}

/** x·Φ(x), the exact GELU (PyTorch's default), or { approximate: "tanh" }. */
export class GELU extends Module {
  readonly approximate: F.GeluApproximate;
  constructor(opts: { approximate?: F.GeluApproximate } = {}) {
    super();
    this.approximate = opts.approximate ?? "none";
    if (this.approximate !== "none" && this.approximate !== "tanh") {
      throw new RangeError(`approximate argument must be either none or tanh, got ${String(this.approximate)}`);
    }
  }
  forward(x: Tensor): Tensor {
    return F.gelu(x, { approximate: this.approximate });
  }
}

function checkDim(layer: string, dim: unknown): void {
  if (!Number.isInteger(dim)) throw new TypeError(`${layer}: dim must be an integer, got ${String(dim)}`);
}
