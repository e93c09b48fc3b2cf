// Elementwise kernels: see src/backend/kernels.ts for the contract.
//
// Dispatch: each kernel switches on the op code once and calls a loop that is
// generic over an op tag (an empty class), so every op compiles to a loop of
// its own with the op fixed at compile time; nothing is decided per element.
// (Passing the op code as a constant to an @inline loop is not enough: at -O3
// binaryen's code folding merges the identical inlined loops back into one
// loop with the op switch inside, before constants are propagated.)
//
// Loops work four lanes at a time. A tail of 1–3 elements is loaded into a
// partial vector and goes through the same lane formula, so an element's
// result never depends on where it sits in the array.
//
// No lookup tables: the standard library's Mathf.exp / log / pow keep theirs
// in data segments, which would sit at the bottom of the shared heap where the
// allocator hands out tensors. exp and log here are the Cephes single-precision
// polynomials (measured within 1 ulp of the correctly rounded result; tanh too,
// sigmoid within 2); pow works in f64 through the table-free Math.log1p /
// Math.expm1 and rounds once to f32.

import { UnaryOp, BinaryOp } from "./opcodes";

// ---------------------------------------------------------------------------
// Op tags

class Neg {}
class Abs {}
class Sqrt {}
class Exp {}
class Log {}
class Relu {}
class Sigmoid {}
class Tanh {}
class Square {}
class Sign {}

class Add {}
class Sub {}
class Mul {}
class Div {}
class Pow {}
class Maximum {}
class Minimum {}
class Eq {}
class Ne {}
class Lt {}
class Le {}
class Gt {}
class Ge {}

/** Which side of a binary op a broadcast scalar is on. */
class ScalarRight {}
class ScalarLeft {}

/**
 * Compile-time type identity: folds to a constant, so an `if` on it keeps only
 * the branch taken. (The tags are never instantiated; idof emits no data.)
 */
@inline function is<A, B>(): bool {
  return idof<A>() == idof<B>();
}

// ---------------------------------------------------------------------------
// Addressing

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Lanes 0..count−1 from p, p + step, ...; the other lanes repeat lane 0 (a harmless input for every op). */
@inline function loadLanes(p: usize, step: usize, count: i32): v128 {
  let v = f32x4.splat(load<f32>(p));
  if (count > 1) v = v128.load32_lane(p + step, v, 1);
  if (count > 2) v = v128.load32_lane(p + 2 * step, v, 2);
  if (count > 3) v = v128.load32_lane(p + 3 * step, v, 3);
  return v;
}

/** Lanes 0..count−1 to p, p + 4, ...: a tail of 1–3 elements (whole vectors use v128.store). */
@inline function storeLanes(p: usize, v: v128, count: i32): void {
  v128.store32_lane(p, v, 0);
  if (count > 1) v128.store32_lane(p, v, 1, 4);
  if (count > 2) v128.store32_lane(p, v, 2, 8);
}

@inline function ones(): v128 {
  return f32x4.splat(1.0);
}

// ---------------------------------------------------------------------------
// Lane math

/** e^x (Cephes expf), NaN-preserving; overflows to +∞ and underflows through the subnormals to 0. */
function expLanes(x: v128): v128 {
  // The clamp keeps both halves of 2^n below a normal exponent. pmax(x, c) is
  // x < c ? c : x, so NaN passes through (and it is one instruction, unlike max).
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-104.0)), f32x4.splat(89.0));
  // Adding 1.5·2^23 rounds x·log2(e) to the nearest integer n and leaves n in
  // the low mantissa bits, which saves a round and a float-to-int conversion.
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const n = f32x4.sub(shifted, f32x4.splat(12582912.0));
  // Cody–Waite: 0.693359375 has few bits, so n · it is exact.
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), ones());
  // 2^n as two factors: each is a normal float for n in [−150, 128], and only the last product rounds.
  const k = i32x4.sub(shifted, i32x4.splat(0x4b400000));
  const k1 = i32x4.shr_s(k, 1);
  const scale1 = i32x4.shl(i32x4.add(k1, i32x4.splat(127)), 23);
  const scale2 = i32x4.shl(i32x4.add(i32x4.sub(k, k1), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, scale1), scale2);
}

