// nn.functional's convolution family: conv2d, maxPool2d, avgPool2d and
// batchNorm, each one fused op (a kernel or two forward, one backward). Shapes
// and PyTorch's error messages here; the arithmetic in assembly/conv.ts,
// pool.ts and batchnorm.ts (layouts explained there).

import { GemmLayout, ReduceOp } from "../backend/kernels.ts";
import { Saved } from "../autograd.ts";
import { reshape } from "../ops/views.ts";
import { allocateOutput, backendOf, describeValue, finishOp, needsGrad } from "../graph.ts";
import { fmt, numel } from "../shape.ts";
import { Storage } from "../storage.ts";
import type { Tensor } from "../tensor.ts";
import { dense } from "../ops/views.ts";

/** A size given as one number for both dims or as [h, w], as PyTorch's _pair. */
export type Size2 = number | readonly [number, number];

export function pair(v: Size2, what: string, min: number): [number, number] {
  const p: readonly unknown[] = typeof v === "number" ? [v, v] : Array.isArray(v) ? v : [];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && (x as number) >= min)) {
    throw new RangeError(`${what} must be an integer ≥ ${min} or a pair [h, w] of them, got ${Array.isArray(v) ? `[${v.join(", ")}]` : describeValue(v)}`);
  }
  return p as [number, number];
}

function checkFloat(t: Tensor, op: string, what: string): void {
  if (t.dtype !== "float32") throw new TypeError(`${op}(): ${what} must be float32, got ${t.dtype} (call .float())`);
}

/** A 3-D (unbatched) input runs as a batch of one, as in PyTorch. */
function batched(x: Tensor, op: string, fn: (x4: Tensor) => Tensor): Tensor {
  if (x.ndim === 4) return fn(x);
  if (x.ndim === 3) {
    const y = fn(reshape(x, [1, ...x.shape]));
    return reshape(y, y.shape.slice(1));
  }
  throw new RangeError(`Expected 3D (unbatched) or 4D (batched) input to ${op}, but got input of size: ${fmt(x.shape)}`);
}

/** A kernel's scratch, freed by the caller (or at the step boundary if an error intervenes). */
function scratch(be: Tensor["backend"], floats: number): Storage {
  return new Storage(be, Math.max(floats, 1) * 4, "step");
}

export interface Conv2dOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch) of x [N, C, H, W] with
 * weight [OC, C, KH, KW], plus bias [OC]: im2col over the batch, one GEMM, and
 * the output's planes moved to [N, OC, OH, OW] with the bias added.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  backendOf(x, weight, ...(bias ? [bias] : []));
  if ((opts as { groups?: number }).groups !== undefined && (opts as { groups?: number }).groups !== 1) {
    throw new RangeError("conv2d(): groups other than 1 are not supported");
  }
  const [SH, SW] = pair(opts.stride ?? 1, "conv2d(): stride", 1);
  const [PH, PW] = pair(opts.padding ?? 0, "conv2d(): padding", 0);
  const [DH, DW] = pair(opts.dilation ?? 1, "conv2d(): dilation", 1);
  if (weight.ndim !== 4) throw new RangeError(`conv2d(): weight must be 4-D [out, in, kH, kW], got ${fmt(weight.shape)}`);
  checkFloat(x, "conv2d", "input");
  checkFloat(weight, "conv2d", "weight");
  // The kernels read dense row-major blocks: a view is made contiguous first (gradients flow through).
  x = dense(x);
  weight = dense(weight);
  const [OC, C, KH, KW] = weight.shape;
  if (bias) {
    checkFloat(bias, "conv2d", "bias");
    if (bias.ndim !== 1 || bias.shape[0] !== OC) throw new RangeError(`conv2d(): bias must have shape [${OC}], got ${fmt(bias.shape)}`);
  }
  return batched(x, "conv2d", (x4) => {
    const [N, XC, H, W] = x4.shape;
    if (XC !== C) {
      throw new RangeError(
        `Given groups=1, weight of size ${fmt(weight.shape)}, expected input${fmt(x4.shape)} to have ${C} channels, but got ${XC} channels instead`,
      );
    }
    const OH = Math.floor((H + 2 * PH - DH * (KH - 1) - 1) / SH) + 1;
    const OW = Math.floor((W + 2 * PW - DW * (KW - 1) - 1) / SW) + 1;
    if (OH <= 0 || OW <= 0) {
      throw new RangeError(
        `Calculated padded input size per channel: (${H + 2 * PH} x ${W + 2 * PW}). ` +
          `Kernel size: (${DH * (KH - 1) + 1} x ${DW * (KW - 1) + 1}). Kernel size can't be greater than actual input size`,
      );
    }
    return conv2dForward(x4, weight, bias ?? null, [N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW]);
  });
}

