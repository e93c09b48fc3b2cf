// dropout kernels: see src/backend/kernels.ts for the contract.
import { random_uniform } from "./random";

/** Uniforms generated per pass into y before it is overwritten with the result: stays in L1. */
@inline const CHUNK: i32 = 1024;

/**
 * The smallest multiple of 2^-24 that is ≥ p, clamped to [0, 1]. The uniforms
 * are multiples of 2^-24, so u ≥ p ⟺ u ≥ this, compared exactly in f32 (and
 * P(keep) is exactly 1 − p whenever p·2^24 is an integer). NaN keeps all.
 */
@inline function keepThreshold(p: f64): f32 {
  let ticks = Math.ceil(p * 16777216.0);
  if (!(ticks > 0.0)) ticks = 0.0;
  if (ticks > 16777216.0) ticks = 16777216.0;
  return <f32>(ticks * 5.9604644775390625e-8);
}

/** PyTorch's survivor scale: 1 / (1 − p) divided in f32. Infinite at p = 1, where nothing survives to use it. */
@inline function survivorScale(p: f64): f32 {
  return <f32>1.0 / <f32>(1.0 - p);
}

// y holds the uniforms of each chunk before their results, so x and y must not overlap.
export function f32_dropout(x: usize, y: usize, mask: usize, n: i32, p: f64, seedLo: u32, seedHi: u32, offset: f64): void {
  const threshold = keepThreshold(p);
  const scale = survivorScale(p);
  const thresholdv = f32x4.splat(threshold);
  const scalev = f32x4.splat(scale);
  const ones = i8x16.splat(1);
  for (let chunk = 0; chunk < n; chunk += CHUNK) {
    const len = min(CHUNK, n - chunk);
    const xc = x + (<usize>chunk << 2);
    const yc = y + (<usize>chunk << 2);
    const mc = mask + <usize>chunk;
    random_uniform(yc, len, seedLo, seedHi, offset + <f64>(chunk >>> 2), 0.0, 1.0);
    let i = 0;
    for (; i + 16 <= len; i += 16) {
      const xi = xc + (<usize>i << 2);
      const yi = yc + (<usize>i << 2);
      const k0 = f32x4.ge(v128.load(yi), thresholdv);
      const k1 = f32x4.ge(v128.load(yi, 16), thresholdv);
      const k2 = f32x4.ge(v128.load(yi, 32), thresholdv);
      const k3 = f32x4.ge(v128.load(yi, 48), thresholdv);
      // A dropped lane is masked to +0 after the multiply, so x·∞ at p = 1 never shows.
      v128.store(yi, v128.and(f32x4.mul(v128.load(xi), scalev), k0));
      v128.store(yi, v128.and(f32x4.mul(v128.load(xi, 16), scalev), k1), 16);
      v128.store(yi, v128.and(f32x4.mul(v128.load(xi, 32), scalev), k2), 32);
      v128.store(yi, v128.and(f32x4.mul(v128.load(xi, 48), scalev), k3), 48);
      const keep = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(k0, k1), i16x8.narrow_i32x4_s(k2, k3));
      v128.store(mc + <usize>i, v128.and(keep, ones));
    }
    for (; i < len; i++) {
      const yi = yc + (<usize>i << 2);
      const keep = load<f32>(yi) >= threshold;
      store<f32>(yi, keep ? load<f32>(xc + (<usize>i << 2)) * scale : 0);
      store<u8>(mc + <usize>i, keep ? 1 : 0);
    }
  }
}

/** dx = dy · scale where the mask kept the element, else +0 (never ∞·0 = NaN at p = 1). In place ok. */
export function f32_dropout_backward(dy: usize, mask: usize, dx: usize, n: i32, p: f64): void {
  const scalev = f32x4.splat(survivorScale(p));
  const zero = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const keep = i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(mask + <usize>i))), zero);
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(f32x4.mul(v128.load(dy + o), scalev), keep));
  }
  const scale = survivorScale(p);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<u8>(mask + <usize>i) != 0 ? load<f32>(dy + o) * scale : 0);
  }
}

// relu then dropout in one pass (nn.Sequential fuses ReLU, Dropout). The relu is
// f32_unary's (max with +0: NaN passes through), the rest f32_dropout's, so the
// output is bitwise the two ops' in turn.
export function f32_relu_dropout(x: usize, y: usize, n: i32, p: f64, seedLo: u32, seedHi: u32, offset: f64): void {
  const threshold = keepThreshold(p);
  const scale = survivorScale(p);
  const thresholdv = f32x4.splat(threshold);
  const scalev = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  for (let chunk = 0; chunk < n; chunk += CHUNK) {
    const len = min(CHUNK, n - chunk);
    const xc = x + (<usize>chunk << 2);
    const yc = y + (<usize>chunk << 2);
    random_uniform(yc, len, seedLo, seedHi, offset + <f64>(chunk >>> 2), 0.0, 1.0);
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const keep = f32x4.ge(v128.load(yc + o), thresholdv);
      const r = f32x4.max(v128.load(xc + o), zero);
      v128.store(yc + o, v128.and(f32x4.mul(r, scalev), keep));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      const r = f32x4.extract_lane(f32x4.max(f32x4.splat(load<f32>(xc + o)), zero), 0);
      store<f32>(yc + o, load<f32>(yc + o) >= threshold ? r * scale : 0);
    }
  }
}

/**
 * Dropout's backward then relu's, at once: both pass dy (scaled) exactly where
 * relu_dropout's output is > 0 (kept, and relu's input > 0), else +0.
 */
export function f32_relu_dropout_backward(dy: usize, y: usize, dx: usize, n: i32, p: f64): void {
  const scale = survivorScale(p);
  const scalev = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(f32x4.mul(v128.load(dy + o), scalev), f32x4.gt(v128.load(y + o), zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) * scale : 0);
  }
}
