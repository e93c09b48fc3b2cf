// Gradient checks against central finite differences of a float64 reference,
// on both backends. The loss is Σ out·r with random r, so every output
// element's gradient is exercised. Tolerance: the analytic gradient is
// computed in f32 (relative error ~1e-6 per op, a few ops deep), the numeric
// one in f64 with h = 1e-6; 1e-3 relative catches any wrong formula (those are
// off by O(1)) without flaking.

import { afterAll, describe, expect, it } from "vitest";
import { setBackend, tensor, type Tensor } from "../../src/index.ts";
import { numelOf, type Arr } from "./ref.ts";
import { rng } from "./backends.ts";

/** One op (or composition) to check: what wasmgrad computes and the float64 function it should be. */
export interface GradCase {
  name: string;
  shapes: number[][];
  build: (...t: Tensor[]) => Tensor;
  ref: (...x: Arr[]) => Arr;
  /** Input values are drawn from [low, high] (default ±1.5; avoid kinks and domain edges). */
  low?: number;
  high?: number;
}

const H = 1e-6;
const RELATIVE_TOLERANCE = 1e-3;

/**
 * One `it` per case, under one `describe` per backend titled `title(backend)`;
 * case k draws its inputs from rng(seed + k).
 */
export function describeGradientChecks(title: (backend: "wasm" | "js") => string, cases: GradCase[], seed: number): void {
  for (const backend of ["wasm", "js"] as const) {
    describe(title(backend), () => {
      afterAll(() => setBackend("wasm"));
      cases.forEach((c, ci) => {
        it(c.name, () => {
          setBackend(backend);
          checkGradients(c, rng(seed + ci));
        });
      });
    });
  }
}

function checkGradients(c: GradCase, r: () => number): void {
  const values = c.shapes.map((s) => draw(numelOf(s), r, c.low ?? -1.5, c.high ?? 1.5));
  const xs: Arr[] = values.map((v, i) => ({ shape: c.shapes[i], data: Float64Array.from(v) }));
  const outRef = c.ref(...xs);
  const weights = Float64Array.from({ length: outRef.data.length }, () => r() * 2 - 1);

  const ts = values.map((v, i) => tensor(v, { shape: c.shapes[i], requiresGrad: true }));
  const out = c.build(...ts);
  expect(out.shape).toEqual(outRef.shape);
  const got = out.data();
  for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(outRef.data[i], 4);
  out.mul(tensor(Float32Array.from(weights), { shape: outRef.shape })).sum().backward();

  xs.forEach((x, i) => {
    const analytic = ts[i].grad!.data();
    expect(ts[i].grad!.shape).toEqual(x.shape);
    for (let j = 0; j < x.data.length; j++) {
      const keep = x.data[j];
      x.data[j] = keep + H;
      const up = weightedSum(c, xs, weights);
      x.data[j] = keep - H;
      const down = weightedSum(c, xs, weights);
      x.data[j] = keep;
      const numeric = (up - down) / (2 * H);
      if (Math.abs(analytic[j] - numeric) > RELATIVE_TOLERANCE * Math.max(1, Math.abs(numeric))) {
        expect.fail(`d/d input ${i}[${j}]: analytic ${analytic[j]}, numeric ${numeric}`);
      }
    }
  });
}

/** The reference loss Σ ref(xs)·weights. */
function weightedSum(c: GradCase, xs: Arr[], weights: Float64Array): number {
  const out = c.ref(...xs);
  let s = 0;
  for (let i = 0; i < out.data.length; i++) s += out.data[i] * weights[i];
  return s;
}

/** Values away from 0 by at least 0.05 so |x|, relu, max ties, sign kinks and where(a > 0) are not crossed by ±h. */
function draw(n: number, r: () => number, low: number, high: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = low + (high - low) * r(); while (Math.abs(v) < 0.05);
    out[i] = v;
  }
  return out;
}