/** N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW. */
type Geometry = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/**
 * Floats of im2col buffer per chunk of images (1 MiB): the batch is convolved
 * a few images at a time so that each chunk's columns are written by im2col
 * and read by the GEMM while they are in L2, rather than a whole batch's
 * (25× the input for LeNet's first layer) going through memory. The chunks
 * depend on the shapes alone, so results do not depend on the thread count.
 */
const CHUNK_FLOATS = 1 << 18;

function conv2dForward(x: Tensor, weight: Tensor, bias: Tensor | null, g: Geometry): Tensor {
  const [N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW] = g;
  const be = x.backend;
  const kr = be.kernels;
  const K = C * KH * KW;
  const P = OH * OW;
  const CHW = C * H * W;
  const per = Math.max(1, Math.min(N, Math.floor(CHUNK_FLOATS / Math.max(1, K * P))));
  const chunks = Array.from({ length: Math.ceil(N / per) }, (_, i) => [i * per, Math.min(per, N - i * per)] as const);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const graph = needsGrad(...inputs);
  const out = allocateOutput([N, OC, OH, OW], inputs, graph);
  /** col [K, n·P] of images [n0, n0 + n) of x. */
  const im2col = (xs: Tensor, col: Storage, n0: number, n: number) =>
    kr.f32_im2col(xs.ptr + 4 * n0 * CHW, col.ptr, 0, K, n, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
  if (N * OC * P > 0) {
    const col = scratch(be, K * per * P);
    const y2 = scratch(be, OC * per * P);
    for (const [n0, n] of chunks) {
      if (K > 0) {
        im2col(x, col, n0, n);
        kr.f32_gemm(GemmLayout.NN, OC, n * P, K, 1, weight.ptr, K, col.ptr, n * P, 0, y2.ptr, n * P, be.gemmWorkspace);
      } else kr.f32_fill(y2.ptr, OC * n * P, 0);
      kr.f32_swap_planes(y2.ptr, out.ptr + 4 * n0 * OC * P, bias ? bias.ptr : 0, 0, n * OC, OC, n, P, bias ? 1 : 0);
    }
    col.release("conv2d's forward is done with it");
    y2.release("conv2d's forward is done with it");
  }
  return finishOp(out, "Conv2d", inputs, graph, () => {
    const sx = new Saved(x, "Conv2d");
    const sw = new Saved(weight, "Conv2d");
    return (dy) => {
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      let gb: Tensor | null = null;
      if (bias?.requiresGrad) {
        // Σ over images and pixels of dy [N, OC, P]: pixels first, then images.
        const perImage = scratch(be, N * OC);
        gb = allocateOutput([OC], [dy], false);
        kr.f32_reduce(ReduceOp.Sum, dy.ptr, perImage.ptr, N * OC, P, 1);
        kr.f32_reduce(ReduceOp.Sum, perImage.ptr, gb.ptr, 1, N, OC);
        perImage.release("conv2d's bias gradient is done with it");
      }
      if (weight.requiresGrad) gw = allocateOutput(weight.shape, [dy], false);
      if (x.requiresGrad) gx = allocateOutput(x.shape, [dy], false);
      if (gw && (K * OC === 0 || N * P === 0)) kr.f32_fill(gw.ptr, weight.numel(), 0);
      if (gx && (K * OC === 0 || N * P === 0)) kr.f32_fill(gx.ptr, x.numel(), 0);
      if ((gw || gx) && K * OC > 0 && N * P > 0) {
        const xs = gw ? sx.get() : x;
        const ws = gx ? sw.get() : weight;
        // dY as [OC, n·P] per chunk, the layout the GEMMs read.
        const dyT = scratch(be, OC * per * P);
        const col = scratch(be, K * per * P);
        for (const [i, [n0, n]] of chunks.entries()) {
          kr.f32_swap_planes(dy.ptr + 4 * n0 * OC * P, dyT.ptr, 0, 0, OC * n, n, OC, P, 0);
          if (gw) {
            im2col(xs, col, n0, n);
            // The chunks' products add up in order into the gradient.
            kr.f32_gemm(GemmLayout.NT, OC, K, n * P, 1, dyT.ptr, n * P, col.ptr, n * P, i === 0 ? 0 : 1, gw.ptr, K, be.gemmWorkspace);
          }
          if (gx) {
            kr.f32_gemm(GemmLayout.TN, K, n * P, OC, 1, ws.ptr, K, dyT.ptr, n * P, 0, col.ptr, n * P, be.gemmWorkspace);
            kr.f32_col2im(col.ptr, gx.ptr + 4 * n0 * CHW, 0, n * C, n, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
          }
        }
        col.release("conv2d's backward is done with it");
        dyT.release("conv2d's backward is done with it");
      }
      return [gx, gw, gb];
    };
  });
}

export interface Pool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2 | null;
  padding?: Size2;
}

/** Checks a pooling call's sizes; returns the geometry [KH, KW, SH, SW, PH, PW, OH, OW] of x4. */
function poolGeometry(op: string, x4: Tensor, kernelSize: Size2, opts: Pool2dOptions): number[] {
  const [KH, KW] = pair(kernelSize, `${op}(): kernelSize`, 1);
  const [SH, SW] = pair(opts.stride ?? kernelSize, `${op}(): stride`, 1);
  const [PH, PW] = pair(opts.padding ?? 0, `${op}(): padding`, 0);
  if (2 * PH > KH || 2 * PW > KW) {
    throw new RangeError(`pad should be at most half of effective kernel size, but got pad=${Math.max(PH, PW)}, kernel_size=${Math.max(KH, KW)} and dilation=1`);
  }
  const [, C, H, W] = x4.shape;
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  if (OH <= 0 || OW <= 0) {
    throw new RangeError(`Given input size: (${C}x${H}x${W}). Calculated output size: (${C}x${OH}x${OW}). Output size is too small`);
  }
  return [KH, KW, SH, SW, PH, PW, OH, OW];
}

/** Max over each window; the gradient flows to the window's (first) maximum. */
export function maxPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions = {}): Tensor {
  backendOf(x);
  checkFloat(x, "maxPool2d", "input");
  x = dense(x);
  return batched(x, "max_pool2d", (x4) => {
    const [KH, KW, SH, SW, PH, PW, OH, OW] = poolGeometry("maxPool2d", x4, kernelSize, opts);
    const [N, C, H, W] = x4.shape;
    const planes = N * C;
    const be = x4.backend;
    const graph = needsGrad(x4);
    const out = allocateOutput([N, C, OH, OW], [x4], graph);
    const idx = scratch(be, planes * OH * OW);
    be.kernels.f32_max_pool2d(x4.ptr, out.ptr, idx.ptr, 0, planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW);
    if (!graph) idx.release("no backward needs it");
    return finishOp(out, "MaxPool2d", [x4], graph, () => (dy) => {
      const dx = allocateOutput(x4.shape, [dy], false);
      be.kernels.f32_max_pool2d_backward(dy.ptr, idx.ptr, dx.ptr, 0, planes, H * W, OH * OW);
      return [dx];
    });
  });
}

