// nn.functional: the layers' arithmetic as functions. linear, crossEntropy and
// dropout are single fused ops (one kernel forward, one backward), as are the
// pairs nn.Sequential fuses, linearRelu and reluDropout; the rest are built
// from tensor ops.

import { GemmEpilogue, GemmLayout, ReduceOp, UnaryOp } from "../backend/kernels.ts";
import { cancelZerosOwedBy, leafGradSink, Saved } from "../autograd.ts";
import { allocateOutput, backendOf, finishOp, needsGrad, saveWith } from "../graph.ts";
import { dense } from "../ops/views.ts";
import { takeStream } from "../random.ts";
import { fmt, numel } from "../shape.ts";
import { Storage } from "../storage.ts";
import * as stats from "../statistics.ts";
import type { Tensor } from "../tensor.ts";

export type Reduction = "mean" | "sum" | "none";

export { conv2d, maxPool2d, avgPool2d, batchNorm } from "./conv-functional.ts";

function checkReduction(reduction: unknown): Reduction {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new RangeError(`${String(reduction)} is not a valid value for reduction: expected "mean", "sum" or "none"`);
  }
  return reduction;
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}

/** y = x·Wᵀ + b over the last dim of x; W is [out, in] as in PyTorch. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearWith(x, weight, bias, false);
}

/**
 * relu(linear(x, weight, bias)) with the ReLU done by the GEMM on each strip of
 * the output while it is in L1, and only the output kept for backward (it is
 * > 0 exactly where relu passes the gradient): bitwise the two ops in turn,
 * gradients included. nn.Sequential uses it for a Linear followed by a ReLU.
 */
export function linearRelu(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearWith(x, weight, bias, true);
}

