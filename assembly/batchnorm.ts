// Batch-norm kernels: see src/backend/kernels.ts (BatchNormKernels) for the contract.
//
// x is viewed as [N, C, S] (S = H·W for BatchNorm2d, 1 for BatchNorm1d on
// [N, C]); statistics are per channel over M = N·S values. Every kernel works
// on a range of channels [c0, c0 + cs), so threads split a call by channels
// and a channel's sums run in the same order (n, then s) whatever the split.
// Sums are in f64; the two-pass variance avoids cancellation.

import { at } from "./lanes";

/** Σ over the channel's M values of f(x) in f64, n then s order. */
@inline function channelSum(x: usize, c: i32, N: i32, C: i32, S: i32, shift: f64, square: bool): f64 {
  let acc: f64 = 0;
  for (let n = 0; n < N; n++) {
    const p = at(x, (n * C + c) * S);
    for (let s = 0; s < S; s++) {
      const d = <f64>load<f32>(at(p, s)) - shift;
      acc += square ? d * d : d;
    }
  }
  return acc;
}

/**
 * mode 0 (eval): normalise with the running statistics.
 * mode 1 (train): with the batch's mean and biased variance; mode 2 also
 * updates runMean/runVar: r = (1 − momentum)·r + momentum·stat, with the
 * unbiased variance (· M / (M − 1)) as PyTorch.
 * Writes mean[c] and invstd[c] = 1 / √(var + eps) of the statistics used (for
 * the backward) and y = x·a + b' with a = invstd·w, b' = bias − mean·a
 * (w = 1, bias = 0 when affine = 0).
 */
export function f32_batch_norm(
  x: usize, y: usize, weight: usize, bias: usize, mean: usize, invstd: usize, runMean: usize, runVar: usize,
  c0: i32, cs: i32, N: i32, C: i32, S: i32, eps: f64, momentum: f64, mode: i32, affine: i32,
): void {
  const M = N * S;
  for (let c = c0; c < c0 + cs; c++) {
    let mu: f64;
    let v: f64;
    if (mode == 0) {
      mu = <f64>load<f32>(at(runMean, c));
      v = <f64>load<f32>(at(runVar, c));
    } else {
      mu = channelSum(x, c, N, C, S, 0, false) / <f64>M;
      v = channelSum(x, c, N, C, S, mu, true) / <f64>M;
      if (mode == 2) {
        const rm = at(runMean, c);
        const rv = at(runVar, c);
        const unbiased = M > 1 ? (v * <f64>M) / <f64>(M - 1) : v;
        store<f32>(rm, <f32>((1 - momentum) * <f64>load<f32>(rm) + momentum * mu));
        store<f32>(rv, <f32>((1 - momentum) * <f64>load<f32>(rv) + momentum * unbiased));
      }
    }
    const inv = 1 / Math.sqrt(v + eps);
    store<f32>(at(mean, c), <f32>mu);
    store<f32>(at(invstd, c), <f32>inv);
    const a = affine ? inv * <f64>load<f32>(at(weight, c)) : inv;
    const b = (affine ? <f64>load<f32>(at(bias, c)) : 0) - mu * a;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * S;
      for (let s = 0; s < S; s++) store<f32>(at(y, o + s), <f32>(<f64>load<f32>(at(x, o + s)) * a + b));
    }
  }
}

/**
 * Given mean and invstd as f32_batch_norm wrote them: dweight[c] = Σ dy·x̂,
 * dbias[c] = Σ dy (when affine = 1), with x̂ = (x − mean)·invstd, and
 *   training = 1: dx = w·invstd·(dy − Σdy / M − x̂·Σ(dy·x̂) / M)
 *   training = 0: dx = w·invstd·dy (the statistics are constants).
 */
export function f32_batch_norm_backward(
  x: usize, dy: usize, dx: usize, weight: usize, mean: usize, invstd: usize, dweight: usize, dbias: usize,
  c0: i32, cs: i32, N: i32, C: i32, S: i32, training: i32, affine: i32,
): void {
  const M = <f64>(N * S);
  for (let c = c0; c < c0 + cs; c++) {
    const mu = <f64>load<f32>(at(mean, c));
    const inv = <f64>load<f32>(at(invstd, c));
    let sumDy: f64 = 0;
    let sumDyXhat: f64 = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * S;
      for (let s = 0; s < S; s++) {
        const g = <f64>load<f32>(at(dy, o + s));
        sumDy += g;
        sumDyXhat += g * (<f64>load<f32>(at(x, o + s)) - mu) * inv;
      }
    }
    if (affine) {
      store<f32>(at(dweight, c), <f32>sumDyXhat);
      store<f32>(at(dbias, c), <f32>sumDy);
    }
    const k = inv * (affine ? <f64>load<f32>(at(weight, c)) : 1);
    const meanDy = training ? sumDy / M : 0;
    const meanDyXhat = training ? sumDyXhat / M : 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * S;
      for (let s = 0; s < S; s++) {
        const xhat = (<f64>load<f32>(at(x, o + s)) - mu) * inv;
        store<f32>(at(dx, o + s), <f32>(k * (<f64>load<f32>(at(dy, o + s)) - meanDy - xhat * meanDyXhat)));
      }
    }
  }
}
