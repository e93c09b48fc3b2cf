// random kernels: see src/backend/kernels.ts for the contract.
//
// Philox4x32-10, operation for operation the algorithm of assembly/random.ts,
// so that both backends give bitwise the same numbers: the integer parts are
// exact, and the normals use only IEEE-754 basic operations (+ − × ÷ sqrt,
// correctly rounded in every engine) in the same order as the AssemblyScript,
// never Math.log / Math.cos, whose last bits differ between libms.

import type { Heap } from "../heap.ts";
import type { RandomKernels } from "../kernels.ts";

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const PHILOX_ROUNDS = 10;
const TWO_32 = 4294967296;

/** 2^-24: (word >>> 8) · 2^-24 is a uniform in [0, 1) with every value exact in f32. */
export const TICK = 5.9604644775390625e-8;

// fdlibm's log (e_log.c): ln2 split so that k·ln2_hi is exact, and the
// minimax coefficients of (log(1+f) − f + f²/2) in s = f/(2+f).
const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
const LG1 = 6.666666666666735130e-01;
const LG2 = 3.999999999940941908e-01;
const LG3 = 2.857142874366239149e-01;
const LG4 = 2.222219843214978396e-01;
const LG5 = 1.818357216161805012e-01;
const LG6 = 1.531383769920937332e-01;
const LG7 = 1.479819860511658591e-01;
const SQRT2 = 1.4142135623730951;

// fdlibm's kernel sin / cos on [−π/4, π/4] (k_sin.c, k_cos.c).
const S1 = -1.66666666666666324348e-01;
const S2 = 8.33333333332248946124e-03;
const S3 = -1.98412698298579493134e-04;
const S4 = 2.75573137070700676789e-06;
const S5 = -2.50507602534068634195e-08;
const S6 = 1.58969099521155010221e-10;
const C1 = 4.16666666666666019037e-02;
const C2 = -1.38888888888741095749e-03;
const C3 = 2.48015872894767294178e-05;
const C4 = -2.75573143513906633035e-07;
const C5 = 2.08757232129817482790e-09;
const C6 = -1.13596475577881948265e-11;
/** π·2^-23: the angle of one tick of a 24-bit turn is 2π·2^-24. Exact (π times a power of two). */
const PI_OVER_2_23 = 3.141592653589793 * 1.1920928955078125e-7;

/** High 32 bits of the 64-bit product of two u32, from 16-bit halves (every partial product is exact). */
function mulHi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const carry = (((aLo * bLo) >>> 16) + (lh & 0xffff) + (hl & 0xffff)) >>> 16;
  return (aHi * bHi + (lh >>> 16) + (hl >>> 16) + carry) >>> 0;
}

/**
 * Philox4x32-10 of counter (ctrLo, ctrHi, 0, 0) under key (k0, k1), written to
 * `words` (4 u32). Exported for the tests' known-answer checks.
 */
export function philoxBlock(
  words: Uint32Array, ctrLo: number, ctrHi: number, ctr2: number, ctr3: number, k0: number, k1: number,
): void {
  let c0 = ctrLo >>> 0;
  let c1 = ctrHi >>> 0;
  let c2 = ctr2 >>> 0;
  let c3 = ctr3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < PHILOX_ROUNDS; r++) {
    const n0 = (mulHi32(PHILOX_M1, c2) ^ c1 ^ key0) >>> 0;
    const n2 = (mulHi32(PHILOX_M0, c0) ^ c3 ^ key1) >>> 0;
    c1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c3 = Math.imul(PHILOX_M0, c0) >>> 0;
    c0 = n0;
    c2 = n2;
    key0 = (key0 + PHILOX_W0) >>> 0;
    key1 = (key1 + PHILOX_W1) >>> 0;
  }
  words[0] = c0;
  words[1] = c1;
  words[2] = c2;
  words[3] = c3;
}

/**
 * Calls visit(block, words) for the blocks of the stream values 0..n at `offset`:
 * block b has the 64-bit counter offset + b, carried by hand across the 2^32 boundary.
 */
