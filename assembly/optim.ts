// optim kernels: see src/backend/kernels.ts for the contract.
//
// PyTorch 1.13's _single_tensor_sgd / _single_tensor_adam(w), operation by
// operation and rounded where PyTorch's CPU kernels round:
// - Python scalars are combined in f64, then rounded to f32 where they meet a tensor;
// - `a.add(b, alpha=s)` is one fused multiply-add, s·b + a rounded once (its
//   vectorised kernel is vec::fmadd; checked on PyTorch's CPU build), and
//   `v.addcmul_(g, g, value=s)` is fma(s·g rounded, g, v);
// - everything else (mul, div, sqrt, addcdiv) rounds after each operation.
// Wasm SIMD has no fma, so fma32x4 evaluates a·b + c in f64 (a·b of two f32 is
// exact there) and rounds that to f32; this double rounding differs from a true
// fma only when the f64 sum lands exactly halfway between two f32 (about one
// case in 2^29). src/backend/js/optim.ts does the same operations in the same order.
//
// Each kernel's formula is written once, over four lanes: the loop runs it on
// whole vectors and once more on the last 1–3 elements, loaded into a partial
// vector (lanes.ts), so every element is computed the same way. SGD apart:
// see f32_sgd_step.
//
// No Math.pow: AssemblyScript's brings lookup tables and a mutable global,
// which this module must not have (see assembly/index.ts).

import { is, loadLanes, storeLanes } from "./lanes";

/** Dekker's split constant 2^27 + 1: a = hi + lo with 26-bit halves whose products are exact. */
@inline const SPLITTER: f64 = 134217729.0;

/** The rounding error of p = a·b (p + error = a·b exactly), by Dekker's TwoProduct. */
@inline function productError(a: f64, b: f64, p: f64): f64 {
  const ca = SPLITTER * a;
  const aHi = ca - (ca - a);
  const aLo = a - aHi;
  const cb = SPLITTER * b;
  const bHi = cb - (cb - b);
  const bLo = b - bHi;
  return ((aHi * bHi - p) + aHi * bLo + aLo * bHi) + aLo * bLo;
}

/**
 * base^step for an integer step, by square-and-multiply in double-double and
 * one final rounding: Python's `beta ** step` (glibc's pow, which rounds
 * correctly in practice) to the last bit in all but the rarest cases.
 */
function powStep(base: f64, step: f64): f64 {
  const n = <u32>min(max(step, 0.0), 4294967295.0);
  let hi = 1.0;
  let lo = 0.0;
  for (let bit: u32 = n == 0 ? 0 : <u32>1 << (31 - clz(n)); bit != 0; bit >>>= 1) {
    let p = hi * hi;
    let e = productError(hi, hi, p) + 2.0 * hi * lo;
    hi = p + e;
    lo = e - (hi - p);
    if (n & bit) {
      p = hi * base;
      e = productError(hi, base, p) + lo * base;
      hi = p + e;
      lo = e - (hi - p);
    }
  }
  return hi;
}

/** f32(a·b + c) for f32 lanes, rounded once from f64. */
@inline function fma32x4(a: v128, b: v128, c: v128): v128 {
  const low = f64x2.add(
    f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)), f64x2.promote_low_f32x4(c));
  const high = f64x2.add(
    f64x2.mul(f64x2.promote_low_f32x4(upperHalf(a)), f64x2.promote_low_f32x4(upperHalf(b))),
    f64x2.promote_low_f32x4(upperHalf(c)));
  return v128.shuffle<u32>(f32x4.demote_f64x2_zero(low), f32x4.demote_f64x2_zero(high), 0, 1, 4, 5);
}

@inline function upperHalf(a: v128): v128 {
  return v128.shuffle<u32>(a, a, 2, 3, 2, 3);
}

/** l1·sign(p) per lane: ±l1, or 0 where p is 0 (or NaN). */
@inline function l1Term(p: v128, l1v: v128): v128 {
  const zero = f32x4.splat(0);
  return f32x4.sub(v128.and(f32x4.gt(p, zero), l1v), v128.and(f32x4.lt(p, zero), l1v));
}

/** How many lanes a step covers: four whole ones, or a tail of 1–3. */
class Whole {}
class Tail {}

@inline function loadSpan<Span>(p: usize, count: i32): v128 {
  if (is<Span, Whole>()) return v128.load(p);
  return loadLanes(p, 4, count);
}

@inline function storeSpan<Span>(p: usize, v: v128, count: i32): void {
  if (is<Span, Whole>()) v128.store(p, v);
  else storeLanes(p, v, count);
}

