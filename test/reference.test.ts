// How the command line judges a run against PyTorch's seeds (src/experiments/reference.ts):
// ✓ for a value PyTorch itself could have drawn, by a rule a statistician would use.

import { describe, expect, it } from "vitest";
import { LOSS_AT_FLOAT_PRECISION, place, seedStats, t3 } from "../src/experiments/reference.ts";

/** Student's t CDF by Simpson's rule over the density (independent of t3's series). */
function tCdf(t: number, df: number): number {
  const logGamma = (x: number): number => {
    // Lanczos, g = 7
    const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
      12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
    x -= 1;
    let a = c[0];
    for (let i = 1; i < 9; i++) a += c[i] / (x + i);
    const u = x + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(u) - u + Math.log(a);
  };
  const k = Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2)) / Math.sqrt(df * Math.PI);
  const f = (x: number) => k * (1 + (x * x) / df) ** (-(df + 1) / 2);
  const n = 200_000;
  const h = t / n;
  let s = f(0) + f(t);
  for (let i = 1; i < n; i++) s += f(i * h) * (i % 2 ? 4 : 2);
  return 0.5 + (s * h) / 3;
}

describe("judging a run against PyTorch's seed distribution", () => {
  it.each([2, 5, 19, 99])("t3(%i) is Student's t quantile at 99.865%%, the t counterpart of 3σ", (df) => {
    expect(tCdf(t3(df), df)).toBeCloseTo(0.99865, df >= 5 ? 4 : 3);
  });

  it("with 20 seeds, a value within ±3.53 sd agrees even outside PyTorch's [min, max]; beyond, it does not", () => {
    const s = seedStats(Array.from({ length: 20 }, (_, i) => i - 9.5)); // [min, max] = mean ± 1.61 sd
    const inside = place(s.mean + 3.4 * s.sd, s);
    expect(inside).toMatchObject({ inRange: false, withinPrediction: true, agrees: true });
    expect(inside.bound).toBeCloseTo(3.53, 2);
    expect(place(s.mean - 3.7 * s.sd, s)).toMatchObject({ inRange: false, withinPrediction: false, agrees: false });
  });

  it("with 3 seeds the interval is wide (±22 sd): three draws say little about the spread", () => {
    const s = seedStats([1.0, 1.1, 1.2]);
    expect(place(1.5, s).bound).toBeGreaterThan(20);
    expect(place(1.5, s).agrees).toBe(true);
  });

  it("losses at float precision agree whatever their rounding, only when both are", () => {
    const torch = seedStats([1.8e-13, 3e-13, 5.9e-13], LOSS_AT_FLOAT_PRECISION);
    expect(place(1.1e-13, torch)).toMatchObject({ floatPrecision: true, agrees: true });
    expect(place(1e-3, torch)).toMatchObject({ floatPrecision: false, agrees: false });
  });
});
