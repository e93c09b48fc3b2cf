// Reduce kernels: see src/backend/kernels.ts for the contract.
//
// x is viewed as [outer, size, inner] and reduced over the middle axis.
// inner = 1 (the last axis): each output is a contiguous row, reduced four
// lanes at a time. inner > 1 (e.g. a bias gradient, [1, m, n] over m): the
// vectors run across inner, a band of columns at a time, walking down the rows.
//
// Sums accumulate in f64 (each f32x4 is widened to two f64x2), so a sum or a
// mean of 60 000 values is the exact sum rounded once to f32 in practice.
//
// As in lanes.ts, loops are generic over an op tag so that each op
// compiles to its own loop (a constant op argument would be folded back into
// one loop with a switch inside by binaryen's -O3 code folding).

import { ReduceOp } from "./opcodes";
import { at, is, loadLanes, storeLanes } from "./lanes";

/** Lanes 0..count−1 of a band of 1–4 columns to p. */
@inline function storeBand(p: usize, v: v128, count: i32): void {
  if (count == 4) v128.store(p, v);
  else storeLanes(p, v, count);
}

/** Σ x (also Mean, divided at the end). */
class Plain {}
/** Σ |x| */
class Absolute {}
/** Σ x², squared in f64 (exact). */
class Squared {}

class Largest {}
class Smallest {}

// ---------------------------------------------------------------------------
// Sums

@inline function termLanes<Term>(v: v128): v128 {
  if (is<Term, Absolute>()) return f64x2.abs(v);
  if (is<Term, Squared>()) return f64x2.mul(v, v);
  return v;
}

@inline function term<Term>(x: f64): f64 {
  if (is<Term, Absolute>()) return Math.abs(x);
  if (is<Term, Squared>()) return x * x;
  return x;
}

/** Lanes 0, 1 and lanes 2, 3 of an f32x4, widened to f64x2. */
@inline function widenLow(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

@inline function widenHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
}

@inline function sumLanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Σ term(p[i]) over n contiguous values; four independent f64x2 chains hide the add latency. */
function sumRow<Term>(p: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  let i = 0;
  for (; i <= n - 8; i += 8) {
    const v0 = v128.load(at(p, i));
    const v1 = v128.load(at(p, i), 16);
    acc0 = f64x2.add(acc0, termLanes<Term>(widenLow(v0)));
    acc1 = f64x2.add(acc1, termLanes<Term>(widenHigh(v0)));
    acc2 = f64x2.add(acc2, termLanes<Term>(widenLow(v1)));
    acc3 = f64x2.add(acc3, termLanes<Term>(widenHigh(v1)));
  }
  let total = sumLanes(f64x2.add(f64x2.add(acc0, acc1), f64x2.add(acc2, acc3)));
  for (; i < n; i++) total += term<Term>(<f64>load<f32>(at(p, i)));
  return total;
}

/** out[c] = Σ_s term(p[s, c]) / divisor for `count` ≤ 4 columns at p; rows are `rowBytes` apart. */
@inline function sumBand4<Term>(p: usize, rowBytes: usize, size: i32, out: usize, count: i32, divisor: f64): void {
  let acc0 = f64x2.splat(0), acc1 = acc0;
  for (let s = 0; s < size; s++) {
    const v = count == 4 ? v128.load(p) : loadLanes(p, 4, count);
    acc0 = f64x2.add(acc0, termLanes<Term>(widenLow(v)));
    acc1 = f64x2.add(acc1, termLanes<Term>(widenHigh(v)));
    p += rowBytes;
  }
  storeBand(out, narrow(acc0, acc1, divisor), count);
}

/** Two f64x2 sums divided by `divisor`, rounded into one f32x4. */
@inline function narrow(low: v128, high: v128, divisor: f64): v128 {
  const d = f64x2.splat(divisor);
  return i32x4.shuffle(
    f32x4.demote_f64x2_zero(f64x2.div(low, d)),
    f32x4.demote_f64x2_zero(f64x2.div(high, d)),
    0, 1, 4, 5,
  );
}