/** The gradient a step follows: negated to maximize, plus weight decay wd·p (coupled, as PyTorch's `grad.add(p, alpha=wd)`). */
@inline function effectiveGrad(g: v128, p: v128, maximize: bool, hasWd: bool, wd: v128): v128 {
  if (maximize) g = f32x4.neg(g);
  if (hasWd) g = fma32x4(wd, p, g);
  return g;
}

/** f32(a·b + c), rounded once from f64: fma32x4 for one element. */
@inline function fma32(a: f32, b: f32, c: f32): f32 {
  return <f32>(<f64>a * <f64>b + <f64>c);
}

// SGD keeps its scalar tail: written over lanes like the others, its plain
// (d2l) loop measured 5-10% slower, the function grown around it.
export function f32_sgd_step(
  param: usize, grad: usize, buf: usize, n: i32,
  lr: f64, momentum: f64, dampening: f64, weightDecay: f64,
  nesterov: i32, maximize: i32, l1: f64, firstStep: i32,
): void {
  const negLr = <f32>-lr;
  const wd = <f32>weightDecay;
  const l1f = <f32>l1;
  const mom = <f32>momentum;
  const keep = <f32>(1.0 - dampening);
  const hasWd = weightDecay != 0;
  const hasL1 = l1 != 0;
  const hasMomentum = momentum != 0;
  const negLrv = f32x4.splat(negLr);
  const wdv = f32x4.splat(wd);
  const l1v = f32x4.splat(l1f);
  const momv = f32x4.splat(mom);
  const keepv = f32x4.splat(keep);
  let i = 0;
  if (!maximize && !hasWd && !hasL1 && !hasMomentum) {
    // Plain SGD (the d2l chapters' optimizer): p = fma(−lr, g, p) alone, with
    // no per-element branches for the options it does not use.
    const negLr2 = f64x2.splat(<f64>negLr);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const lo = f64x2.add(f64x2.mul(negLr2, f64x2.promote_low_f32x4(v128.load64_zero(grad + o))), f64x2.promote_low_f32x4(v128.load64_zero(param + o)));
      const hi = f64x2.add(f64x2.mul(negLr2, f64x2.promote_low_f32x4(v128.load64_zero(grad + o + 8))), f64x2.promote_low_f32x4(v128.load64_zero(param + o + 8)));
      v128.store(param + o, v128.shuffle<u32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    let d = v128.load(grad + o);
    if (maximize) d = f32x4.neg(d);
    if (hasWd) d = fma32x4(wdv, p, d);
    if (hasL1) d = f32x4.add(d, l1Term(p, l1v));
    if (hasMomentum) {
      let b = d;
      if (!firstStep) b = fma32x4(keepv, d, f32x4.mul(v128.load(buf + o), momv));
      v128.store(buf + o, b);
      d = nesterov ? fma32x4(momv, b, d) : b;
    }
    v128.store(param + o, fma32x4(negLrv, d, p));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    let d = load<f32>(grad + o);
    if (maximize) d = -d;
    if (hasWd) d = fma32(wd, p, d);
    if (hasL1) d = d + (p > 0 ? l1f : p < 0 ? -l1f : <f32>0);
    if (hasMomentum) {
      let b = d;
      if (!firstStep) b = fma32(keep, d, load<f32>(buf + o) * mom);
      store<f32>(buf + o, b);
      d = nesterov ? fma32(mom, b, d) : b;
    }
    store<f32>(param + o, fma32(negLr, d, p));
  }
}

@inline function adamLanes<Span>(
  param: usize, grad: usize, m: usize, v: usize, vmax: usize, count: i32,
  negStepSize: v128, bc2Sqrt: v128, b1: v128, b2: v128, oneMinusB1: v128, oneMinusB2: v128,
  eps: v128, wd: v128, shrink: v128, coupledWd: bool, decoupled: bool, amsgrad: bool, maximize: bool,
): void {
  let p = loadSpan<Span>(param, count);
  const g = effectiveGrad(loadSpan<Span>(grad, count), p, maximize, coupledWd, wd);
  if (decoupled) p = f32x4.mul(p, shrink);
  const mi = fma32x4(oneMinusB1, g, f32x4.mul(loadSpan<Span>(m, count), b1));
  let vi = fma32x4(f32x4.mul(oneMinusB2, g), g, f32x4.mul(loadSpan<Span>(v, count), b2));
  storeSpan<Span>(m, mi, count);
  storeSpan<Span>(v, vi, count);
  if (amsgrad) {
    vi = f32x4.max(loadSpan<Span>(vmax, count), vi);
    storeSpan<Span>(vmax, vi, count);
  }
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), bc2Sqrt), eps);
  storeSpan<Span>(param, f32x4.add(p, f32x4.div(f32x4.mul(negStepSize, mi), denom)), count);
}