/** Mean over each window; with countIncludePad (default true, as PyTorch) the padding counts in the divisor. */
export function avgPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  backendOf(x);
  checkFloat(x, "avgPool2d", "input");
  x = dense(x);
  const include = opts.countIncludePad === false ? 0 : 1;
  return batched(x, "avg_pool2d", (x4) => {
    const [KH, KW, SH, SW, PH, PW, OH, OW] = poolGeometry("avgPool2d", x4, kernelSize, opts);
    const [N, C, H, W] = x4.shape;
    const planes = N * C;
    const be = x4.backend;
    const graph = needsGrad(x4);
    const out = allocateOutput([N, C, OH, OW], [x4], graph);
    be.kernels.f32_avg_pool2d(x4.ptr, out.ptr, 0, planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW, include);
    return finishOp(out, "AvgPool2d", [x4], graph, () => (dy) => {
      const dx = allocateOutput(x4.shape, [dy], false);
      be.kernels.f32_avg_pool2d_backward(dy.ptr, dx.ptr, 0, planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW, include);
      return [dx];
    });
  });
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Batch statistics (and a running-statistics update when given) rather than the running ones. Default false, as PyTorch. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm over dim 1 of x [N, C, ...]. In training, the batch's statistics
 * normalise, and runningMean / runningVar (when given) move toward them in
 * place by momentum, the variance unbiased, as PyTorch; otherwise the running
 * statistics normalise.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = opts;
  const extra = [runningMean, runningVar, weight, bias].filter((t): t is Tensor => t !== null && t !== undefined);
  backendOf(x, ...extra);
  checkFloat(x, "batchNorm", "input");
  x = dense(x);
  if (x.ndim < 2) throw new RangeError(`batchNorm(): expected an input of at least 2 dims [N, C, ...], got ${fmt(x.shape)}`);
  const [N, C] = x.shape;
  const S = numel(x.shape.slice(2));
  for (const [name, t] of [["running_mean", runningMean], ["running_var", runningVar], ["weight", weight], ["bias", bias]] as const) {
    if (!t) continue;
    checkFloat(t, "batchNorm", name);
    if (t.numel() !== C) throw new RangeError(`${name} should contain ${C} elements not ${t.numel()}`);
  }
  if (!training && (!runningMean || !runningVar)) throw new RangeError("batchNorm(): running_mean and running_var must be defined in evaluation mode");
  if (training && N * S <= 1) throw new RangeError(`Expected more than 1 value per channel when training, got input size ${fmt(x.shape)}`);
  if (!(eps >= 0) || !(momentum >= 0 && momentum <= 1)) throw new RangeError(`batchNorm(): eps must be ≥ 0 and momentum in [0, 1], got eps=${eps}, momentum=${momentum}`);
  const be = x.backend;
  const kr = be.kernels;
  const affine = weight || bias ? 1 : 0;
  const params = [weight, bias].filter((t): t is Tensor => t !== null);
  const inputs = [x, ...params];
  const graph = needsGrad(...inputs);
  const out = allocateOutput(x.shape, inputs, graph);
  // mean, invstd, then stand-ins for a missing weight (ones) or bias (zeros), and the backward's dweight, dbias.
  const stats = scratch(be, 6 * C);
  const at = (i: number) => stats.ptr + 4 * i * C;
  if (affine && !weight) kr.f32_fill(at(2), C, 1);
  if (affine && !bias) kr.f32_fill(at(3), C, 0);
  const w = weight ? weight.ptr : at(2);
  const b = bias ? bias.ptr : at(3);
  const update = training && runningMean && runningVar;
  const mode = !training ? 0 : update ? 2 : 1;
  kr.f32_batch_norm(x.ptr, out.ptr, w, b, at(0), at(1), runningMean?.ptr ?? 0, runningVar?.ptr ?? 0, 0, C, N, C, S, eps, momentum, mode, affine);
  if (update) {
    runningMean.storage.version++;
    runningVar.storage.version++;
  }
  if (!graph) stats.release("no backward needs it");
  return finishOp(out, "BatchNorm", inputs, graph, () => {
    const sx = new Saved(x, "BatchNorm");
    const sw = weight ? new Saved(weight, "BatchNorm") : null;
    return (dy) => {
      const dx = allocateOutput(x.shape, [dy], false);
      const wp = sw ? sw.get().ptr : at(2);
      kr.f32_batch_norm_backward(sx.get().ptr, dy.ptr, dx.ptr, wp, at(0), at(1), at(4), at(5), 0, C, N, C, S, training ? 1 : 0, affine);
      const grads: (Tensor | null)[] = [x.requiresGrad ? dx : null];
      for (const [t, i] of [[weight, 4], [bias, 5]] as const) {
        if (!t) continue;
        if (!t.requiresGrad) {
          grads.push(null);
          continue;
        }
        const g = allocateOutput([C], [dy], false);
        be.heap.u8.copyWithin(g.ptr, at(i), at(i) + 4 * C);
        grads.push(reshape(g, [...t.shape]));
      }
      return grads;
    };
  });
}