/** ln x (Cephes logf): log(±0) = −∞, log(x < 0) = NaN, log(+∞) = +∞. */
function logLanes(x: v128): v128 {
  // Subnormals are scaled by 2^23 into the normal range first.
  const subnormal = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  const normal = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608.0)), x, subnormal);
  let e = i32x4.sub(i32x4.shr_u(normal, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(subnormal, i32x4.splat(23)));
  // x = m · 2^e with m in [0.5, 1); below √½ use 2m and e − 1, so the polynomial sees m − 1 in [−0.29, 0.41].
  let m = v128.or(v128.and(normal, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const low = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.add(e, low);
  m = f32x4.sub(f32x4.add(m, v128.and(low, m)), ones());
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let result = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, f32x4.splat(0.693359375)));
  const zero = f32x4.splat(0);
  result = v128.bitselect(f32x4.splat(-Infinity), result, f32x4.eq(x, zero));
  result = v128.bitselect(f32x4.splat(NaN), result, f32x4.lt(x, zero));
  // NaN and +∞ are their own logarithm.
  const selfLog = v128.or(f32x4.ne(x, x), f32x4.eq(x, f32x4.splat(Infinity)));
  return v128.bitselect(x, result, selfLog);
}

/** tanh x (Cephes tanhf): an odd polynomial below 0.625, else 1 − 2/(e^{2|x|} + 1), which saturates to 1; then x's sign. */
function tanhLanes(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = expLanes(f32x4.add(ax, ax));
  const large = f32x4.sub(ones(), f32x4.div(f32x4.splat(2.0), f32x4.add(e, ones())));
  // The polynomial avoids the cancellation of the formula above near 0.
  const z = f32x4.mul(ax, ax);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), ax), ax);
  // Both branches are ≥ 0 (or NaN); setting the sign bit keeps tanh(−0) = −0.
  const magnitude = v128.bitselect(small, large, f32x4.lt(ax, f32x4.splat(0.625)));
  return v128.or(magnitude, v128.and(x, f32x4.splat(-0.0)));
}

/** 1 / (1 + e^−x): e^−x overflows to +∞ for x ≪ 0, giving 0, and vanishes for x ≫ 0, giving 1; never NaN for finite x. */
@inline function sigmoidLanes(x: v128): v128 {
  return f32x4.div(ones(), f32x4.add(ones(), expLanes(f32x4.neg(x))));
}

/** ±1 by the sign bit; ±0 and NaN are returned as they are (sign(0) = 0, sign(NaN) = NaN). */
@inline function signLanes(x: v128): v128 {
  const nonzeroNumber = v128.or(f32x4.lt(x, f32x4.splat(0)), f32x4.gt(x, f32x4.splat(0)));
  const unit = v128.or(v128.and(x, f32x4.splat(-0.0)), ones());
  return v128.bitselect(unit, x, nonzeroNumber);
}

/** C's powf (what PyTorch uses): pow(x, ±0) = 1 and pow(1, y) = 1 even for NaN, pow(−1, ±∞) = 1. */
function powF32(x: f32, y: f32): f32 {
  const ax = Mathf.abs(x);
  if (y == 0 || x == 1 || (ax == 1 && Mathf.abs(y) == <f32>Infinity)) return 1;
  if (isNaN(x) || isNaN(y)) return <f32>NaN;
  const yIsInteger = Mathf.floor(y) == y;
  if (x < 0 && !yIsInteger) return <f32>NaN;
  // Floats of 2^24 and beyond are even integers.
  const yIsOdd = yIsInteger && Mathf.abs(y) < 16777216 && (<i32>y & 1) != 0;
  const negative = yIsOdd && reinterpret<i32>(x) < 0;
  let magnitude: f32;
  if (ax == 0) magnitude = y < 0 ? <f32>Infinity : 0;
  else if (ax == <f32>Infinity) magnitude = y < 0 ? 0 : <f32>Infinity;
  else magnitude = <f32>expForPow(<f64>y * logOfPositiveFinite(<f64>ax));
  return negative ? -magnitude : magnitude;
}

