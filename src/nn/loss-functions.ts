// nn.functional's nllLoss, l1Loss, binaryCrossEntropy and
// binaryCrossEntropyWithLogits, with PyTorch 1.13's reductions, weights and
// errors. Built from tensor ops and the one-hot kernel: O(N·C) work, the
// same as reading the input.

import { withoutGrad, Saved } from "../autograd.ts";
import { toFloat } from "../ops/copies.ts";
import { backendOf, describeValue, needsGrad, record } from "../graph.ts";
import { fmt } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import type { Reduction } from "./functional.ts";

export type { Reduction };

export interface NllOptions {
  /** A rescaling weight per class, [C]. */
  weight?: Tensor | null;
  /** Targets equal to this count for nothing, in the loss or in the mean's denominator (default −100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface BceOptions {
  /** A rescaling weight, broadcast to the input's shape. */
  weight?: Tensor | null;
  reduction?: Reduction;
}

export interface BceWithLogitsOptions extends BceOptions {
  /** The weight of positive examples, broadcast along the last dim (one per class). */
  posWeight?: Tensor | null;
}

function checkReduction(reduction: unknown): Reduction {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new RangeError(`${String(reduction)} is not a valid value for reduction: expected "mean", "sum" or "none"`);
  }
  return reduction;
}

/**
 * t, made step-scoped when it joins a graph: a tensor computed from owned
 * inputs alone (the target, a weight) is owned, and the graph holding it would
 * leave it to the garbage collector.
 */
function scopedIn(graph: boolean, t: Tensor): Tensor {
  if (graph) t.storage.markStepScoped();
  return t;
}

function reduce(losses: Tensor, reduction: Reduction): Tensor {
  if (reduction === "none") return losses;
  return reduction === "sum" ? losses.sum() : losses.mean();
}