function linearWith(x: Tensor, weight: Tensor, bias: Tensor | null | undefined, relu: boolean): Tensor {
  backendOf(x, weight, ...(bias ? [bias] : []));
  if (weight.ndim !== 2) throw new RangeError(`linear(): weight must be 2-D [out, in], got ${fmt(weight.shape)}`);
  const [outF, inF] = weight.shape;
  const k = x.shape[x.ndim - 1];
  const rows = x.ndim === 0 ? 0 : numel(x.shape.slice(0, -1));
  if (x.ndim === 0 || k !== inF) {
    throw new RangeError(`mat1 and mat2 shapes cannot be multiplied (${rows}x${k} and ${inF}x${outF})`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new RangeError(`linear(): bias must have shape [${outF}], got ${fmt(bias.shape)}`);
  }
  if (x.dtype !== "float32") throw new TypeError(`linear(): input must be float32, got ${x.dtype} (call .float())`);
  // The gemm reads raw bits: an int32 weight would be read as tiny denormal floats.
  if (weight.dtype !== "float32") throw new TypeError(`linear(): weight must be float32, got ${weight.dtype}`);
  if (bias && bias.dtype !== "float32") throw new TypeError(`linear(): bias must be float32, got ${bias.dtype}`);
  x = dense(x);
  bias = bias ? dense(bias) : bias;
  // A weight that is a transposed view (w.t() of an [in, out] tensor) is read in place as the other GEMM layout.
  const wt = weightLayout(weight);
  if (!wt.colMajor && wt.ld !== inF) weight = dense(weight);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const name = relu ? "LinearRelu" : "Linear";
  const graph = needsGrad(...inputs);
  const out = allocateOutput([...x.shape.slice(0, -1), outF], inputs, graph);
  const be = x.backend;
  const kr = be.kernels;
  const epilogue = relu ? GemmEpilogue.Relu : GemmEpilogue.None;
  if (rows > 0) {
    if (bias) kr.f32_broadcast_rows(bias.ptr, out.ptr, rows, outF);
    kr.f32_gemm(wt.colMajor ? GemmLayout.NN : GemmLayout.NT, rows, outF, inF, 1, x.ptr, inF, weight.dataPtr, wt.colMajor ? wt.ld : inF,
      bias ? 1 : 0, out.ptr, outF, be.gemmWorkspace, epilogue);
  }
  return finishOp(out, name, inputs, graph, () => {
    const sx = new Saved(x, name);
    const sw = new Saved(weight, name);
    const so = relu ? new Saved(out, name) : null;
    return (dy) => {
      // relu's backward first: dy where the output is > 0, else +0.
      let g = dy;
      if (so) {
        g = allocateOutput(out.shape, [dy], false);
        kr.f32_unary_backward(UnaryOp.Relu, so.get().ptr, so.get().ptr, dy.ptr, g.ptr, rows * outF);
      }
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      let gb: Tensor | null = null;
      if (x.requiresGrad) {
        gx = allocateOutput(x.shape, [g], false);
        kr.f32_gemm(wt.colMajor ? GemmLayout.NT : GemmLayout.NN, rows, inF, outF, 1, g.ptr, outF, sw.get().dataPtr,
          wt.colMajor ? wt.ld : inF, 0, gx.ptr, inF, be.gemmWorkspace);
      }
      if (weight.requiresGrad) {
        const xs = sx.get();
        // Into the weight's .grad when it has one (see leafGradSink), unless it
        // shares memory with an operand: the GEMM would read what it writes.
        const sink = leafGradSink(weight);
        if (sink && sink.storage !== g.storage && sink.storage !== xs.storage) {
          // A gradient zeroGrad left owing zeros is written whole (beta = 0), not filled and added onto.
          const beta = cancelZerosOwedBy(sink) ? 0 : 1;
          kr.f32_gemm(GemmLayout.TN, outF, inF, rows, 1, g.ptr, outF, xs.ptr, inF, beta, sink.ptr, inF, be.gemmWorkspace);
          sink.storage.version++;
        } else {
          gw = allocateOutput(weight.shape, [g], false);
          kr.f32_gemm(GemmLayout.TN, outF, inF, rows, 1, g.ptr, outF, xs.ptr, inF, 0, gw.ptr, inF, be.gemmWorkspace);
        }
      }
      if (bias?.requiresGrad) {
        // Column sums straight into a .grad that zeroGrad left owing zeros; one holding a gradient is added onto by the engine.
        const sink = leafGradSink(bias);
        if (sink && sink.storage !== g.storage && cancelZerosOwedBy(sink)) {
          kr.f32_reduce(ReduceOp.Sum, g.ptr, sink.ptr, 1, rows, outF);
          sink.storage.version++;
        } else {
          gb = allocateOutput(bias.shape, [g], false);
          kr.f32_reduce(ReduceOp.Sum, g.ptr, gb.ptr, 1, rows, outF);
        }
      }
      if (g !== dy) g.dispose();
      return [gx, gw, gb];
    };
  });
}

/** How linear's GEMM reads the weight [out, in]: row-major (as stored by Linear) or column-major (a transposed view). */
function weightLayout(w: Tensor): { colMajor: boolean; ld: number } {
  const [outF, inF] = w.shape;
  if (w.isContiguous()) return { colMajor: false, ld: inF };
  const [so, si] = w.strides;
  if ((so === 1 || outF === 1) && si >= Math.max(outF, 1)) return { colMajor: true, ld: si };
  return { colMajor: false, ld: -1 };
}

/**
 * Cross-entropy of logits [N, C] against int32 class indices [N]: fused
 * log-softmax + NLL (stable for large logits), gradient (softmax − onehot).
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? "mean");
  backendOf(input, target);
  input = dense(input);
  target = dense(target);
  if (input.ndim !== 2) {
    throw new RangeError(`crossEntropy(): expected logits of shape [N, C], got ${fmt(input.shape)}`);
  }
  if (target.dtype !== "int32") {
    throw new TypeError(`crossEntropy(): expected int32 class indices as target, got ${target.dtype} (make labels with { dtype: "int32" })`);
  }
  const [n, c] = input.shape;
  if (target.ndim !== 1 || target.shape[0] !== n) {
    throw new RangeError(`Expected input batch_size (${n}) to match target batch_size (${target.ndim === 1 ? target.shape[0] : fmt(target.shape)}).`);
  }
  if (input.dtype !== "float32") throw new TypeError(`crossEntropy(): logits must be float32, got ${input.dtype}`);
  const be = input.backend;
  const graph = needsGrad(input);
  const losses = allocateOutput([n], [input, target], graph && reduction === "none");
  const lse = new Storage(be, Math.max(n, 1) * 4, "step");
  // Labels first, so that the row kernels (split over threads by rows) meet only good ones.
  const bad = be.kernels.i32_check_range(target.ptr, n, c);
  if (bad >= 0) {
    const label = be.heap.i32[(target.ptr >>> 2) + bad];
    losses.dispose();
    lse.release("the loss failed");
    throw new RangeError(`Target ${label} is out of bounds (crossEntropy with ${c} classes, at batch index ${bad}).`);
  }
  be.kernels.f32_cross_entropy_rows(input.ptr, target.ptr, losses.ptr, lse.ptr, 0, n, c);
  // The backward recomputes the softmax from the row max (see the kernel): it never reads lse.
  lse.release("no backward reads it");
  let out = losses;
  if (reduction !== "none") {
    out = allocateOutput([], [losses], graph);
    be.kernels.f32_reduce(reduction === "mean" ? ReduceOp.Mean : ReduceOp.Sum, losses.ptr, out.ptr, 1, n, 1);
    losses.dispose();
  }
  return finishOp(out, "CrossEntropy", [input], graph, () => {
    const si = new Saved(input, "CrossEntropy");
    const st = new Saved(target, "CrossEntropy");
    return (g) => {
      const dx = allocateOutput(input.shape, [g], false);
      const scale = reduction === "mean" ? g.mul(1 / n) : g;
      be.kernels.f32_cross_entropy_backward_rows(si.get().ptr, st.get().ptr, scale.ptr, reduction === "none" ? 1 : 0, dx.ptr, 0, n, c);
      if (scale !== g) scale.dispose();
      return [dx];
    };
  });
}

/** Mean (or sum, or elementwise) squared error. Shapes must match, as PyTorch recommends. */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? "mean");
  backendOf(input, target);
  input = dense(input);
  target = dense(target);
  if (input.shape.join() !== target.shape.join()) {
    throw new RangeError(
      `mseLoss(): input shape ${fmt(input.shape)} and target shape ${fmt(target.shape)} differ; reshape one ` +
        "(broadcasting here is almost always a bug, and PyTorch warns about it)",
    );
  }
  // The kernel reads raw bits: int32 values would be read as tiny denormal floats.
  for (const [name, t] of [["input", input], ["target", target]] as const) {
    if (t.dtype !== "float32") throw new TypeError(`mseLoss(): ${name} must be float32, got ${t.dtype} (call .float())`);
  }
  if (reduction === "none") return input.sub(target).square();
  const be = input.backend;
  const n = input.numel();
  const graph = needsGrad(input, target);
  const out = allocateOutput([], [input, target], graph);
  const sum = be.kernels.f32_mse(input.ptr, target.ptr, n);
  be.heap.f32[out.ptr >>> 2] = reduction === "mean" ? sum / n : sum;
  return finishOp(out, "MseLoss", [input, target], graph, () => {
    const si = new Saved(input, "MseLoss");
    const st = new Saved(target, "MseLoss");
    return (g) => {
      const scale = g.item() * (reduction === "mean" ? 1 / n : 1);
      const dx = allocateOutput(input.shape, [g], false);
      be.kernels.f32_mse_backward(si.get().ptr, st.get().ptr, dx.ptr, n, scale);
      return [input.requiresGrad ? dx : null, target.requiresGrad ? dx.neg() : null];
    };
  });
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the
 * survivors by 1/(1−p). Uniform draws from the seeded generator (the book's
 * circulating copy draws normal numbers, which drops the wrong share).
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  if (!training || p === 0) return x;
  if (x.dtype !== "float32") throw new TypeError(`dropout(): input must be float32, got ${x.dtype}`);
  x = dense(x);
  const be = x.backend;
  const n = x.numel();
  const graph = needsGrad(x);
  const out = allocateOutput(x.shape, [x], graph);
  const mask = new Storage(be, Math.max(n, 1), "step");
  const s = takeStream(be, n);
  be.kernels.f32_dropout(x.ptr, out.ptr, mask.ptr, n, p, s.seedLo, s.seedHi, s.offset);
  finishOp(out, "Dropout", [x], graph, () => (g) => {
    const dx = allocateOutput(x.shape, [g], false);
    be.kernels.f32_dropout_backward(g.ptr, mask.ptr, dx.ptr, n, p);
    return [dx];
  });
  if (graph) saveWith(out, mask);
  else mask.release("no backward needs it");
  return out;
}