/** ln x for a positive finite x (every f32 is a normal f64). */
function logOfPositiveFinite(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let exponent = <i32>(bits >> 52) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > Math.SQRT2) {
    m *= 0.5;
    exponent += 1;
  }
  // m − 1 is exact for m in [√½, √2].
  return <f64>exponent * Math.LN2 + Math.log1p(m - 1);
}

/** e^t, accurate to f64 wherever the result is in f32 range. */
function expForPow(t: f64): f64 {
  // Beyond ±110 the f32 result is 0 or ∞ anyway; the clamp keeps 2^k a normal f64.
  t = min(max(t, -110.0), 110.0);
  const k = nearest(t * 1.4426950408889634);
  const r = t - k * 6.93147180369123816490e-1 - k * 1.90821492927058770002e-10;
  return (Math.expm1(r) + 1) * reinterpret<f64>(<u64>(<i64>k + 1023) << 52);
}

function powLanes(a: v128, b: v128): v128 {
  let r = f32x4.splat(powF32(f32x4.extract_lane(a, 0), f32x4.extract_lane(b, 0)));
  r = f32x4.replace_lane(r, 1, powF32(f32x4.extract_lane(a, 1), f32x4.extract_lane(b, 1)));
  r = f32x4.replace_lane(r, 2, powF32(f32x4.extract_lane(a, 2), f32x4.extract_lane(b, 2)));
  return f32x4.replace_lane(r, 3, powF32(f32x4.extract_lane(a, 3), f32x4.extract_lane(b, 3)));
}

// ---------------------------------------------------------------------------
// Unary

@inline function unaryLanes<Op>(x: v128): v128 {
  if (is<Op, Neg>()) return f32x4.neg(x);
  if (is<Op, Abs>()) return f32x4.abs(x);
  if (is<Op, Sqrt>()) return f32x4.sqrt(x);
  if (is<Op, Exp>()) return expLanes(x);
  if (is<Op, Log>()) return logLanes(x);
  // max passes NaN through, as PyTorch's relu does.
  if (is<Op, Relu>()) return f32x4.max(x, f32x4.splat(0));
  if (is<Op, Sigmoid>()) return sigmoidLanes(x);
  if (is<Op, Tanh>()) return tanhLanes(x);
  if (is<Op, Square>()) return f32x4.mul(x, x);
  if (is<Op, Sign>()) return signLanes(x);
  return unreachable();
}

function unaryLoop<Op>(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(y, i), unaryLanes<Op>(v128.load(at(x, i))));
  if (i < n) storeLanes(at(y, i), unaryLanes<Op>(loadLanes(at(x, i), 4, n - i)), n - i);
}

export function f32_unary(op: i32, x: usize, y: usize, n: i32): void {
  switch (op) {
    case UnaryOp.Neg: unaryLoop<Neg>(x, y, n); return;
    case UnaryOp.Abs: unaryLoop<Abs>(x, y, n); return;
    case UnaryOp.Sqrt: unaryLoop<Sqrt>(x, y, n); return;
    case UnaryOp.Exp: unaryLoop<Exp>(x, y, n); return;
    case UnaryOp.Log: unaryLoop<Log>(x, y, n); return;
    case UnaryOp.Relu: unaryLoop<Relu>(x, y, n); return;
    case UnaryOp.Sigmoid: unaryLoop<Sigmoid>(x, y, n); return;
    case UnaryOp.Tanh: unaryLoop<Tanh>(x, y, n); return;
    case UnaryOp.Square: unaryLoop<Square>(x, y, n); return;
    case UnaryOp.Sign: unaryLoop<Sign>(x, y, n); return;
    default: unreachable();
  }
}

/** Whether op' is computed from the input x (else from the output y, or from neither). */
@inline function backwardReadsInput<Op>(): bool {
  return is<Op, Abs>() || is<Op, Log>() || is<Op, Relu>() || is<Op, Square>();
}

