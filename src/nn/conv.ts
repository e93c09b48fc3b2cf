// The convolutional layers: Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d and
// BatchNorm2d, with PyTorch's default initialisation and state-dict names.

import type { Tensor } from "../tensor.ts";
import { empty, ones, zeros } from "../tensor-creation.ts";
import * as F from "./conv-functional.ts";
import { kaimingUniform_, uniform_ } from "./init.ts";
import { Module } from "./module.ts";
import { pyBool, pyFloat } from "./repr.ts";

const tuple = ([h, w]: readonly [number, number]): string => `(${h}, ${w})`;
const size = (v: F.Size2): string => (typeof v === "number" ? String(v) : tuple(v));

export interface Conv2dOptions extends F.Conv2dOptions {
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: F.Size2, opts: Conv2dOptions = {}) {
    super();
    for (const [name, v] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`Conv2d: ${name} must be a positive integer, got ${v}`);
    }
    this.kernelSize = F.pair(kernelSize, "Conv2d: kernelSize", 1);
    this.stride = F.pair(opts.stride ?? 1, "Conv2d: stride", 1);
    this.padding = F.pair(opts.padding ?? 0, "Conv2d: padding", 0);
    this.dilation = F.pair(opts.dilation ?? 1, "Conv2d: dilation", 1);
    const [kh, kw] = this.kernelSize;
    // PyTorch's reset_parameters: kaiming-uniform with a = √5 (U(±1/√fanIn)), the bias U(±1/√fanIn).
    this.weight = this.registerParameter("weight", empty([outChannels, inChannels, kh, kw]))!;
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    const bound = 1 / Math.sqrt(inChannels * kh * kw);
    this.bias = this.registerParameter("bias", opts.bias === false ? null : uniform_(empty([outChannels]), -bound, bound));
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }
  /** PyTorch's: padding and dilation only when not the default, bias only when absent. */
  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${tuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${tuple(this.dilation)}`;
    if (this.bias === null) s += ", bias=False";
    return s;
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: F.Size2, readonly opts: F.Pool2dOptions = {}) {
    super();
    F.pair(kernelSize, "MaxPool2d: kernelSize", 1);
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    const stride = this.opts.stride ?? this.kernelSize;
    const padding = this.opts.padding ?? 0;
    return `kernel_size=${size(this.kernelSize)}, stride=${size(stride)}, padding=${size(padding)}, dilation=1, ceil_mode=False`;
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: F.Size2, readonly opts: F.Pool2dOptions & { countIncludePad?: boolean } = {}) {
    super();
    F.pair(kernelSize, "AvgPool2d: kernelSize", 1);
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    const stride = this.opts.stride ?? this.kernelSize;
    const padding = this.opts.padding ?? 0;
    return `kernel_size=${size(this.kernelSize)}, stride=${size(stride)}, padding=${size(padding)}`;
  }
}

export interface BatchNormModuleOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** Batch norm over dim 1; running statistics as buffers running_mean, running_var, num_batches_tracked. */
abstract class BatchNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  constructor(readonly numFeatures: number, opts: BatchNormModuleOptions, private readonly dims: readonly number[]) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) {
      throw new RangeError(`${this.constructor.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    this.weight = this.registerParameter("weight", affine ? ones([numFeatures]) : null);
    this.bias = this.registerParameter("bias", affine ? zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer("running_mean", track ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer("running_var", track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer("num_batches_tracked", track ? zeros([], { dtype: "int32" }) : null);
  }
  forward(x: Tensor): Tensor {
    if (!this.dims.includes(x.ndim)) {
      throw new RangeError(`${this.constructor.name}: expected ${this.dims.map((d) => `${d}D`).join(" or ")} input (got ${x.ndim}D input)`);
    }
    const useBatch = this.training || !this.runningMean;
    const out = F.batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight, bias: this.bias, training: useBatch, momentum: this.momentum, eps: this.eps,
    });
    const nbt = this.numBatchesTracked;
    if (this.training && nbt) {
      // One int32 in place (in-place arithmetic is float32-only): a counter, not data.
      nbt.backend.heap.i32[nbt.ptr >>> 2]! += 1;
      nbt.storage.version++;
    }
    return out;
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyBool(this.weight !== null)}, ` +
      `track_running_stats=${pyBool(this.runningMean !== null)}`;
  }
}

/** Over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts, [2, 3]);
  }
}

/** Over [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts, [4]);
  }
}
