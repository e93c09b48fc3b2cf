// optim kernels: see src/backend/kernels.ts for the contract.
//
// PyTorch 1.13's _single_tensor_sgd / _adam(w) / _rmsprop / _adagrad / _adadelta, rounded where
// PyTorch's CPU kernels round (see assembly/optim.ts, which does the same
// operations in the same order): Python scalars in f64, rounded to f32 where
// they meet a tensor; `add(…, alpha)` and `addcmul_` as one fused multiply-add,
// which here is fma32 (a·b of two f32 is exact in f64, then one rounding);
// everything else rounded to f32 after each operation.

import type { Heap } from "../heap.ts";
import type { OptimKernels } from "../kernels.ts";

const fround = Math.fround;

/** Dekker's split constant 2^27 + 1: a = hi + lo with 26-bit halves whose products are exact. */
const SPLITTER = 134217729;

/** The rounding error of p = a·b (p + error = a·b exactly), by Dekker's TwoProduct. */
function productError(a: number, b: number, p: number): number {
  const ca = SPLITTER * a;
  const aHi = ca - (ca - a);
  const aLo = a - aHi;
  const cb = SPLITTER * b;
  const bHi = cb - (cb - b);
  const bLo = b - bHi;
  return ((aHi * bHi - p) + aHi * bLo + aLo * bHi) + aLo * bLo;
}

/**
 * base^step for an integer step, by square-and-multiply in double-double and
 * one final rounding: Python's `beta ** step` to the last bit in all but the
 * rarest cases, and bitwise what assembly/optim.ts computes (Math.pow's last
 * bit differs between engines).
 */
export function powStep(base: number, step: number): number {
  const n = Math.trunc(Math.min(Math.max(step, 0), 4294967295));
  let hi = 1;
  let lo = 0;
  for (let bit = n === 0 ? 0 : 2 ** (31 - Math.clz32(n)); bit >= 1; bit /= 2) {
    let p = hi * hi;
    let e = productError(hi, hi, p) + 2 * hi * lo;
    hi = p + e;
    lo = e - (hi - p);
    if (Math.floor(n / bit) % 2 === 1) {
      p = hi * base;
      e = productError(hi, base, p) + lo * base;
      hi = p + e;
      lo = e - (hi - p);
    }
  }
  return hi;
}

function fma32(a: number, b: number, c: number): number {
  return fround(a * b + c);
}

/** The gradient a step follows: negated to maximize, plus weight decay wd·p (coupled). As assembly/optim.ts's effectiveGrad. */
function effectiveGrad(g: number, p: number, maximize: number, hasWd: boolean, wd: number): number {
  if (maximize) g = -g;
  return hasWd ? fma32(wd, p, g) : g;
}