@inline function backwardReadsOutput<Op>(): bool {
  return is<Op, Sqrt>() || is<Op, Exp>() || is<Op, Sigmoid>() || is<Op, Tanh>();
}

/** dy · op'(x), in PyTorch's order of operations. */
@inline function unaryBackwardLanes<Op>(x: v128, y: v128, dy: v128): v128 {
  if (is<Op, Neg>()) return f32x4.neg(dy);
  if (is<Op, Abs>()) return f32x4.mul(dy, signLanes(x));
  if (is<Op, Sqrt>()) return f32x4.div(dy, f32x4.add(y, y));
  if (is<Op, Exp>()) return f32x4.mul(dy, y);
  if (is<Op, Log>()) return f32x4.div(dy, x);
  // A mask, not a product: an infinite dy still gives 0 where x ≤ 0.
  if (is<Op, Relu>()) return v128.and(dy, f32x4.gt(x, f32x4.splat(0)));
  if (is<Op, Sigmoid>()) return f32x4.mul(f32x4.mul(dy, f32x4.sub(ones(), y)), y);
  if (is<Op, Tanh>()) return f32x4.mul(dy, f32x4.sub(ones(), f32x4.mul(y, y)));
  if (is<Op, Square>()) return f32x4.mul(dy, f32x4.add(x, x));
  if (is<Op, Sign>()) return f32x4.splat(0);
  return unreachable();
}

function unaryBackwardLoop<Op>(x: usize, y: usize, dy: usize, dx: usize, n: i32): void {
  const unused = f32x4.splat(0);
  let i = 0;
  for (; i <= n - 4; i += 4) {
    const vx = backwardReadsInput<Op>() ? v128.load(at(x, i)) : unused;
    const vy = backwardReadsOutput<Op>() ? v128.load(at(y, i)) : unused;
    v128.store(at(dx, i), unaryBackwardLanes<Op>(vx, vy, v128.load(at(dy, i))));
  }
  if (i < n) {
    const count = n - i;
    const vx = backwardReadsInput<Op>() ? loadLanes(at(x, i), 4, count) : unused;
    const vy = backwardReadsOutput<Op>() ? loadLanes(at(y, i), 4, count) : unused;
    storeLanes(at(dx, i), unaryBackwardLanes<Op>(vx, vy, loadLanes(at(dy, i), 4, count)), count);
  }
}

export function f32_unary_backward(op: i32, x: usize, y: usize, dy: usize, dx: usize, n: i32): void {
  switch (op) {
    case UnaryOp.Neg: unaryBackwardLoop<Neg>(x, y, dy, dx, n); return;
    case UnaryOp.Abs: unaryBackwardLoop<Abs>(x, y, dy, dx, n); return;
    case UnaryOp.Sqrt: unaryBackwardLoop<Sqrt>(x, y, dy, dx, n); return;
    case UnaryOp.Exp: unaryBackwardLoop<Exp>(x, y, dy, dx, n); return;
    case UnaryOp.Log: unaryBackwardLoop<Log>(x, y, dy, dx, n); return;
    case UnaryOp.Relu: unaryBackwardLoop<Relu>(x, y, dy, dx, n); return;
    case UnaryOp.Sigmoid: unaryBackwardLoop<Sigmoid>(x, y, dy, dx, n); return;
    case UnaryOp.Tanh: unaryBackwardLoop<Tanh>(x, y, dy, dx, n); return;
    case UnaryOp.Square: unaryBackwardLoop<Square>(x, y, dy, dx, n); return;
    case UnaryOp.Sign: unaryBackwardLoop<Sign>(x, y, dy, dx, n); return;
    default: unreachable();
  }
}

// ---------------------------------------------------------------------------
// Binary