export function f32_adam_step(
  param: usize, grad: usize, m: usize, v: usize, vmax: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, weightDecay: f64,
  step: f64, decoupled: i32, amsgrad: i32, maximize: i32,
): void {
  const biasCorrection1 = 1.0 - powStep(beta1, step);
  const biasCorrection2 = 1.0 - powStep(beta2, step);
  const negStepSize = f32x4.splat(<f32>-(lr / biasCorrection1));
  const bc2Sqrt = f32x4.splat(<f32>Math.sqrt(biasCorrection2));
  const b1 = f32x4.splat(<f32>beta1);
  const b2 = f32x4.splat(<f32>beta2);
  const oneMinusB1 = f32x4.splat(<f32>(1.0 - beta1));
  const oneMinusB2 = f32x4.splat(<f32>(1.0 - beta2));
  const epsv = f32x4.splat(<f32>eps);
  const wd = f32x4.splat(<f32>weightDecay);
  // AdamW shrinks the parameter even when weight_decay is 0 (by exactly 1).
  const shrink = f32x4.splat(<f32>(1.0 - lr * weightDecay));
  const coupledWd = !decoupled && weightDecay != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    adamLanes<Whole>(
      param + o, grad + o, m + o, v + o, vmax + o, 4, negStepSize, bc2Sqrt, b1, b2, oneMinusB1, oneMinusB2,
      epsv, wd, shrink, coupledWd, decoupled != 0, amsgrad != 0, maximize != 0,
    );
  }
  if (i < n) {
    const o = <usize>i << 2;
    adamLanes<Tail>(
      param + o, grad + o, m + o, v + o, vmax + o, n - i, negStepSize, bc2Sqrt, b1, b2, oneMinusB1, oneMinusB2,
      epsv, wd, shrink, coupledWd, decoupled != 0, amsgrad != 0, maximize != 0,
    );
  }
}

// RMSprop, Adagrad and Adadelta: PyTorch 1.13's _single_tensor_rmsprop /
// _adagrad / _adadelta with the rounding rules above; `x.addcdiv_(a, b, value=s)`
// is x + (s·a)/b, rounded after each operation (PyTorch's CPU addcdiv kernel).

@inline function rmspropLanes<Span>(
  param: usize, grad: usize, squareAvg: usize, gradAvg: usize, buf: usize, count: i32,
  negLr: v128, alpha: v128, oneMinusA: v128, eps: v128, wd: v128, mom: v128,
  hasWd: bool, hasMomentum: bool, centered: bool, maximize: bool,
): void {
  const p = loadSpan<Span>(param, count);
  const g = effectiveGrad(loadSpan<Span>(grad, count), p, maximize, hasWd, wd);
  const sq = fma32x4(f32x4.mul(oneMinusA, g), g, f32x4.mul(loadSpan<Span>(squareAvg, count), alpha));
  storeSpan<Span>(squareAvg, sq, count);
  let avg: v128;
  if (centered) {
    const ga = fma32x4(oneMinusA, g, f32x4.mul(loadSpan<Span>(gradAvg, count), alpha));
    storeSpan<Span>(gradAvg, ga, count);
    avg = f32x4.sqrt(fma32x4(f32x4.neg(ga), ga, sq));
  } else {
    avg = f32x4.sqrt(sq);
  }
  avg = f32x4.add(avg, eps);
  if (hasMomentum) {
    const b = f32x4.add(f32x4.mul(loadSpan<Span>(buf, count), mom), f32x4.div(g, avg));
    storeSpan<Span>(buf, b, count);
    storeSpan<Span>(param, fma32x4(negLr, b, p), count);
  } else {
    storeSpan<Span>(param, f32x4.add(p, f32x4.div(f32x4.mul(negLr, g), avg)), count);
  }
}

