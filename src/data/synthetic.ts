// d2l's synthetic_data: a linear-regression problem with a known answer.

import { withoutGrad } from "../autograd.ts";
import { fmt } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { randn } from "../tensor-creation.ts";

const NOISE_STD = 0.01;

/**
 * X ~ N(0, 1) of shape [n, k] and y = X·w + b + N(0, 0.01²) of shape [n, 1],
 * for w of shape [k] or [k, 1]. Both are yours to keep, drawn from the seeded
 * generator (X first, then the noise, as d2l does).
 */
export function syntheticRegression(w: Tensor, b: number, n: number): [Tensor, Tensor] {
  if (!(w.ndim === 1 || (w.ndim === 2 && w.shape[1] === 1))) {
    throw new RangeError(`syntheticRegression: w must have shape [k] or [k, 1], got ${fmt(w.shape)}`);
  }
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`syntheticRegression: n must be a non-negative integer, got ${n}`);
  const k = w.shape[0]!;
  return withoutGrad(() => {
    const X = randn([n, k]);
    const y = X.matmul(w.reshape(k, 1)).add_(b);
    const noise = randn([n, 1]).mul_(NOISE_STD);
    y.add_(noise);
    noise.dispose();
    return [X.keep(), y.keep()];
  });
}