function checkFloat(what: string, name: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${what}(): ${name} must be a Tensor, got ${describeValue(t)}`);
  if (t.dtype !== "float32") throw new TypeError(`${what}(): ${name} must be float32, got ${t.dtype} (call .float())`);
}

function checkSameShape(what: string, input: Tensor, target: Tensor): void {
  if (input.shape.join() !== target.shape.join()) {
    throw new RangeError(
      `${what}(): Using a target size (${fmt(target.shape)}) that is different to the input size (${fmt(input.shape)}) ` +
        "is deprecated. Please ensure they have the same size.",
    );
  }
}

/**
 * Negative log-likelihood: loss_i = −weight[y_i]·input[i, y_i] for log-probabilities
 * input [N, C] (or [C], or [N, C, d…] with target [N, d…]) and int32 classes y.
 * "mean" divides by Σ weight[y_i] over the targets not ignored, as PyTorch does.
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NllOptions = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? "mean");
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`nllLoss(): ignoreIndex must be an integer, got ${describeValue(ignoreIndex)}`);
  const be = backendOf(input, target);
  checkFloat("nllLoss", "input", input);
  if (target.dtype !== "int32") {
    throw new TypeError(`nllLoss(): expected int32 class indices as target, got ${target.dtype} (make labels with { dtype: "int32" })`);
  }
  if (input.ndim < 1) throw new RangeError("nllLoss(): input tensor should be 1D or more, got a 0-d tensor");
  // [C] with a 0-d target, and [N, C, d…] with [N, d…], are read as rows of C.
  const c = input.ndim === 1 ? input.shape[0] : input.shape[1];
  const wantTarget = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (target.shape.join() !== wantTarget.join()) {
    if (input.ndim === 2 && target.ndim === 1) {
      throw new RangeError(`Expected input batch_size (${input.shape[0]}) to match target batch_size (${target.shape[0]}).`);
    }
    throw new RangeError(`nllLoss(): expected target of shape ${fmt(wantTarget)} for input ${fmt(input.shape)}, got ${fmt(target.shape)}`);
  }
  const weight = opts.weight ?? null;
  if (weight !== null) {
    checkFloat("nllLoss", "weight", weight);
    backendOf(input, weight);
    if (weight.ndim !== 1 || weight.shape[0] !== c) {
      throw new RangeError(`nllLoss(): weight tensor should be defined either for all ${c} classes or no classes but got weight tensor of shape: ${fmt(weight.shape)}`);
    }
  }
  const classLast = input.ndim <= 2 ? input : input.permute(0, ...input.shape.slice(2).map((_, i) => i + 2), 1);
  const rows = classLast.reshape(-1, c);
  const n = rows.shape[0];
  const labels = target.reshape(-1);
  // Row i of `pick` holds weight[y_i] at column y_i and 0 elsewhere (all 0 when ignored).
  const pick = withoutGrad(() => {
    const out = Tensor.empty([n, c], "int32", be, rows.storage.isStepScoped || labels.storage.isStepScoped ? "step" : "temporary");
    const bad = be.kernels.i32_one_hot(labels.ptr, out.ptr, n, c, ignoreIndex);
    if (bad >= 0) {
      const label = be.heap.i32[(labels.ptr >>> 2) + bad];
      out.dispose();
      throw new RangeError(`nllLoss(): Target ${label} is out of bounds (${c} classes, at flat index ${bad}).`);
    }
    const f = toFloat(out);
    out.dispose();
    if (!weight) return f;
    const weighted = f.mul(weight.detach());
    f.dispose();
    return weighted;
  });
  scopedIn(needsGrad(input), pick);
  const losses = rows.mul(pick).sum(1).neg();
  if (reduction === "none") return losses.reshape(target.shape as number[]);
  if (reduction === "sum") return losses.sum();
  return losses.sum().div(withoutGrad(() => pick.sum()));
}

/** Mean (or sum, or elementwise) |input − target|. Shapes must match. */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? "mean");
  backendOf(input, target);
  checkFloat("l1Loss", "input", input);
  checkFloat("l1Loss", "target", target);
  checkSameShape("l1Loss", input, target);
  return reduce(input.sub(target).abs(), reduction);
}

/**
 * −weight·(t·log x + (1 − t)·log(1 − x)), with each log clamped at −100 as
 * PyTorch does (so x = 0 or 1 gives a finite loss). The input gradient is
 * PyTorch's g·weight·(x − t)/max(x(1 − x), 1e−12).
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? "mean");
  backendOf(input, target);
  checkFloat("binaryCrossEntropy", "input", input);
  checkFloat("binaryCrossEntropy", "target", target);
  checkSameShape("binaryCrossEntropy", input, target);
  const weight = opts.weight ?? null;
  if (weight !== null) {
    checkFloat("binaryCrossEntropy", "weight", weight);
    backendOf(input, weight);
  }
  const x = input.detach();
  const t = target.detach();
  const w = weight?.detach() ?? null;
  if (input.numel() > 0) {
    const [lo, hi] = withoutGrad(() => [x.min().item(), x.max().item()]);
    if (!(lo >= 0 && hi <= 1)) throw new RangeError("binaryCrossEntropy(): all elements of input should be between 0 and 1");
  }
  const graph = needsGrad(input, target);
  const out = withoutGrad(() => {
    const temps: Tensor[] = [];
    const keep = (v: Tensor) => (temps.push(v), v);
    const logX = keep(keep(x.log()).clamp(-100));
    const logNotX = keep(keep(keep(x.rsub(1)).log()).clamp(-100));
    const terms = keep(keep(t.mul(logX)).add(keep(keep(t.rsub(1)).mul(logNotX))));
    const losses = terms.neg();
    const weighted = w ? keep(losses).mul(w) : losses;
    const reduced = reduce(weighted, reduction);
    if (reduced !== weighted) temps.push(weighted);
    for (const v of temps) if (v !== reduced) v.dispose();
    return reduced;
  });
  if (!graph) return out;
  out.storage.markStepScoped();
  const sx = new Saved(input, "BinaryCrossEntropy");
  const st = new Saved(target, "BinaryCrossEntropy");
  const n = input.numel();
  return record(out, "BinaryCrossEntropy", [input, target], (g) => {
    const scale = reduction === "mean" ? g.div(n) : g;
    const weighted = w ? scale.mul(w) : scale;
    const xs = sx.get();
    const ts = st.get();
    const gx = input.requiresGrad ? xs.sub(ts).div(xs.rsub(1).mul(xs).maximum(1e-12)).mul(weighted) : null;
    // Unclamped, as PyTorch's: infinite where x is 0 or 1.
    const gt = target.requiresGrad ? xs.rsub(1).log().sub(xs.log()).mul(weighted) : null;
    return [gx, gt];
  });
}

/**
 * −weight·(posWeight·t·log σ(x) + (1 − t)·log(1 − σ(x))) in PyTorch's stable
 * form: (1 − t)·x + (1 + (posWeight − 1)·t)·(log(e^−m + e^(−x−m)) + m), m = max(−x, 0).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? "mean");
  backendOf(input, target);
  checkFloat("binaryCrossEntropyWithLogits", "input", input);
  checkFloat("binaryCrossEntropyWithLogits", "target", target);
  checkSameShape("binaryCrossEntropyWithLogits", input, target);
  const weight = opts.weight ?? null;
  const posWeight = opts.posWeight ?? null;
  for (const [name, t] of [["weight", weight], ["posWeight", posWeight]] as const) {
    if (t !== null) {
      checkFloat("binaryCrossEntropyWithLogits", name, t);
      backendOf(input, t);
    }
  }
  const graph = needsGrad(input, target);
  const m = input.neg().relu();
  const softplusNeg = m.neg().exp().add(input.neg().sub(m).exp()).log().add(m);
  const s = (t: Tensor) => scopedIn(graph, t);
  const logWeight = posWeight ? s(s(s(posWeight.sub(1)).mul(target)).add(1)) : null;
  let losses = s(target.rsub(1)).mul(input).add(logWeight ? softplusNeg.mul(logWeight) : softplusNeg);
  if (weight) losses = losses.mul(weight);
  return reduce(losses, reduction);
}
