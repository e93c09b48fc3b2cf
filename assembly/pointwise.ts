// Pointwise kernels with parameters or transcendental functions that have no
// f32 SIMD form here: sin, cos, clamp, leaky ReLU and GELU. See
// src/backend/kernels.ts for the contract.
//
// Each element is computed in f64 from its f32 value and rounded once to f32
// (GELU two f64 lanes at a time, clamp and leaky ReLU four f32 lanes, where
// f32 is exact), so results are within an ulp of the correctly rounded value
// (GELU's erfc: two) and the JS twin (src/backend/js/pointwise.ts) can mirror
// them with Math.*. As in lanes.ts, loops are generic over an op tag so that each
// op compiles to a loop of its own, and no lookup tables: AssemblyScript's
// Math.sin and Math.cos keep theirs in a data segment, which would sit at the
// bottom of the shared heap.

import { PointwiseOp } from "./opcodes";
import { at, is, loadLanes, storeLanes } from "./lanes";

class Sin {}
class Cos {}
class Clamp {}
class LeakyRelu {}
class Gelu {}
class GeluTanh {}

// ---------------------------------------------------------------------------
// sin and cos: musl's __rem_pio2f reduction to r in [−π/4, π/4] with a
// quadrant, then musl's __sindf / __cosdf polynomials, all in f64.

@inline const INV_PIO2: f64 = 6.36619772367581382433e-01;
/** π/2 as its first 25 bits plus the rest: fn·PIO2_HI is exact for fn < 2^28. */
@inline const PIO2_HI: f64 = 1.57079631090164184570e+00;
@inline const PIO2_LO: f64 = 1.58932547735281966916e-08;
@inline const PIO4: f64 = 0.78539818525314331055;
@inline const TO_INT: f64 = 6755399441055744.0;

/** sin r for |r| ≤ π/4 (musl __sindf: error below 2^−37 relative). */
@inline function sinKernel(r: f64): f64 {
  const z = r * r;
  const w = z * z;
  const p = -0.000198393348360966317347 + z * 0.0000027183114939898219064;
  const s = z * r;
  return (r + s * (-0.166666666416265235595 + z * 0.0083333293858894631756)) + s * w * p;
}

/** cos r for |r| ≤ π/4 (musl __cosdf). */
@inline function cosKernel(r: f64): f64 {
  const z = r * r;
  const w = z * z;
  const p = -0.00138867637746099294692 + z * 0.0000243904487962774090654;
  return ((1.0 + z * -0.499999997251031003120) + w * 0.0416666233237390631894) + (w * z) * p;
}

/** The bits of 2/π after the binary point, 64 at a time (code, not a data segment). */
function twoOverPiWord(i: i32): u64 {
  switch (i) {
    case 0: return 0xa2f9836e4e441529;
    case 1: return 0xfc2757d1f534ddc0;
    case 2: return 0xdb6295993c439041;
    default: return 0xfe5163abdebbc561;
  }
}

/** 64 bits of 2/π starting at bit `first` after the binary point (1-based). */
function twoOverPiBits(first: i32): u64 {
  const word = (first - 1) >> 6;
  const offset = <u64>((first - 1) & 63);
  const high = twoOverPiWord(word);
  return offset == 0 ? high : (high << offset) | (twoOverPiWord(word + 1) >> (64 - offset));
}

/** sin(q·π/2 + r) for |r| ≤ π/4 (about). */
function sinOfQuarterTurns(q: i32, r: f64): f64 {
  switch (q & 3) {
    case 0: return sinKernel(r);
    case 1: return cosKernel(r);
    case 2: return -sinKernel(r);
    default: return -cosKernel(r);
  }
}

