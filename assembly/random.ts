// random kernels: see src/backend/kernels.ts for the contract.
//
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy
// as 1, 2, 3", SC 2011): a counter-based generator, so value i of a stream is a
// pure function of (seed, offset, i) and any slice can be generated on its own.
//
// src/backend/js/random.ts is the same algorithm operation for operation: the
// integer parts are exact by nature, and the normals use only IEEE-754 basic
// operations (+ − × ÷ sqrt, correctly rounded in every engine) in the same order
// — no Math.log / Math.cos, whose last bits differ between libms — so both
// backends give bitwise the same floats.

import { logOfParts, SQRT2 } from "./libm";

@inline const PHILOX_M0: u32 = 0xD2511F53;
@inline const PHILOX_M1: u32 = 0xCD9E8D57;
@inline const PHILOX_W0: u32 = 0x9E3779B9;
@inline const PHILOX_W1: u32 = 0xBB67AE85;
@inline const PHILOX_ROUNDS = 10;

/** 2^-24: (word >>> 8) · 2^-24 is a uniform in [0, 1) with every value exact in f32. */
@inline const TICK: f64 = 5.9604644775390625e-8;
/** Values generated per pass: large enough to amortise the call, small enough to stay in L1. */
@inline const CHUNK: i32 = 1024;

// fdlibm's kernel sin / cos on [−π/4, π/4] (k_sin.c, k_cos.c).
@inline const S1: f64 = -1.66666666666666324348e-01;
@inline const S2: f64 = 8.33333333332248946124e-03;
@inline const S3: f64 = -1.98412698298579493134e-04;
@inline const S4: f64 = 2.75573137070700676789e-06;
@inline const S5: f64 = -2.50507602534068634195e-08;
@inline const S6: f64 = 1.58969099521155010221e-10;
@inline const C1: f64 = 4.16666666666666019037e-02;
@inline const C2: f64 = -1.38888888888741095749e-03;
@inline const C3: f64 = 2.48015872894767294178e-05;
@inline const C4: f64 = -2.75573143513906633035e-07;
@inline const C5: f64 = 2.08757232129817482790e-09;
@inline const C6: f64 = -1.13596475577881948265e-11;
/** π·2^-23: the angle of one tick of a 24-bit turn is 2π·2^-24. Exact (π times a power of two). */
@inline const PI_OVER_2_23: f64 = 3.141592653589793 * 1.1920928955078125e-7;

