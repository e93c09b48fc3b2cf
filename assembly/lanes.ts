// Helpers shared by the kernels: compile-time op-tag identity, addressing of
// f32/i32 arrays, and the loads and stores of a partial vector. How the
// elementwise kernels (elementwise-*.ts) use them:
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

/**
 * Compile-time type identity: folds to a constant, so an `if` on it keeps only
 * the branch taken. (The tags are never instantiated; idof emits no data.)
 */
@inline export function is<A, B>(): bool {
  return idof<A>() == idof<B>();
}

@inline export function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Lanes 0..count−1 from p, p + step, ...; the other lanes repeat lane 0 (a harmless input for every op). */
@inline export function loadLanes(p: usize, step: usize, count: i32): v128 {
  let v = f32x4.splat(load<f32>(p));
  if (count > 1) v = v128.load32_lane(p + step, v, 1);
  if (count > 2) v = v128.load32_lane(p + 2 * step, v, 2);
  if (count > 3) v = v128.load32_lane(p + 3 * step, v, 3);
  return v;
}

/** Lanes 0..count−1 to p, p + 4, ...: a tail of 1–3 elements (whole vectors use v128.store). */
@inline export function storeLanes(p: usize, v: v128, count: i32): void {
  v128.store32_lane(p, v, 0);
  if (count > 1) v128.store32_lane(p, v, 1, 4);
  if (count > 2) v128.store32_lane(p, v, 2, 8);
}

@inline export function ones(): v128 {
  return f32x4.splat(1.0);
}

/** Entry d of an i32 array in the kernels' meta block (a shape or strides). */
@inline export function dim(p: usize, d: i32): i32 {
  return load<i32>(at(p, d));
}