/** The columns of one [size, inner] slab: bands of eight columns (four f64x2 chains), then of up to four. */
function sumColumns<Term>(p: usize, size: i32, inner: i32, out: usize, divisor: f64): void {
  const rowBytes = <usize>inner << 2;
  let c = 0;
  for (; c <= inner - 8; c += 8) {
    let acc0 = f64x2.splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    let q = at(p, c);
    for (let s = 0; s < size; s++) {
      const v0 = v128.load(q);
      const v1 = v128.load(q, 16);
      acc0 = f64x2.add(acc0, termLanes<Term>(widenLow(v0)));
      acc1 = f64x2.add(acc1, termLanes<Term>(widenHigh(v0)));
      acc2 = f64x2.add(acc2, termLanes<Term>(widenLow(v1)));
      acc3 = f64x2.add(acc3, termLanes<Term>(widenHigh(v1)));
      q += rowBytes;
    }
    v128.store(at(out, c), narrow(acc0, acc1, divisor));
    v128.store(at(out, c), narrow(acc2, acc3, divisor), 16);
  }
  for (; c <= inner - 4; c += 4) sumBand4<Term>(at(p, c), rowBytes, size, at(out, c), 4, divisor);
  if (c < inner) sumBand4<Term>(at(p, c), rowBytes, size, at(out, c), inner - c, divisor);
}

function sumReduce<Term>(x: usize, out: usize, outer: i32, size: i32, inner: i32, mean: bool): void {
  const divisor: f64 = mean ? <f64>size : 1;
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<f32>(at(out, o), <f32>(sumRow<Term>(at(x, o * size), size) / divisor));
  } else {
    for (let o = 0; o < outer; o++) sumColumns<Term>(at(x, o * size * inner), size, inner, at(out, o * inner), divisor);
  }
}

// ---------------------------------------------------------------------------
// Max / min: f32 throughout (exact); Wasm's min/max propagate NaN, as PyTorch's do.

@inline function pickLanes<Which>(a: v128, b: v128): v128 {
  return is<Which, Largest>() ? f32x4.max(a, b) : f32x4.min(a, b);
}

@inline function pick<Which>(a: f32, b: f32): f32 {
  return is<Which, Largest>() ? max(a, b) : min(a, b);
}

/** The identity of the reduction: what an empty one gives. */
@inline function identity<Which>(): f32 {
  return is<Which, Largest>() ? -Infinity : Infinity;
}

function extremeRow<Which>(p: usize, n: i32): f32 {
  let m0 = f32x4.splat(identity<Which>()), m1 = m0;
  let i = 0;
  for (; i <= n - 8; i += 8) {
    m0 = pickLanes<Which>(m0, v128.load(at(p, i)));
    m1 = pickLanes<Which>(m1, v128.load(at(p, i), 16));
  }
  m0 = pickLanes<Which>(m0, m1);
  let m = pick<Which>(
    pick<Which>(f32x4.extract_lane(m0, 0), f32x4.extract_lane(m0, 1)),
    pick<Which>(f32x4.extract_lane(m0, 2), f32x4.extract_lane(m0, 3)),
  );
  for (; i < n; i++) m = pick<Which>(m, load<f32>(at(p, i)));
  return m;
}

/** Streams the rows of each [size, inner] slab through its output row, which starts at the identity. */
function extremeColumns<Which>(p: usize, size: i32, inner: i32, out: usize): void {
  const start = f32x4.splat(identity<Which>());
  let c = 0;
  for (; c <= inner - 4; c += 4) v128.store(at(out, c), start);
  for (; c < inner; c++) store<f32>(at(out, c), identity<Which>());
  for (let s = 0; s < size; s++) {
    const row = at(p, s * inner);
    c = 0;
    for (; c <= inner - 4; c += 4) {
      v128.store(at(out, c), pickLanes<Which>(v128.load(at(out, c)), v128.load(at(row, c))));
    }
    for (; c < inner; c++) store<f32>(at(out, c), pick<Which>(load<f32>(at(out, c)), load<f32>(at(row, c))));
  }
}

