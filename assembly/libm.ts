// fdlibm's exp and log (e_exp.c, e_log.c) in f64, shared by the kernels that
// need them (loss, random). Not Math.exp / Math.log: AssemblyScript's come with
// lookup tables in a data segment, and this module must have no static data.
// The JS backend (src/backend/js/) writes out the same operations in the same
// order, which is what makes the random streams bitwise identical across backends.

@inline const LN2_HI: f64 = 6.93147180369123816490e-01;
@inline const LN2_LO: f64 = 1.90821492927058770002e-10;
@inline const INV_LN2: f64 = 1.44269504088896338700e+00;
@inline const EXP_OVERFLOW: f64 = 7.09782712893383973096e+02;
@inline const EXP_UNDERFLOW: f64 = -7.45133219101941108420e+02;
@inline const P1: f64 = 1.66666666666666019037e-01;
@inline const P2: f64 = -2.77777777770155933842e-03;
@inline const P3: f64 = 6.61375632143793436117e-05;
@inline const P4: f64 = -1.65339022054652515390e-06;
@inline const P5: f64 = 4.13813679705723846039e-08;
@inline const LG1: f64 = 6.666666666666735130e-01;
@inline const LG2: f64 = 3.999999999940941908e-01;
@inline const LG3: f64 = 2.857142874366239149e-01;
@inline const LG4: f64 = 2.222219843214978396e-01;
@inline const LG5: f64 = 1.818357216161805012e-01;
@inline const LG6: f64 = 1.531383769920937332e-01;
@inline const LG7: f64 = 1.479819860511658591e-01;
@inline export const SQRT2: f64 = 1.4142135623730951;

/** 2^k for an integer k in [−1022, 1023]. */
@inline function pow2(k: i32): f64 {
  return reinterpret<f64>(<u64>(0x3ff + k) << 52);
}

/** e^x to within an ulp. */
export function expF64(x: f64): f64 {
  if (x != x) return x;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  // x = k·ln2 + r, |r| ≤ ln2/2, with k·ln2 split so that the reduction is exact.
  const k = <i32>(x * INV_LN2 + (x < 0 ? -0.5 : 0.5));
  const hi = x - <f64>k * LN2_HI;
  const lo = <f64>k * LN2_LO;
  const r = hi - lo;
  const t = r * r;
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  const y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  // Scaled in two steps where 2^k alone would not be a normal number.
  if (k > 1023) return y * 2.0 * pow2(1023);
  if (k < -1021) return y * pow2(k + 1000) * pow2(-1000);
  return y * pow2(k);
}

/** ln x for x ≥ 0 to within an ulp; NaN for negative or NaN x. */
export function logF64(x: f64): f64 {
  if (!(x > 0)) return x == 0 ? -Infinity : NaN;
  if (x == Infinity) return x;
  let bits = reinterpret<u64>(x);
  let e = <i32>(bits >>> 52) - 1023;
  if (e == -1023) {
    // Subnormal: scale into the normal range first.
    bits = reinterpret<u64>(x * 18014398509481984.0);
    e = <i32>(bits >>> 52) - 1023 - 54;
  }
  let m = reinterpret<f64>((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000);
  if (m > SQRT2) {
    m = m * 0.5;
    e = e + 1;
  }
  return logOfParts(m, e);
}

/**
 * ln(m · 2^e) for m in [√½, √2]: fdlibm's minimax polynomial in s = f/(2+f),
 * f = m − 1, with ln 2 split so that e·ln2_hi is exact.
 */
@inline export function logOfParts(m: f64, e: i32): f64 {
  const f = m - 1.0;
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const r = t2 + t1;
  const hfsq = 0.5 * f * f;
  const dk = <f64>e;
  return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
}

/** Largest logit of a row; NaN if any is NaN (so a poisoned row shows as NaN, not a wrong loss). */