export function f32_rmsprop_step(
  param: usize, grad: usize, squareAvg: usize, gradAvg: usize, buf: usize, n: i32,
  lr: f64, alpha: f64, eps: f64, weightDecay: f64, momentum: f64, centered: i32, maximize: i32,
): void {
  const negLr = f32x4.splat(<f32>-lr);
  const a = f32x4.splat(<f32>alpha);
  const oneMinusA = f32x4.splat(<f32>(1.0 - alpha));
  const epsv = f32x4.splat(<f32>eps);
  const wd = f32x4.splat(<f32>weightDecay);
  const mom = f32x4.splat(<f32>momentum);
  const hasWd = weightDecay != 0;
  const hasMomentum = momentum > 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    rmspropLanes<Whole>(
      param + o, grad + o, squareAvg + o, gradAvg + o, buf + o, 4,
      negLr, a, oneMinusA, epsv, wd, mom, hasWd, hasMomentum, centered != 0, maximize != 0,
    );
  }
  if (i < n) {
    const o = <usize>i << 2;
    rmspropLanes<Tail>(
      param + o, grad + o, squareAvg + o, gradAvg + o, buf + o, n - i,
      negLr, a, oneMinusA, epsv, wd, mom, hasWd, hasMomentum, centered != 0, maximize != 0,
    );
  }
}

@inline function adagradLanes<Span>(
  param: usize, grad: usize, sum: usize, count: i32, negClr: v128, eps: v128, wd: v128, hasWd: bool, maximize: bool,
): void {
  const p = loadSpan<Span>(param, count);
  const g = effectiveGrad(loadSpan<Span>(grad, count), p, maximize, hasWd, wd);
  const s = fma32x4(g, g, loadSpan<Span>(sum, count));
  storeSpan<Span>(sum, s, count);
  const std = f32x4.add(f32x4.sqrt(s), eps);
  storeSpan<Span>(param, f32x4.add(p, f32x4.div(f32x4.mul(negClr, g), std)), count);
}

/** `clr` is the step's decayed rate lr / (1 + (step − 1)·lrDecay), computed by the caller in f64 as PyTorch does. */
export function f32_adagrad_step(
  param: usize, grad: usize, sum: usize, n: i32,
  clr: f64, eps: f64, weightDecay: f64, maximize: i32,
): void {
  const negClr = f32x4.splat(<f32>-clr);
  const epsv = f32x4.splat(<f32>eps);
  const wd = f32x4.splat(<f32>weightDecay);
  const hasWd = weightDecay != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    adagradLanes<Whole>(param + o, grad + o, sum + o, 4, negClr, epsv, wd, hasWd, maximize != 0);
  }
  if (i < n) {
    const o = <usize>i << 2;
    adagradLanes<Tail>(param + o, grad + o, sum + o, n - i, negClr, epsv, wd, hasWd, maximize != 0);
  }
}

@inline function adadeltaLanes<Span>(
  param: usize, grad: usize, squareAvg: usize, accDelta: usize, count: i32,
  negLr: v128, rho: v128, oneMinusR: v128, eps: v128, wd: v128, hasWd: bool, maximize: bool,
): void {
  const p = loadSpan<Span>(param, count);
  const g = effectiveGrad(loadSpan<Span>(grad, count), p, maximize, hasWd, wd);
  const sq = fma32x4(f32x4.mul(oneMinusR, g), g, f32x4.mul(loadSpan<Span>(squareAvg, count), rho));
  storeSpan<Span>(squareAvg, sq, count);
  const std = f32x4.sqrt(f32x4.add(sq, eps));
  const acc = loadSpan<Span>(accDelta, count);
  const delta = f32x4.mul(f32x4.div(f32x4.sqrt(f32x4.add(acc, eps)), std), g);
  storeSpan<Span>(accDelta, fma32x4(f32x4.mul(oneMinusR, delta), delta, f32x4.mul(acc, rho)), count);
  storeSpan<Span>(param, fma32x4(negLr, delta, p), count);
}

export function f32_adadelta_step(
  param: usize, grad: usize, squareAvg: usize, accDelta: usize, n: i32,
  lr: f64, rho: f64, eps: f64, weightDecay: f64, maximize: i32,
): void {
  const negLr = f32x4.splat(<f32>-lr);
  const r = f32x4.splat(<f32>rho);
  const oneMinusR = f32x4.splat(<f32>(1.0 - rho));
  const epsv = f32x4.splat(<f32>eps);
  const wd = f32x4.splat(<f32>weightDecay);
  const hasWd = weightDecay != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    adadeltaLanes<Whole>(param + o, grad + o, squareAvg + o, accDelta + o, 4, negLr, r, oneMinusR, epsv, wd, hasWd, maximize != 0);
  }
  if (i < n) {
    const o = <usize>i << 2;
    adadeltaLanes<Tail>(param + o, grad + o, squareAvg + o, accDelta + o, n - i, negLr, r, oneMinusR, epsv, wd, hasWd, maximize != 0);
  }
}