/**
 * dropout(relu(x), p) in training, one pass forward and one backward, keeping
 * the output instead of a mask (it is > 0 exactly where the gradient flows):
 * bitwise the two ops in turn, the same random stream included. nn.Sequential
 * uses it for a ReLU followed by a Dropout.
 */
export function reluDropout(x: Tensor, p = 0.5): Tensor {
  const be = backendOf(x);
  x = dense(x);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  if (p === 0 || x.dtype !== "float32") return dropout(x.relu(), p);
  const n = x.numel();
  const graph = needsGrad(x);
  const out = allocateOutput(x.shape, [x], graph);
  const s = takeStream(be, n);
  be.kernels.f32_relu_dropout(x.ptr, out.ptr, n, p, s.seedLo, s.seedHi, s.offset);
  return finishOp(out, "ReluDropout", [x], graph, () => {
    const so = new Saved(out, "ReluDropout");
    return (g) => {
      const dx = allocateOutput(x.shape, [g], false);
      be.kernels.f32_relu_dropout_backward(g.ptr, so.get().ptr, dx.ptr, n, p);
      return [dx];
    };
  });
}

/** The book's L1 penalty Σ|w|. */
export function l1Penalty(w: Tensor): Tensor {
  return w.abs().sum();
}

/** The book's L2 penalty Σw²/2. */
export function l2Penalty(w: Tensor): Tensor {
  return w.square().sum().div(2);
}

/** log(softmax(x)) along dim (default −1), computed stably. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return stats.logSoftmax(x, dim);
}

/** softmax along dim (default −1), computed stably. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return stats.softmax(x, dim);
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

export { leakyRelu, gelu, oneHot, type GeluApproximate } from "../math.ts";
export { nllLoss, l1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits } from "./loss-functions.ts";
export type { NllOptions, BceOptions, BceWithLogitsOptions } from "./loss-functions.ts";