@inline function binaryLanes<Op>(a: v128, b: v128): v128 {
  if (is<Op, Add>()) return f32x4.add(a, b);
  if (is<Op, Sub>()) return f32x4.sub(a, b);
  if (is<Op, Mul>()) return f32x4.mul(a, b);
  if (is<Op, Div>()) return f32x4.div(a, b);
  if (is<Op, Pow>()) return powLanes(a, b);
  // Wasm's min/max propagate NaN, as PyTorch's maximum/minimum do.
  if (is<Op, Maximum>()) return f32x4.max(a, b);
  if (is<Op, Minimum>()) return f32x4.min(a, b);
  if (is<Op, Eq>()) return v128.and(f32x4.eq(a, b), ones());
  if (is<Op, Ne>()) return v128.and(f32x4.ne(a, b), ones());
  if (is<Op, Lt>()) return v128.and(f32x4.lt(a, b), ones());
  if (is<Op, Le>()) return v128.and(f32x4.le(a, b), ones());
  if (is<Op, Gt>()) return v128.and(f32x4.gt(a, b), ones());
  if (is<Op, Ge>()) return v128.and(f32x4.ge(a, b), ones());
  return unreachable();
}

/** out[i] = a[i] op b[i]. */
function contiguousLoop<Op>(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i <= n - 4; i += 4) {
    v128.store(at(out, i), binaryLanes<Op>(v128.load(at(a, i)), v128.load(at(b, i))));
  }
  if (i < n) {
    const count = n - i;
    storeLanes(at(out, i), binaryLanes<Op>(loadLanes(at(a, i), 4, count), loadLanes(at(b, i), 4, count)), count);
  }
}

@inline function withScalarLanes<Op, Side>(v: v128, s: v128): v128 {
  return is<Side, ScalarLeft>() ? binaryLanes<Op>(s, v) : binaryLanes<Op>(v, s);
}

/** out[i] = a[i] op s (ScalarRight) or s op a[i] (ScalarLeft). */
@inline function withScalarLoop<Op, Side>(a: usize, s: f32, out: usize, n: i32): void {
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(out, i), withScalarLanes<Op, Side>(v128.load(at(a, i)), vs));
  if (i < n) {
    const count = n - i;
    storeLanes(at(out, i), withScalarLanes<Op, Side>(loadLanes(at(a, i), 4, count), vs), count);
  }
}

function withScalarEitherSide<Op>(a: usize, s: f32, out: usize, n: i32, reversed: bool): void {
  if (reversed) withScalarLoop<Op, ScalarLeft>(a, s, out, n);
  else withScalarLoop<Op, ScalarRight>(a, s, out, n);
}

/** out[i] = a[i·strideA] op b[i·strideB] (strides in elements; out contiguous). */
function stridedLoop<Op>(a: usize, strideA: i32, b: usize, strideB: i32, out: usize, n: i32): void {
  const stepA = <usize>strideA << 2;
  const stepB = <usize>strideB << 2;
  let i = 0;
  for (; i <= n - 4; i += 4) {
    v128.store(at(out, i), binaryLanes<Op>(loadLanes(a, stepA, 4), loadLanes(b, stepB, 4)));
    a += stepA << 2;
    b += stepB << 2;
  }
  if (i < n) {
    const count = n - i;
    storeLanes(at(out, i), binaryLanes<Op>(loadLanes(a, stepA, count), loadLanes(b, stepB, count)), count);
  }
}

function binaryContiguous(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  switch (op) {
    case BinaryOp.Add: contiguousLoop<Add>(a, b, out, n); return;
    case BinaryOp.Sub: contiguousLoop<Sub>(a, b, out, n); return;
    case BinaryOp.Mul: contiguousLoop<Mul>(a, b, out, n); return;
    case BinaryOp.Div: contiguousLoop<Div>(a, b, out, n); return;
    case BinaryOp.Pow: contiguousLoop<Pow>(a, b, out, n); return;
    case BinaryOp.Maximum: contiguousLoop<Maximum>(a, b, out, n); return;
    case BinaryOp.Minimum: contiguousLoop<Minimum>(a, b, out, n); return;
    case BinaryOp.Eq: contiguousLoop<Eq>(a, b, out, n); return;
    case BinaryOp.Ne: contiguousLoop<Ne>(a, b, out, n); return;
    case BinaryOp.Lt: contiguousLoop<Lt>(a, b, out, n); return;
    case BinaryOp.Le: contiguousLoop<Le>(a, b, out, n); return;
    case BinaryOp.Gt: contiguousLoop<Gt>(a, b, out, n); return;
    case BinaryOp.Ge: contiguousLoop<Ge>(a, b, out, n); return;
    default: unreachable();
  }
}

