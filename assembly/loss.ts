// loss kernels: see src/backend/kernels.ts for the contract.
//
// Cross-entropy works per row in f64 after subtracting the row maximum, so
// exp never overflows (logits of ±1e4 are fine) and the log-sum-exp keeps its
// digits; results are rounded to f32 once, at the end.
//
// exp and log are fdlibm's, from libm.ts (AssemblyScript's Math ones bring a data segment).

import { expF64, logF64 } from "./libm";

@inline function rowMax(row: usize, c: i32): f32 {
  let m = load<f32>(row);
  for (let j = 1; j < c; j++) m = max(m, load<f32>(row + (<usize>j << 2)));
  return m;
}

export function f32_cross_entropy(logits: usize, labels: usize, losses: usize, lse: usize, n: i32, c: i32): i32 {
  for (let i = 0; i < n; i++) {
    const label = load<i32>(labels + (<usize>i << 2));
    // The caller reports this row; nothing from it on is written.
    if (<u32>label >= <u32>c) return i;
    const row = logits + ((<usize>i * <usize>c) << 2);
    const m = <f64>rowMax(row, c);
    let sum: f64 = 0;
    for (let j = 0; j < c; j++) sum += expF64(<f64>load<f32>(row + (<usize>j << 2)) - m);
    const logSumExp = m + logF64(sum);
    store<f32>(lse + (<usize>i << 2), <f32>logSumExp);
    store<f32>(losses + (<usize>i << 2), <f32>(logSumExp - <f64>load<f32>(row + (<usize>label << 2))));
  }
  return -1;
}

// The stored lse is not used: rounded to f32 it is only good to ~7 digits of its
// magnitude, 5e-4 absolute for logits of 1e4, which exp would turn into a 5e-4
// relative error in every gradient. PyTorch keeps log-softmax outputs relative to
// the row max instead, so the softmax is recomputed here from the max: exp(x − max)
// (≤ 1, no overflow) parked in dlogits, then normalised. In place ok (dlogits = logits).
export function f32_cross_entropy_backward(
  logits: usize, labels: usize, lse: usize, dloss: usize, dlossStride: i32,
  dlogits: usize, n: i32, c: i32,
): void {
  if (c <= 0) return;
  for (let i = 0; i < n; i++) {
    const g = <f64>load<f32>(dloss + ((<usize>i * <usize>dlossStride) << 2));
    const offset = (<usize>i * <usize>c) << 2;
    const row = logits + offset;
    const out = dlogits + offset;
    const m = <f64>rowMax(row, c);
    // Read before the row may be overwritten (dlogits = logits is allowed). An
    // out-of-range label matches no column: nothing is read or written out of bounds.
    const label = load<i32>(labels + (<usize>i << 2));
    const labelValid = <u32>label < <u32>c;
    const labelLogit = labelValid ? <f64>load<f32>(row + (<usize>label << 2)) : 0;
    let sum: f64 = 0;
    for (let j = 0; j < c; j++) {
      const e = expF64(<f64>load<f32>(row + (<usize>j << 2)) - m);
      sum += e;
      store<f32>(out + (<usize>j << 2), <f32>e);
    }
    const scale = g / sum;
    for (let j = 0; j < c; j++) store<f32>(out + (<usize>j << 2), <f32>(scale * <f64>load<f32>(out + (<usize>j << 2))));
    // The label's term, softmax − 1, cancels when the softmax is near 1: recomputed
    // in f64 rather than from the f32 parked above.
    if (labelValid) store<f32>(out + (<usize>label << 2), <f32>(g * (expF64(labelLogit - m) / sum - 1.0)));
  }
}

// The same two kernels over rows [r0, r0 + rows) of the batch, so that threads
// can split them by rows: each row is computed as in the whole call. Labels are
// checked by the caller first (i32_check_range).
export function f32_cross_entropy_rows(logits: usize, labels: usize, losses: usize, lse: usize, r0: i32, rows: i32, c: i32): void {
  const o = <usize>r0 << 2;
  f32_cross_entropy(logits + o * <usize>c, labels + o, losses + o, lse + o, rows, c);
}

export function f32_cross_entropy_backward_rows(
  logits: usize, labels: usize, dloss: usize, dlossStride: i32, dlogits: usize, r0: i32, rows: i32, c: i32,
): void {
  const o = <usize>r0 << 2;
  f32_cross_entropy_backward(logits + o * <usize>c, labels + o, 0, dloss + o * <usize>dlossStride, dlossStride, dlogits + o * <usize>c, rows, c);
}

/** Σ (pred − target)²: the differences in f32 (as PyTorch forms them), squares and sums in f64 over four lanes. */
export function f32_mse(pred: usize, target: usize, n: i32): f64 {
  // Lane k of the accumulators sums the elements i ≡ k (mod 4), and the lanes
  // are combined as (s0 + s1) + (s2 + s3): src/backend/js/loss.ts does exactly
  // the same, so both backends return the same f64.
  let acc01 = f64x2.splat(0);
  let acc23 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const d = f32x4.sub(v128.load(pred + o), v128.load(target + o));
    const d01 = f64x2.promote_low_f32x4(d);
    const d23 = f64x2.promote_low_f32x4(v128.shuffle<u32>(d, d, 2, 3, 2, 3));
    acc01 = f64x2.add(acc01, f64x2.mul(d01, d01));
    acc23 = f64x2.add(acc23, f64x2.mul(d23, d23));
  }
  let s0 = f64x2.extract_lane(acc01, 0);
  let s1 = f64x2.extract_lane(acc01, 1);
  let s2 = f64x2.extract_lane(acc23, 0);
  for (let k = 0; i < n; i++, k++) {
    const o = <usize>i << 2;
    const d = <f64>(load<f32>(pred + o) - load<f32>(target + o));
    if (k == 0) s0 += d * d;
    else if (k == 1) s1 += d * d;
    else s2 += d * d;
  }
  return (s0 + s1) + (s2 + f64x2.extract_lane(acc23, 1));
}

/** dpred = (2·scale) · (pred − target), each factor rounded to f32 like PyTorch's mse_loss_backward. In place ok. */
export function f32_mse_backward(pred: usize, target: usize, dpred: usize, n: i32, scale: f64): void {
  const factor = <f32>(2.0 * scale);
  const factorv = f32x4.splat(factor);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dpred + o, f32x4.mul(factorv, f32x4.sub(v128.load(pred + o), v128.load(target + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dpred + o, factor * (load<f32>(pred + o) - load<f32>(target + o)));
  }
}