/** Word `lane` of the Philox4x32-10 block for counter (ctr, 0, 0) and key (k0, k1). */
function philoxWord(ctr: u64, k0: u32, k1: u32, lane: i32): u32 {
  let c0 = <u32>ctr;
  let c1 = <u32>(ctr >>> 32);
  let c2: u32 = 0;
  let c3: u32 = 0;
  for (let r = 0; r < PHILOX_ROUNDS; r++) {
    const p0 = <u64>PHILOX_M0 * <u64>c0;
    const p1 = <u64>PHILOX_M1 * <u64>c2;
    const n0 = <u32>(p1 >>> 32) ^ c1 ^ k0;
    const n2 = <u32>(p0 >>> 32) ^ c3 ^ k1;
    c1 = <u32>p1;
    c3 = <u32>p0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  return lane == 0 ? c0 : lane == 1 ? c1 : lane == 2 ? c2 : c3;
}

/** Low 32-bit halves of two i64x2 vectors, as one i32x4. */
@inline function low32(a: v128, b: v128): v128 {
  return v128.shuffle<u32>(a, b, 0, 2, 4, 6);
}

@inline function high32(a: v128, b: v128): v128 {
  return v128.shuffle<u32>(a, b, 1, 3, 5, 7);
}

/** Low words of the 64-bit counters base .. base + 3, one block per lane (they may carry into the high word between lanes). */
@inline function philoxCounterLow(base: u64): v128 {
  let c = i32x4.splat(<u32>base);
  c = i32x4.replace_lane(c, 1, <u32>(base + 1));
  c = i32x4.replace_lane(c, 2, <u32>(base + 2));
  return i32x4.replace_lane(c, 3, <u32>(base + 3));
}

@inline function philoxCounterHigh(base: u64): v128 {
  let c = i32x4.splat(<u32>(base >>> 32));
  c = i32x4.replace_lane(c, 1, <u32>((base + 1) >>> 32));
  c = i32x4.replace_lane(c, 2, <u32>((base + 2) >>> 32));
  return i32x4.replace_lane(c, 3, <u32>((base + 3) >>> 32));
}

/** Four blocks (lane j of word vectors c0..c3 = block j) stored in stream order: a 4x4 transpose. */
@inline function philoxStoreBlocks(p: usize, c0: v128, c1: v128, c2: v128, c3: v128): void {
  const t0 = v128.shuffle<u32>(c0, c1, 0, 4, 1, 5);
  const t1 = v128.shuffle<u32>(c2, c3, 0, 4, 1, 5);
  const t2 = v128.shuffle<u32>(c0, c1, 2, 6, 3, 7);
  const t3 = v128.shuffle<u32>(c2, c3, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<u32>(t0, t1, 0, 1, 4, 5));
  v128.store(p, v128.shuffle<u32>(t0, t1, 2, 3, 6, 7), 16);
  v128.store(p, v128.shuffle<u32>(t2, t3, 0, 1, 4, 5), 32);
  v128.store(p, v128.shuffle<u32>(t2, t3, 2, 3, 6, 7), 48);
}

/**
 * Writes words 0..n of the Philox stream at counter `ctr` (value i = lane i % 4
 * of block ctr + i / 4) to `out` as u32. Four blocks run side by side in the
 * SIMD lanes (lane j = block j, one vector per Philox word), then a 4×4
 * transpose puts them back in stream order.
 */
function philoxFill(out: usize, n: i32, k0: u32, k1: u32, ctr: u64): void {
  const m0 = i32x4.splat(PHILOX_M0);
  const m1 = i32x4.splat(PHILOX_M1);
  const w0 = i32x4.splat(PHILOX_W0);
  const w1 = i32x4.splat(PHILOX_W1);
  let i = 0;
  // Eight blocks per pass, in two groups of four: a round is a long chain of
  // multiply, shuffle and xor, and the second group's work fills its latency.
  for (; i + 32 <= n; i += 32) {
    const base = ctr + <u64>(i >>> 2);
    let a0 = philoxCounterLow(base);
    let a1 = philoxCounterHigh(base);
    let b0 = philoxCounterLow(base + 4);
    let b1 = philoxCounterHigh(base + 4);
    let a2 = i32x4.splat(0);
    let a3 = a2;
    let b2 = a2;
    let b3 = a2;
    let key0 = i32x4.splat(k0);
    let key1 = i32x4.splat(k1);
    for (let r = 0; r < PHILOX_ROUNDS; r++) {
      const pa0 = i64x2.extmul_low_i32x4_u(a0, m0);
      const pa1 = i64x2.extmul_high_i32x4_u(a0, m0);
      const pa2 = i64x2.extmul_low_i32x4_u(a2, m1);
      const pa3 = i64x2.extmul_high_i32x4_u(a2, m1);
      const pb0 = i64x2.extmul_low_i32x4_u(b0, m0);
      const pb1 = i64x2.extmul_high_i32x4_u(b0, m0);
      const pb2 = i64x2.extmul_low_i32x4_u(b2, m1);
      const pb3 = i64x2.extmul_high_i32x4_u(b2, m1);
      a0 = v128.xor(v128.xor(high32(pa2, pa3), a1), key0);
      a2 = v128.xor(v128.xor(high32(pa0, pa1), a3), key1);
      a1 = low32(pa2, pa3);
      a3 = low32(pa0, pa1);
      b0 = v128.xor(v128.xor(high32(pb2, pb3), b1), key0);
      b2 = v128.xor(v128.xor(high32(pb0, pb1), b3), key1);
      b1 = low32(pb2, pb3);
      b3 = low32(pb0, pb1);
      key0 = i32x4.add(key0, w0);
      key1 = i32x4.add(key1, w1);
    }
    const p = out + (<usize>i << 2);
    philoxStoreBlocks(p, a0, a1, a2, a3);
    philoxStoreBlocks(p + 64, b0, b1, b2, b3);
  }
  for (; i + 16 <= n; i += 16) {
    const base = ctr + <u64>(i >>> 2);
    let c0 = philoxCounterLow(base);
    let c1 = philoxCounterHigh(base);
    let c2 = i32x4.splat(0);
    let c3 = i32x4.splat(0);
    let key0 = i32x4.splat(k0);
    let key1 = i32x4.splat(k1);
    for (let r = 0; r < PHILOX_ROUNDS; r++) {
      const p0a = i64x2.extmul_low_i32x4_u(c0, m0);
      const p0b = i64x2.extmul_high_i32x4_u(c0, m0);
      const p1a = i64x2.extmul_low_i32x4_u(c2, m1);
      const p1b = i64x2.extmul_high_i32x4_u(c2, m1);
      const n0 = v128.xor(v128.xor(high32(p1a, p1b), c1), key0);
      const n2 = v128.xor(v128.xor(high32(p0a, p0b), c3), key1);
      c1 = low32(p1a, p1b);
      c3 = low32(p0a, p0b);
      c0 = n0;
      c2 = n2;
      key0 = i32x4.add(key0, w0);
      key1 = i32x4.add(key1, w1);
    }
    philoxStoreBlocks(out + (<usize>i << 2), c0, c1, c2, c3);
  }
  for (; i < n; i++) {
    store<u32>(out + (<usize>i << 2), philoxWord(ctr + <u64>(i >>> 2), k0, k1, i & 3));
  }
}

/** ln(k · 2^-24) for an integer k in [1, 2^24], to within an ulp or two of f64. */
@inline function logOfTicks(k: u32): f64 {
  // k = 2^e · m exactly, m in [1, 2), then m folded into [√½, √2) so that f = m − 1 is small.
  let e = 31 - <i32>clz(k);
  let m = <f64>k / <f64>(1 << e);
  if (m > SQRT2) {
    m = m * 0.5;
    e = e + 1;
  }
  return logOfParts(m, e - 24);
}

@inline function sinKernel(x: f64): f64 {
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x + v * (S1 + z * r);
}

@inline function cosKernel(x: f64): f64 {
  const z = x * x;
  const w = z * z;
  const r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const hz = 0.5 * z;
  const one = 1.0 - hz;
  return one + (((1.0 - one) - hz) + z * r);
}

/**
 * Box–Muller on words (a, b) of one block: a gives u1 in (0, 1] (so log(u1) is
 * finite), b gives the angle 2π·u2, u2 in [0, 1). Stores mean + std·r·cos at
 * `out` and, when count is 2, mean + std·r·sin after it.
 */
@inline function storeNormalPair(out: usize, count: i32, a: u32, b: u32, mean: f64, std: f64): void {
  const radius = Math.sqrt(-2.0 * logOfTicks((a >>> 8) + 1));
  // Exact range reduction: the angle is j ticks of 2π·2^-24, so split j into a
  // quadrant q (rounded to nearest) and an integer remainder in [−2^21, 2^21).
  const j = <i32>(b >>> 8);
  const q = (j + (1 << 21)) >>> 22;
  const phi = <f64>(j - (q << 22)) * PI_OVER_2_23;
  const s = sinKernel(phi);
  const c = cosKernel(phi);
  const quadrant = q & 3;
  const cosA = quadrant == 0 ? c : quadrant == 1 ? -s : quadrant == 2 ? -c : s;
  const sinA = quadrant == 0 ? s : quadrant == 1 ? c : quadrant == 2 ? -s : -c;
  store<f32>(out, <f32>(mean + std * (radius * cosA)));
  if (count == 2) store<f32>(out, <f32>(mean + std * (radius * sinA)), 4);
}

export function random_uniform(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, low: f64, high: f64): void {
  const lo = <f32>low;
  const range = <f32>high - lo;
  const lov = f32x4.splat(lo);
  const rangev = f32x4.splat(range);
  const tickv = f32x4.splat(<f32>TICK);
  const start = <u64>offset;
  for (let chunk = 0; chunk < n; chunk += CHUNK) {
    const len = min(CHUNK, n - chunk);
    const p = out + (<usize>chunk << 2);
    philoxFill(p, len, seedLo, seedHi, start + <u64>(chunk >>> 2));
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const q = p + (<usize>i << 2);
      // word >>> 8 < 2^24: the signed conversion is exact, and one instruction on x64.
      const u = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(v128.load(q), 8)), tickv);
      v128.store(q, f32x4.add(lov, f32x4.mul(rangev, u)));
    }
    for (; i < len; i++) {
      const q = p + (<usize>i << 2);
      const u = <f32>(load<u32>(q) >>> 8) * <f32>TICK;
      store<f32>(q, lo + range * u);
    }
  }
}

export function random_normal(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, mean: f64, std: f64): void {
  const start = <u64>offset;
  // The words are generated in place and each pair of words is replaced by its
  // pair of normals; only a trailing odd value needs a word that was not stored.
  const even = n & ~1;
  for (let chunk = 0; chunk < even; chunk += CHUNK) {
    const len = min(CHUNK, even - chunk);
    const p = out + (<usize>chunk << 2);
    philoxFill(p, len, seedLo, seedHi, start + <u64>(chunk >>> 2));
    for (let i = 0; i < len; i += 2) {
      const q = p + (<usize>i << 2);
      storeNormalPair(q, 2, load<u32>(q), load<u32>(q, 4), mean, std);
    }
  }
  if (n & 1) {
    const block = start + <u64>(even >>> 2);
    const a = philoxWord(block, seedLo, seedHi, even & 3);
    const b = philoxWord(block, seedLo, seedHi, (even & 3) + 1);
    storeNormalPair(out + (<usize>even << 2), 1, a, b, mean, std);
  }
}

export function random_blocks(n: i32): i32 {
  return <i32>((<u32>n + 3) >>> 2);
}