/** sin(ax + shift·π/2) for a finite ax ≥ 0 and shift 0 (sin) or 1 (cos). */
function sinShifted(ax: f64, shift: i32): f64 {
  if (ax < 421657428.0) {
    // |x| < 2^28·π/2: one multiple of π/2 removed in two exact-enough parts.
    let fn = ax * INV_PIO2 + TO_INT - TO_INT;
    let r = ax - fn * PIO2_HI - fn * PIO2_LO;
    if (r < -PIO4) { fn -= 1; r = ax - fn * PIO2_HI - fn * PIO2_LO; }
    else if (r > PIO4) { fn += 1; r = ax - fn * PIO2_HI - fn * PIO2_LO; }
    return sinOfQuarterTurns(<i32>fn + shift, r);
  }
  // Payne–Hanek: ax = m·2^e with a 24-bit m and e ≥ 5. Bits of 2/π worth 4 or
  // more after scaling drop out mod 4, so 128 bits of it from bit e − 1 on give
  // x·2/π mod 4 as the top of (m · window) mod 2^128, with 2 bits of quadrant.
  const bits = reinterpret<u64>(ax);
  const e = <i32>(bits >> 52) - 1023 - 23;
  const m = ((bits & 0x000fffffffffffff) | 0x0010000000000000) >> 29;
  const wHigh = twoOverPiBits(e - 1);
  const wLow = twoOverPiBits(e + 63);
  const p0 = m * (wLow & 0xffffffff);
  const p1 = m * (wLow >> 32);
  const low = p0 + (p1 << 32);
  const carry: u64 = low < p0 ? 1 : 0;
  const high = m * wHigh + (p1 >> 32) + carry;
  let q = <i32>(high >> 62);
  // The fraction of a quarter turn as a signed 64-bit number: [−½, ½) after rounding q.
  const frac = <i64>((high << 2) | (low >> 62));
  if (frac < 0) q += 1;
  return sinOfQuarterTurns(q + shift, <f64>frac * 5.42101086242752217e-20 * 1.57079632679489661923);
}

function sinF64(x: f64): f64 {
  if (!isFinite(x)) return NaN;
  const ax = Math.abs(x);
  // sin x = x to f32 precision below 2^−12 (x³/6 is under half an ulp): keeps −0 and subnormals exact.
  if (ax < 0.000244140625) return x;
  const s = sinShifted(ax, 0);
  return x < 0 ? -s : s;
}

/** cos x = sin(|x| + π/2). */
function cosF64(x: f64): f64 {
  if (!isFinite(x)) return NaN;
  return sinShifted(Math.abs(x), 1);
}

// ---------------------------------------------------------------------------
// GELU

@inline const SQRT1_2: f64 = 0.70710678118654752440;
@inline const INV_SQRT_2PI: f64 = 0.39894228040143267794;
@inline const SQRT_2_OVER_PI: f64 = 0.79788456080286535588;
@inline const KAPPA: f64 = 0.044715;

// ---------------------------------------------------------------------------
// GELU two lanes of f64 at a time (the same formulas, branch-free)

@inline const LOG2E: f64 = 1.44269504088896338700;
@inline const LN2_HI: f64 = 6.93147180369123816490e-01;
@inline const LN2_LO: f64 = 1.90821492927058770002e-10;

/** e^t per f64 lane: Cody–Waite reduction, degree-11 Taylor on |r| ≤ ln2/2 (error below 1e−14), 2^k by exponent bits. */
function expLanes64(t: v128): v128 {
  // Beyond these e^t is 0 or ∞ in f64; inside, k stays a normal exponent. pmax/pmin pass NaN through.
  const c = f64x2.pmin(f64x2.pmax(t, f64x2.splat(-708.0)), f64x2.splat(709.0));
  const k = f64x2.nearest(f64x2.mul(c, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(c, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  let p = f64x2.splat(2.505210838544172e-8);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.755731922398589e-7));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.7557319223985893e-6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.48015873015873e-5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.3888888888888889e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.16666666666666666));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  const k64 = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const scale = i64x2.shl(i64x2.add(k64, i64x2.splat(1023)), 52);
  let e = f64x2.mul(p, scale);
  e = v128.bitselect(f64x2.splat(Infinity), e, f64x2.gt(t, f64x2.splat(709.78)));
  return v128.bitselect(f64x2.splat(0), e, f64x2.lt(t, f64x2.splat(-745.2)));
}

/**
 * Φ(x) = ½·erfc(−x/√2) per lane, erfc(u) to a relative 1.2e−7 everywhere
 * (Numerical Recipes' erfcc, a Chebyshev fit): accurate in the far tail, where
 * 1 − erf(u) would cancel.
 */
function normalCdfLanes(x: v128): v128 {
  const u = f64x2.mul(x, f64x2.splat(-SQRT1_2));
  const z = f64x2.abs(u);
  const one = f64x2.splat(1.0);
  const t = f64x2.div(one, f64x2.add(one, f64x2.mul(f64x2.splat(0.5), z)));
  let p = f64x2.splat(0.17087277);
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(-0.82215223));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(1.48851587));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(-1.13520398));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(0.27886807));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(-0.18628806));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(0.09678418));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(0.37409196));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(1.00002368));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(-1.26551223));
  const r = f64x2.mul(t, expLanes64(f64x2.add(f64x2.neg(f64x2.mul(z, z)), p)));
  const erfcU = v128.bitselect(r, f64x2.sub(f64x2.splat(2.0), r), f64x2.ge(u, f64x2.splat(0)));
  return f64x2.mul(f64x2.splat(0.5), erfcU);
}