function extremeReduce<Which>(x: usize, out: usize, outer: i32, size: i32, inner: i32): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<f32>(at(out, o), extremeRow<Which>(at(x, o * size), size));
  } else {
    for (let o = 0; o < outer; o++) extremeColumns<Which>(at(x, o * size * inner), size, inner, at(out, o * inner));
  }
}

export function f32_reduce(op: i32, x: usize, out: usize, outer: i32, size: i32, inner: i32): void {
  switch (op) {
    case ReduceOp.Sum: sumReduce<Plain>(x, out, outer, size, inner, false); return;
    case ReduceOp.Mean: sumReduce<Plain>(x, out, outer, size, inner, true); return;
    case ReduceOp.Max: extremeReduce<Largest>(x, out, outer, size, inner); return;
    case ReduceOp.Min: extremeReduce<Smallest>(x, out, outer, size, inner); return;
    case ReduceOp.SumAbs: sumReduce<Absolute>(x, out, outer, size, inner, false); return;
    case ReduceOp.SumSquares: sumReduce<Squared>(x, out, outer, size, inner, false); return;
    default: unreachable();
  }
}

// ---------------------------------------------------------------------------
// Argmax (PyTorch semantics: the first maximum; NaN counts as the maximum)

/** First index of the maximum of a contiguous row. */
function argmaxRow(p: usize, n: i32): i32 {
  // Short rows (class scores) in one scalar pass; long ones as a vector maximum, then a vector search for it.
  if (n < 16) return argmaxScan(p, n);
  const m = extremeRow<Largest>(p, n);
  const seekNaN = isNaN(m);
  const target = f32x4.splat(m);
  let i = 0;
  for (; i <= n - 4; i += 4) {
    const v = v128.load(at(p, i));
    const hits = i32x4.bitmask(seekNaN ? f32x4.ne(v, v) : f32x4.eq(v, target));
    if (hits != 0) return i + ctz(hits);
  }
  return i + argmaxScan(at(p, i), n - i);
}

/** The first NaN, else the first strictly largest: for n ≥ 1. */
function argmaxScan(p: usize, n: i32): i32 {
  let best = 0;
  let bestValue = load<f32>(p);
  if (isNaN(bestValue)) return 0;
  for (let i = 1; i < n; i++) {
    const v = load<f32>(at(p, i));
    if (isNaN(v)) return i;
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/** Up to four columns at once: a lane takes row s when it is larger, or the first NaN. */
@inline function argmaxBand(p: usize, rowBytes: usize, size: i32, out: usize, count: i32): void {
  let best = loadLanes(p, 4, count);
  let index = i32x4.splat(0);
  for (let s = 1; s < size; s++) {
    p += rowBytes;
    const v = loadLanes(p, 4, count);
    const firstNaN = v128.andnot(f32x4.ne(v, v), f32x4.ne(best, best));
    const take = v128.or(f32x4.gt(v, best), firstNaN);
    best = v128.bitselect(v, best, take);
    index = v128.bitselect(i32x4.splat(s), index, take);
  }
  storeBand(out, index, count);
}

export function f32_argmax(x: usize, out: usize, outer: i32, size: i32, inner: i32): void {
  if (size == 0) {
    memory.fill(out, 0, <usize>(outer * inner) << 2);
    return;
  }
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<i32>(at(out, o), argmaxRow(at(x, o * size), size));
    return;
  }
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const slab = at(x, o * size * inner);
    const row = at(out, o * inner);
    let c = 0;
    for (; c <= inner - 4; c += 4) argmaxBand(at(slab, c), rowBytes, size, at(row, c), 4);
    if (c < inner) argmaxBand(at(slab, c), rowBytes, size, at(row, c), inner - c);
  }
}

export function f32_scatter_add_axis(dy: usize, idx: usize, dx: usize, outer: i32, size: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const k = o * inner + i;
      const target = at(dx, (o * size + load<i32>(at(idx, k))) * inner + i);
      store<f32>(target, load<f32>(target) + load<f32>(at(dy, k)));
    }
  }
}
