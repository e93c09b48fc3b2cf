// Binary elementwise kernels (arithmetic, maximum/minimum, comparisons), on
// equal shapes, against a scalar, or broadcast: see src/backend/kernels.ts for
// the contract, and lanes.ts for how the loops dispatch and treat tails.
// pow works in f64 through the table-free Math.log1p / Math.expm1 (no lookup
// tables: see elementwise-unary.ts) and rounds once to f32.

import { BinaryOp } from "./opcodes";
import { at, dim, is, loadLanes, ones, storeLanes } from "./lanes";

// Op tags (never instantiated: see lanes.ts).
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

// ---------------------------------------------------------------------------
// pow

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
// Loops and dispatch

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