export function jsOptimKernels(heap: Heap): OptimKernels {
  return {
    f32_sgd_step(param, grad, buf, n, lr, momentum, dampening, weightDecay, nesterov, maximize, l1, firstStep) {
      const f32 = heap.f32;
      const negLr = fround(-lr);
      const wd = fround(weightDecay);
      const l1f = fround(l1);
      const mom = fround(momentum);
      const keep = fround(1 - dampening);
      const pb = param >>> 2;
      const gb = grad >>> 2;
      const bb = buf >>> 2;
      for (let i = 0; i < n; i++) {
        const p = f32[pb + i];
        let d = effectiveGrad(f32[gb + i], p, maximize, weightDecay !== 0, wd);
        if (l1 !== 0) d = fround(d + (p > 0 ? l1f : p < 0 ? -l1f : 0));
        if (momentum !== 0) {
          const b = firstStep ? d : fma32(keep, d, fround(f32[bb + i] * mom));
          f32[bb + i] = b;
          d = nesterov ? fma32(mom, b, d) : b;
        }
        f32[pb + i] = fma32(negLr, d, p);
      }
    },

    f32_adam_step(param, grad, m, v, vmax, n, lr, beta1, beta2, eps, weightDecay, step, decoupled, amsgrad, maximize) {
      const f32 = heap.f32;
      const biasCorrection1 = 1 - powStep(beta1, step);
      const biasCorrection2 = 1 - powStep(beta2, step);
      const negStepSize = fround(-(lr / biasCorrection1));
      const bc2Sqrt = fround(Math.sqrt(biasCorrection2));
      const b1 = fround(beta1);
      const b2 = fround(beta2);
      const oneMinusB1 = fround(1 - beta1);
      const oneMinusB2 = fround(1 - beta2);
      const epsf = fround(eps);
      const wd = fround(weightDecay);
      // AdamW shrinks the parameter even when weight_decay is 0 (by exactly 1).
      const shrink = fround(1 - lr * weightDecay);
      const coupledWd = !decoupled && weightDecay !== 0;
      const pb = param >>> 2;
      const gb = grad >>> 2;
      const mb = m >>> 2;
      const vb = v >>> 2;
      const vmaxb = vmax >>> 2;
      for (let i = 0; i < n; i++) {
        let p = f32[pb + i];
        const g = effectiveGrad(f32[gb + i], p, maximize, coupledWd, wd);
        if (decoupled) p = fround(p * shrink);
        const mi = fma32(oneMinusB1, g, fround(f32[mb + i] * b1));
        let vi = fma32(fround(oneMinusB2 * g), g, fround(f32[vb + i] * b2));
        f32[mb + i] = mi;
        f32[vb + i] = vi;
        if (amsgrad) {
          vi = Math.max(f32[vmaxb + i], vi);
          f32[vmaxb + i] = vi;
        }
        const denom = fround(fround(fround(Math.sqrt(vi)) / bc2Sqrt) + epsf);
        f32[pb + i] = p + fround(fround(negStepSize * mi) / denom);
      }
    },

    f32_rmsprop_step(param, grad, squareAvg, gradAvg, buf, n, lr, alpha, eps, weightDecay, momentum, centered, maximize) {
      const f32 = heap.f32;
      const negLr = fround(-lr);
      const a = fround(alpha);
      const oneMinusA = fround(1 - alpha);
      const epsf = fround(eps);
      const wd = fround(weightDecay);
      const mom = fround(momentum);
      const [pb, gb, sb, ab, bb] = [param >>> 2, grad >>> 2, squareAvg >>> 2, gradAvg >>> 2, buf >>> 2];
      for (let i = 0; i < n; i++) {
        const p = f32[pb + i];
        const g = effectiveGrad(f32[gb + i], p, maximize, weightDecay !== 0, wd);
        const sq = fma32(fround(oneMinusA * g), g, fround(f32[sb + i] * a));
        f32[sb + i] = sq;
        let avg: number;
        if (centered) {
          const ga = fma32(oneMinusA, g, fround(f32[ab + i] * a));
          f32[ab + i] = ga;
          avg = fround(Math.sqrt(fma32(-ga, ga, sq)));
        } else {
          avg = fround(Math.sqrt(sq));
        }
        avg = fround(avg + epsf);
        if (momentum > 0) {
          const b = fround(fround(f32[bb + i] * mom) + fround(g / avg));
          f32[bb + i] = b;
          f32[pb + i] = fma32(negLr, b, p);
        } else {
          f32[pb + i] = p + fround(fround(negLr * g) / avg);
        }
      }
    },

    f32_adagrad_step(param, grad, sum, n, clr, eps, weightDecay, maximize) {
      const f32 = heap.f32;
      const negClr = fround(-clr);
      const epsf = fround(eps);
      const wd = fround(weightDecay);
      const [pb, gb, sb] = [param >>> 2, grad >>> 2, sum >>> 2];
      for (let i = 0; i < n; i++) {
        const p = f32[pb + i];
        const g = effectiveGrad(f32[gb + i], p, maximize, weightDecay !== 0, wd);
        const s = fma32(g, g, f32[sb + i]);
        f32[sb + i] = s;
        const std = fround(fround(Math.sqrt(s)) + epsf);
        f32[pb + i] = p + fround(fround(negClr * g) / std);
      }
    },

    f32_adadelta_step(param, grad, squareAvg, accDelta, n, lr, rho, eps, weightDecay, maximize) {
      const f32 = heap.f32;
      const negLr = fround(-lr);
      const r = fround(rho);
      const oneMinusR = fround(1 - rho);
      const epsf = fround(eps);
      const wd = fround(weightDecay);
      const [pb, gb, sb, db] = [param >>> 2, grad >>> 2, squareAvg >>> 2, accDelta >>> 2];
      for (let i = 0; i < n; i++) {
        const p = f32[pb + i];
        const g = effectiveGrad(f32[gb + i], p, maximize, weightDecay !== 0, wd);
        const sq = fma32(fround(oneMinusR * g), g, fround(f32[sb + i] * r));
        f32[sb + i] = sq;
        const std = fround(Math.sqrt(fround(sq + epsf)));
        const acc = f32[db + i];
        const delta = fround(fround(fround(Math.sqrt(fround(acc + epsf))) / std) * g);
        f32[db + i] = fma32(fround(oneMinusR * delta), delta, fround(acc * r));
        f32[pb + i] = fma32(negLr, delta, p);
      }
    },
  };
}
