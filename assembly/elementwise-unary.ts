// Unary elementwise kernels and their backward: see src/backend/kernels.ts for
// the contract, and lanes.ts for how the loops dispatch and treat tails.
//
// No lookup tables: the standard library's Mathf.exp / log / pow keep theirs
// in data segments, which would sit at the bottom of the shared heap where the
// allocator hands out tensors. exp and log here are the Cephes single-precision
// polynomials (measured within 1 ulp of the correctly rounded result; tanh too,
// sigmoid within 2).

import { UnaryOp } from "./opcodes";
import { at, is, loadLanes, ones, storeLanes } from "./lanes";

// Op tags (never instantiated: see lanes.ts).
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