export function forEachPhiloxBlock(
  n: number, seedLo: number, seedHi: number, offset: number,
  visit: (block: number, words: Uint32Array) => void,
): void {
  const words = new Uint32Array(4);
  const start = Math.trunc(offset);
  let ctrLo = start % TWO_32;
  let ctrHi = Math.floor(start / TWO_32);
  const blocks = Math.ceil(n / 4);
  for (let b = 0; b < blocks; b++) {
    philoxBlock(words, ctrLo, ctrHi, 0, 0, seedLo, seedHi);
    visit(b, words);
    if (++ctrLo === TWO_32) {
      ctrLo = 0;
      ctrHi++;
    }
  }
}

/** ln(k · 2^-24) for an integer k in [1, 2^24], to within an ulp or two of f64. */
export function logOfTicks(k: number): number {
  // k = 2^e · m exactly, m in [1, 2), then m folded into [√½, √2) so that f = m − 1 is small.
  let e = 31 - Math.clz32(k);
  let m = k / (1 << e);
  if (m > SQRT2) {
    m = m * 0.5;
    e = e + 1;
  }
  const f = m - 1.0;
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const r = t2 + t1;
  const hfsq = 0.5 * f * f;
  const dk = e - 24;
  return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
}

function sinKernel(x: number): number {
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x + v * (S1 + z * r);
}

function cosKernel(x: number): number {
  const z = x * x;
  const w = z * z;
  const r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const hz = 0.5 * z;
  const one = 1.0 - hz;
  return one + (((1.0 - one) - hz) + z * r);
}

/**
 * [cos, sin] of 2π·j·2^-24 for an integer j in [0, 2^24). The range reduction is
 * exact: j splits into a quadrant q (rounded to nearest) and an integer
 * remainder in [−2^21, 2^21), so the kernels only ever see |φ| ≤ π/4.
 */
export function sinCosOfTicks(j: number, out: Float64Array): void {
  const q = (j + (1 << 21)) >>> 22;
  const phi = (j - (q << 22)) * PI_OVER_2_23;
  const s = sinKernel(phi);
  const c = cosKernel(phi);
  const quadrant = q & 3;
  out[0] = quadrant === 0 ? c : quadrant === 1 ? -s : quadrant === 2 ? -c : s;
  out[1] = quadrant === 0 ? s : quadrant === 1 ? c : quadrant === 2 ? -s : -c;
}

/**
 * Box–Muller on two words of a block, in f64: the first gives u1 in (0, 1] (so
 * the log is finite), the second the angle 2π·u2; out = [r·cos, r·sin].
 */
export function normalPair(first: number, second: number, out: Float64Array): void {
  const radius = Math.sqrt(-2.0 * logOfTicks((first >>> 8) + 1));
  sinCosOfTicks(second >>> 8, out);
  out[0] = radius * out[0];
  out[1] = radius * out[1];
}

export function jsRandomKernels(heap: Heap): RandomKernels {
  return {
    random_uniform(out, n, seedLo, seedHi, offset, low, high) {
      const f32 = heap.f32;
      const base = out >>> 2;
      const lo = Math.fround(low);
      const range = Math.fround(Math.fround(high) - lo);
      forEachPhiloxBlock(n, seedLo, seedHi, offset, (b, words) => {
        const end = Math.min(4, n - 4 * b);
        for (let lane = 0; lane < end; lane++) {
          const u = (words[lane] >>> 8) * TICK;
          f32[base + 4 * b + lane] = lo + Math.fround(range * u);
        }
      });
    },

    random_normal(out, n, seedLo, seedHi, offset, mean, std) {
      const f32 = heap.f32;
      const base = out >>> 2;
      const z = new Float64Array(2);
      forEachPhiloxBlock(n, seedLo, seedHi, offset, (b, words) => {
        // Words 0/1 and 2/3 of a block each give a pair of normals.
        for (let pair = 0; pair < 2; pair++) {
          const i = 4 * b + 2 * pair;
          if (i >= n) break;
          normalPair(words[2 * pair], words[2 * pair + 1], z);
          f32[base + i] = mean + std * z[0];
          if (i + 1 < n) f32[base + i + 1] = mean + std * z[1];
        }
      });
    },

    random_blocks(n) {
      return Math.ceil(n / 4);
    },
  };
}