function binaryWithScalar(op: i32, a: usize, s: f32, out: usize, n: i32, reversed: bool): void {
  switch (op) {
    case BinaryOp.Add: withScalarEitherSide<Add>(a, s, out, n, reversed); return;
    case BinaryOp.Sub: withScalarEitherSide<Sub>(a, s, out, n, reversed); return;
    case BinaryOp.Mul: withScalarEitherSide<Mul>(a, s, out, n, reversed); return;
    case BinaryOp.Div: withScalarEitherSide<Div>(a, s, out, n, reversed); return;
    case BinaryOp.Pow: withScalarEitherSide<Pow>(a, s, out, n, reversed); return;
    case BinaryOp.Maximum: withScalarEitherSide<Maximum>(a, s, out, n, reversed); return;
    case BinaryOp.Minimum: withScalarEitherSide<Minimum>(a, s, out, n, reversed); return;
    case BinaryOp.Eq: withScalarEitherSide<Eq>(a, s, out, n, reversed); return;
    case BinaryOp.Ne: withScalarEitherSide<Ne>(a, s, out, n, reversed); return;
    case BinaryOp.Lt: withScalarEitherSide<Lt>(a, s, out, n, reversed); return;
    case BinaryOp.Le: withScalarEitherSide<Le>(a, s, out, n, reversed); return;
    case BinaryOp.Gt: withScalarEitherSide<Gt>(a, s, out, n, reversed); return;
    case BinaryOp.Ge: withScalarEitherSide<Ge>(a, s, out, n, reversed); return;
    default: unreachable();
  }
}

function binaryStrided(op: i32, a: usize, strideA: i32, b: usize, strideB: i32, out: usize, n: i32): void {
  switch (op) {
    case BinaryOp.Add: stridedLoop<Add>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Sub: stridedLoop<Sub>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Mul: stridedLoop<Mul>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Div: stridedLoop<Div>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Pow: stridedLoop<Pow>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Maximum: stridedLoop<Maximum>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Minimum: stridedLoop<Minimum>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Eq: stridedLoop<Eq>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Ne: stridedLoop<Ne>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Lt: stridedLoop<Lt>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Le: stridedLoop<Le>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Gt: stridedLoop<Gt>(a, strideA, b, strideB, out, n); return;
    case BinaryOp.Ge: stridedLoop<Ge>(a, strideA, b, strideB, out, n); return;
    default: unreachable();
  }
}

/** One run of the broadcast: the contiguous and scalar cases get their vector loops. */
function binaryRun(op: i32, a: usize, strideA: i32, b: usize, strideB: i32, out: usize, n: i32): void {
  if (strideA == 1 && strideB == 1) binaryContiguous(op, a, b, out, n);
  else if (strideA == 1 && strideB == 0) binaryWithScalar(op, a, load<f32>(b), out, n, false);
  else if (strideA == 0 && strideB == 1) binaryWithScalar(op, b, load<f32>(a), out, n, true);
  else binaryStrided(op, a, strideA, b, strideB, out, n);
}

export function f32_binary(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  binaryContiguous(op, a, b, out, n);
}

export function f32_binary_scalar(op: i32, a: usize, s: f32, out: usize, n: i32, reversed: i32): void {
  binaryWithScalar(op, a, s, out, n, reversed != 0);
}

@inline function dim(p: usize, d: i32): i32 {
  return load<i32>(at(p, d));
}