/**
 * ½(1 + tanh u) = 1/(1 + e^−2u) per lane, u = √(2/π)(x + 0.044715x³): GELU-tanh's
 * gate without the cancellation of 1 + tanh u for u ≪ 0.
 */
function tanhGateLanes(x: v128): v128 {
  const cube = f64x2.mul(f64x2.mul(x, x), x);
  const u = f64x2.mul(f64x2.splat(SQRT_2_OVER_PI), f64x2.add(x, f64x2.mul(f64x2.splat(KAPPA), cube)));
  const one = f64x2.splat(1.0);
  return f64x2.div(one, f64x2.add(one, expLanes64(f64x2.mul(f64x2.splat(-2.0), u))));
}

@inline function geluLanes<Op>(x: v128): v128 {
  if (is<Op, Gelu>()) return f64x2.mul(x, normalCdfLanes(x));
  return f64x2.mul(x, tanhGateLanes(x));
}

@inline function geluBackwardLanes<Op>(x: v128, dy: v128): v128 {
  if (is<Op, Gelu>()) {
    const density = f64x2.mul(f64x2.splat(INV_SQRT_2PI), expLanes64(f64x2.mul(f64x2.splat(-0.5), f64x2.mul(x, x))));
    return f64x2.mul(dy, f64x2.add(normalCdfLanes(x), f64x2.mul(x, density)));
  }
  const s = tanhGateLanes(x);
  const slope = f64x2.mul(f64x2.splat(SQRT_2_OVER_PI), f64x2.add(f64x2.splat(1.0), f64x2.mul(f64x2.splat(3.0 * KAPPA), f64x2.mul(x, x))));
  const ds = f64x2.mul(f64x2.mul(f64x2.mul(f64x2.splat(2.0), x), f64x2.mul(s, f64x2.sub(f64x2.splat(1.0), s))), slope);
  return f64x2.mul(dy, f64x2.add(s, ds));
}

/** f32x4 → two f64x2, f(each), back to one f32x4 (each lane rounded once). */
@inline function widened<Op>(v: v128, dy: v128, grad: bool): v128 {
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
  let a: v128, b: v128;
  if (grad) {
    a = geluBackwardLanes<Op>(lo, f64x2.promote_low_f32x4(dy));
    b = geluBackwardLanes<Op>(hi, f64x2.promote_low_f32x4(i32x4.shuffle(dy, dy, 2, 3, 2, 3)));
  } else {
    a = geluLanes<Op>(lo);
    b = geluLanes<Op>(hi);
  }
  return i32x4.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}

function geluLoop<Op>(x: usize, y: usize, n: i32): void {
  const unused = f32x4.splat(0);
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(y, i), widened<Op>(v128.load(at(x, i)), unused, false));
  if (i < n) storeLanes(at(y, i), widened<Op>(loadLanes(at(x, i), 4, n - i), unused, false), n - i);
}

function geluBackwardLoop<Op>(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(dx, i), widened<Op>(v128.load(at(x, i)), v128.load(at(dy, i)), true));
  if (i < n) {
    const count = n - i;
    storeLanes(at(dx, i), widened<Op>(loadLanes(at(x, i), 4, count), loadLanes(at(dy, i), 4, count), true), count);
  }
}

// ---------------------------------------------------------------------------
// Forward and backward, per element

@inline function forward<Op>(x: f64, a: f64, b: f64): f64 {
  if (is<Op, Sin>()) return sinF64(x);
  if (is<Op, Cos>()) return cosF64(x);
  if (is<Op, Clamp>()) {
    // Comparisons with NaN are false: NaN passes through, as in PyTorch.
    const low = x < a ? a : x;
    return low > b ? b : low;
  }
  if (is<Op, LeakyRelu>()) return x > 0 ? x : a * x;
  return unreachable();
}

/** dy · op'(x), as PyTorch 1.13's backward formulas define it (clamp passes the gradient at its bounds). GELU: geluBackwardLanes. */
@inline function backward<Op>(x: f64, dy: f64, a: f64, b: f64): f64 {
  if (is<Op, Sin>()) return dy * cosF64(x);
  if (is<Op, Cos>()) return dy * -sinF64(x);
  if (is<Op, Clamp>()) return x >= a && x <= b ? dy : 0;
  if (is<Op, LeakyRelu>()) return x > 0 ? dy : dy * a;
  return unreachable();
}

/** Clamp and leaky ReLU are exact in f32 (bounds and slope are f32): four lanes at a time, as the scalar formula. */
@inline function isSimd<Op>(): bool {
  return is<Op, Clamp>() || is<Op, LeakyRelu>();
}