export function f32_binary_broadcast(op: i32, a: usize, b: usize, out: usize, ndim: i32, meta: usize): void {
  const shape = meta;
  const stridesA = at(meta, ndim);
  const stridesB = at(meta, 2 * ndim);
  for (let d = 0; d < ndim; d++) if (dim(shape, d) == 0) return;
  // Walk the axes from the last: the trailing axes that merge into one run with
  // a single stride per operand (size-1 axes are skipped), then the axes before
  // it that merge into rows of runs. [m,n]⊕[n] is m rows of a contiguous run,
  // [m,n]⊕[m,1] m rows of a run against a scalar, equal shapes a single run.
  let d = ndim - 1;
  let runLength = 1, runA = 0, runB = 0;
  for (; d >= 0; d--) {
    const size = dim(shape, d);
    if (size == 1) continue;
    const sa = dim(stridesA, d), sb = dim(stridesB, d);
    if (runLength == 1) {
      runA = sa;
      runB = sb;
    } else if (sa != runA * runLength || sb != runB * runLength) break;
    runLength *= size;
  }
  let rows = 1, rowA = 0, rowB = 0;
  for (; d >= 0; d--) {
    const size = dim(shape, d);
    if (size == 1) continue;
    const sa = dim(stridesA, d), sb = dim(stridesB, d);
    if (rows == 1) {
      rowA = sa;
      rowB = sb;
    } else if (sa != rowA * rows || sb != rowB * rows) break;
    rows *= size;
  }
  // Whatever axes remain (three or more unmergeable groups: rare) are indexed by division.
  const restLast = d;
  let blocks = 1;
  for (let k = 0; k <= restLast; k++) blocks *= dim(shape, k);
  let o = out;
  for (let q = 0; q < blocks; q++) {
    let offsetA = 0, offsetB = 0, rem = q;
    for (let k = restLast; k >= 0; k--) {
      const size = dim(shape, k);
      const index = rem % size;
      rem /= size;
      offsetA += index * dim(stridesA, k);
      offsetB += index * dim(stridesB, k);
    }
    for (let r = 0; r < rows; r++) {
      binaryRun(op, at(a, offsetA + r * rowA), runA, at(b, offsetB + r * rowB), runB, o, runLength);
      o = at(o, runLength);
    }
  }
}

// ---------------------------------------------------------------------------
// Copies and fills

@inline function fillRun(out: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(out, i), v);
  for (; i < n; i++) store<f32>(at(out, i), value);
}

/**
 * dst[r, j] = src[r + j·stride]: src read down its columns. 4×4 blocks, each
 * four vector loads, a shuffle transpose and four vector stores; a band of four
 * dst rows at a time, so that the lines written stay few (rows a power-of-two
 * apart share a cache set).
 */
function transpose(src: usize, stride: i32, dst: usize, rows: i32, length: i32): void {
  const step = <usize>stride << 2;
  const pitch = <usize>length << 2;
  let r = 0;
  for (; r <= rows - 4; r += 4) {
    let j = 0;
    for (; j <= length - 4; j += 4) {
      const s = at(src, r + j * stride);
      const a = v128.load(s);
      const b = v128.load(s + step);
      const c = v128.load(s + 2 * step);
      const d = v128.load(s + 3 * step);
      const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
      const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
      const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
      const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
      const t = at(dst, r * length + j);
      v128.store(t, i32x4.shuffle(ab01, cd01, 0, 1, 4, 5));
      v128.store(t + pitch, i32x4.shuffle(ab01, cd01, 2, 3, 6, 7));
      v128.store(t + 2 * pitch, i32x4.shuffle(ab23, cd23, 0, 1, 4, 5));
      v128.store(t + 3 * pitch, i32x4.shuffle(ab23, cd23, 2, 3, 6, 7));
    }
    for (; j < length; j++) {
      const s = at(src, r + j * stride);
      for (let k = 0; k < 4; k++) store<f32>(at(dst, (r + k) * length + j), load<f32>(at(s, k)));
    }
  }
  for (; r < rows; r++) {
    for (let j = 0; j < length; j++) store<f32>(at(dst, r * length + j), load<f32>(at(src, r + j * stride)));
  }
}

/** dst[r, j] = src[r·rowStride + j·stride] for a run of `length` elements in each of `rows` rows. */
function copyRows(src: usize, rowStride: i32, stride: i32, dst: usize, rows: i32, length: i32): void {
  if (stride == 1) {
    for (let r = 0; r < rows; r++) memory.copy(at(dst, r * length), at(src, r * rowStride), <usize>length << 2);
  } else if (stride == 0) {
    for (let r = 0; r < rows; r++) fillRun(at(dst, r * length), length, load<f32>(at(src, r * rowStride)));
  } else if (rowStride == 1) {
    transpose(src, stride, dst, rows, length);
  } else {
    const step = <usize>stride << 2;
    for (let r = 0; r < rows; r++) {
      let s = at(src, r * rowStride);
      const t = at(dst, r * length);
      for (let j = 0; j < length; j++) {
        store<f32>(at(t, j), load<f32>(s));
        s += step;
      }
    }
  }
}

export function f32_strided_copy(src: usize, dst: usize, ndim: i32, meta: usize): void {
  const shape = meta;
  const strides = at(meta, ndim);
  for (let d = 0; d < ndim; d++) if (dim(shape, d) == 0) return;
  // The same walk as f32_binary_broadcast, with one operand.
  let d = ndim - 1;
  let runLength = 1, runStride = 0;
  for (; d >= 0; d--) {
    const size = dim(shape, d);
    if (size == 1) continue;
    const stride = dim(strides, d);
    if (runLength == 1) runStride = stride;
    else if (stride != runStride * runLength) break;
    runLength *= size;
  }
  let rows = 1, rowStride = 0;
  for (; d >= 0; d--) {
    const size = dim(shape, d);
    if (size == 1) continue;
    const stride = dim(strides, d);
    if (rows == 1) rowStride = stride;
    else if (stride != rowStride * rows) break;
    rows *= size;
  }
  const restLast = d;
  let blocks = 1;
  for (let k = 0; k <= restLast; k++) blocks *= dim(shape, k);
  const blockLength = rows * runLength;
  for (let q = 0; q < blocks; q++) {
    let offset = 0, rem = q;
    for (let k = restLast; k >= 0; k--) {
      const size = dim(shape, k);
      offset += (rem % size) * dim(strides, k);
      rem /= size;
    }
    copyRows(at(src, offset), rowStride, runStride, at(dst, q * blockLength), rows, runLength);
  }
}

export function f32_fill(out: usize, n: i32, value: f32): void {
  fillRun(out, n, value);
}

/** In f64, rounded once: start + i·step does not drift the way repeated addition would. */
export function f32_arange(out: usize, n: i32, start: f64, step: f64): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), <f32>(start + <f64>i * step));
}

export function i32_to_f32(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i <= n - 4; i += 4) v128.store(at(dst, i), f32x4.convert_i32x4_s(v128.load(at(src, i))));
  for (; i < n; i++) store<f32>(at(dst, i), <f32>load<i32>(at(src, i)));
}

export function u8_to_f32(src: usize, dst: usize, n: i32, scale: f32): void {
  const vscale = f32x4.splat(scale);
  let i = 0;
  for (; i <= n - 8; i += 8) {
    const halves = v128.load8x8_u(src + <usize>i);
    // Bytes fit in an i32's positive range: the signed conversion is exact and,
    // unlike the unsigned one (no x64 instruction), a single cvtdq2ps.
    const low = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(halves));
    const high = f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(halves));
    v128.store(at(dst, i), f32x4.mul(low, vscale));
    v128.store(at(dst, i), f32x4.mul(high, vscale), 16);
  }
  for (; i < n; i++) store<f32>(at(dst, i), <f32>load<u8>(src + <usize>i) * scale);
}

export function f32_broadcast_rows(bias: usize, c: usize, m: i32, n: i32): void {
  const rowBytes = <usize>n << 2;
  for (let r = 0; r < m; r++) memory.copy(c + <usize>r * rowBytes, bias, rowBytes);
}