@inline function forwardLanes<Op>(x: v128, a: v128, b: v128): v128 {
  if (is<Op, Clamp>()) {
    const low = v128.bitselect(a, x, f32x4.lt(x, a));
    return v128.bitselect(b, low, f32x4.gt(low, b));
  }
  if (is<Op, LeakyRelu>()) return v128.bitselect(x, f32x4.mul(x, a), f32x4.gt(x, f32x4.splat(0)));
  return unreachable();
}

@inline function backwardLanes<Op>(x: v128, dy: v128, a: v128, b: v128): v128 {
  if (is<Op, Clamp>()) return v128.and(dy, v128.and(f32x4.ge(x, a), f32x4.le(x, b)));
  if (is<Op, LeakyRelu>()) return v128.bitselect(dy, f32x4.mul(dy, a), f32x4.gt(x, f32x4.splat(0)));
  return unreachable();
}

function forwardLoop<Op>(x: usize, y: usize, n: i32, a: f64, b: f64): void {
  let i = 0;
  if (isSimd<Op>()) {
    const va = f32x4.splat(<f32>a);
    const vb = f32x4.splat(<f32>b);
    for (; i <= n - 4; i += 4) v128.store(at(y, i), forwardLanes<Op>(v128.load(at(x, i)), va, vb));
  }
  for (; i < n; i++) store<f32>(at(y, i), <f32>forward<Op>(<f64>load<f32>(at(x, i)), a, b));
}

function backwardLoop<Op>(x: usize, dy: usize, dx: usize, n: i32, a: f64, b: f64): void {
  let i = 0;
  if (isSimd<Op>()) {
    const va = f32x4.splat(<f32>a);
    const vb = f32x4.splat(<f32>b);
    for (; i <= n - 4; i += 4) v128.store(at(dx, i), backwardLanes<Op>(v128.load(at(x, i)), v128.load(at(dy, i)), va, vb));
  }
  for (; i < n; i++) {
    store<f32>(at(dx, i), <f32>backward<Op>(<f64>load<f32>(at(x, i)), <f64>load<f32>(at(dy, i)), a, b));
  }
}

export function f32_pointwise(op: i32, x: usize, y: usize, n: i32, a: f64, b: f64): void {
  switch (op) {
    case PointwiseOp.Sin: forwardLoop<Sin>(x, y, n, a, b); return;
    case PointwiseOp.Cos: forwardLoop<Cos>(x, y, n, a, b); return;
    case PointwiseOp.Clamp: forwardLoop<Clamp>(x, y, n, a, b); return;
    case PointwiseOp.LeakyRelu: forwardLoop<LeakyRelu>(x, y, n, a, b); return;
    case PointwiseOp.Gelu: geluLoop<Gelu>(x, y, n); return;
    case PointwiseOp.GeluTanh: geluLoop<GeluTanh>(x, y, n); return;
    default: unreachable();
  }
}

export function f32_pointwise_backward(op: i32, x: usize, dy: usize, dx: usize, n: i32, a: f64, b: f64): void {
  switch (op) {
    case PointwiseOp.Sin: backwardLoop<Sin>(x, dy, dx, n, a, b); return;
    case PointwiseOp.Cos: backwardLoop<Cos>(x, dy, dx, n, a, b); return;
    case PointwiseOp.Clamp: backwardLoop<Clamp>(x, dy, dx, n, a, b); return;
    case PointwiseOp.LeakyRelu: backwardLoop<LeakyRelu>(x, dy, dx, n, a, b); return;
    case PointwiseOp.Gelu: geluBackwardLoop<Gelu>(x, dy, dx, n); return;
    case PointwiseOp.GeluTanh: geluBackwardLoop<GeluTanh>(x, dy, dx, n); return;
    default: unreachable();
  }
}

/**
 * One-hot rows: out[i, j] (i32) = 1 if labels[i] = j else 0, for out [n, c].
 * A row whose label is `ignore` is all zeros (NLL's ignoreIndex). Returns −1,
 * or the index of the first label outside [0, c) (rows before it are written).
 */
export function i32_one_hot(labels: usize, out: usize, n: i32, c: i32, ignore: i32): i32 {
  memory.fill(out, 0, <usize>n * <usize>c << 2);
  for (let i = 0; i < n; i++) {
    const label = load<i32>(at(labels, i));
    if (label == ignore) continue;
    if (label < 0 || label >= c) return i;
    store<i32>(at(out, i * c + label), 1);
  }
  return -1;
}
