// Gradients of conv2d, the pools and batch norm against central finite
// differences of a float64 reference (written here from the definitions), on
// both backends; and the Wasm kernels bitwise against the JS oracle.

import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { nn, setBackend, tensor, type Tensor } from "../src/index.ts";
import { expectClose, randomF32 } from "./helpers/backends.ts";

const F = nn.functional;
type Geo = { N: number; C: number; H: number; W: number; KH: number; KW: number; SH: number; SW: number; PH: number; PW: number; DH: number; DW: number };
const outSize = (n: number, k: number, s: number, p: number, d: number) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

/** conv2d in f64 from its definition. */
function refConv(x: Float64Array, w: Float64Array, b: Float64Array, g: Geo, OC: number): Float64Array {
  const OH = outSize(g.H, g.KH, g.SH, g.PH, g.DH);
  const OW = outSize(g.W, g.KW, g.SW, g.PW, g.DW);
  const y = new Float64Array(g.N * OC * OH * OW);
  for (let n = 0; n < g.N; n++) for (let o = 0; o < OC; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = b[o];
    for (let c = 0; c < g.C; c++) for (let ki = 0; ki < g.KH; ki++) for (let kj = 0; kj < g.KW; kj++) {
      const ih = i * g.SH - g.PH + ki * g.DH;
      const iw = j * g.SW - g.PW + kj * g.DW;
      if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) s += x[((n * g.C + c) * g.H + ih) * g.W + iw] * w[((o * g.C + c) * g.KH + ki) * g.KW + kj];
    }
    y[((n * OC + o) * OH + i) * OW + j] = s;
  }
  return y;
}

/** Max or average pooling in f64 (average counting the padding). */
function refPool(x: Float64Array, g: Geo, max: boolean): Float64Array {
  const OH = outSize(g.H, g.KH, g.SH, g.PH, 1);
  const OW = outSize(g.W, g.KW, g.SW, g.PW, 1);
  const y = new Float64Array(g.N * g.C * OH * OW);
  for (let p = 0; p < g.N * g.C; p++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let acc = max ? -Infinity : 0;
    for (let ki = 0; ki < g.KH; ki++) for (let kj = 0; kj < g.KW; kj++) {
      const ih = i * g.SH - g.PH + ki;
      const iw = j * g.SW - g.PW + kj;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
      const v = x[(p * g.H + ih) * g.W + iw];
      acc = max ? Math.max(acc, v) : acc + v;
    }
    y[(p * OH + i) * OW + j] = max ? acc : acc / (g.KH * g.KW);
  }
  return y;
}

/** Training-mode batch norm in f64 over [N, C, S]. */
function refBatchNorm(x: Float64Array, w: Float64Array, b: Float64Array, N: number, C: number, S: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) mean += x[(n * C + c) * S + s];
    mean /= N * S;
    let v = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v += (x[(n * C + c) * S + s] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / (N * S) + 1e-5);
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) y[(n * C + c) * S + s] = (x[(n * C + c) * S + s] - mean) * inv * w[c] + b[c];
  }
  return y;
}

const dot = (a: Float64Array, r: Float32Array) => a.reduce((s, v, i) => s + v * r[i]!, 0);

/** Central differences (step 1e-6) of loss with respect to each entry of inputs[which]. */
function numericGrad(inputs: Float64Array[], which: number, loss: (xs: Float64Array[]) => number): Float64Array {
  const g = new Float64Array(inputs[which]!.length);
  for (let i = 0; i < g.length; i++) {
    const xs = inputs.map((a) => Float64Array.from(a));
    xs[which]![i]! += 1e-6;
    const up = loss(xs);
    xs[which]![i]! -= 2e-6;
    g[i] = (up - loss(xs)) / 2e-6;
  }
  return g;
}

const t = (a: Float32Array, shape: number[]) => tensor(a, { shape, requiresGrad: true });
const f64 = (a: Float32Array) => Float64Array.from(a);

for (const backend of ["wasm", "js"] as const) {
  describe(`convolution gradients match float64 finite differences (${backend} backend)`, () => {
    beforeEach(() => setBackend(backend));
    afterAll(() => setBackend("wasm"));

    it("conv2d with stride, padding and dilation: input, weight and bias gradients", () => {
      const g: Geo = { N: 2, C: 2, H: 6, W: 5, KH: 3, KW: 2, SH: 2, SW: 1, PH: 1, PW: 1, DH: 1, DW: 2 };
      const OC = 3;
      const [xa, wa, ba] = [randomF32(2 * 2 * 6 * 5, 1), randomF32(3 * 2 * 3 * 2, 2), randomF32(3, 3)];
      const x = t(xa, [2, 2, 6, 5]);
      const w = t(wa, [3, 2, 3, 2]);
      const b = t(ba, [3]);
      const y = F.conv2d(x, w, b, { stride: [2, 1], padding: 1, dilation: [1, 2] });
      const r = randomF32(y.numel(), 4);
      y.mul(tensor(r, { shape: y.shape })).sum().backward();
      const loss = (xs: Float64Array[]) => dot(refConv(xs[0]!, xs[1]!, xs[2]!, g, OC), r);
      const ins = [f64(xa), f64(wa), f64(ba)];
      [x, w, b].forEach((p: Tensor, i) => expectClose(p.grad!.data(), numericGrad(ins, i, loss), 1e-4, 1e-4, `gradient ${i}`));
    });

    it("conv2d over a batch convolved in chunks (im2col columns above 1 MiB an image): output and gradients match float64", () => {
      const g: Geo = { N: 3, C: 8, H: 64, W: 64, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1 };
      const OC = 4;
      const P = 64 * 64;
      const [xa, wa, ba] = [randomF32(3 * 8 * P, 21), randomF32(OC * 72, 22), randomF32(OC, 23)];
      const x = t(xa, [3, 8, 64, 64]);
      const w = t(wa, [OC, 8, 3, 3]);
      const b = t(ba, [OC]);
      const y = F.conv2d(x, w, b, { padding: 1 });
      const r = randomF32(y.numel(), 24);
      y.mul(tensor(r, { shape: y.shape })).sum().backward();
      expectClose(y.data(), refConv(f64(xa), f64(wa), f64(ba), g, OC), 1e-5, 1e-5, "output");
      // The adjoints of the definition: dW = Σ r·x and dx = Σ r·w over the windows, db = Σ r.
      const dw = new Float64Array(wa.length);
      const dx = new Float64Array(xa.length);
      const db = new Float64Array(OC);
      for (let n = 0; n < 3; n++) for (let o = 0; o < OC; o++) for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) {
        const rv = r[((n * OC + o) * 64 + i) * 64 + j]!;
        db[o]! += rv;
        for (let c = 0; c < 8; c++) for (let ki = 0; ki < 3; ki++) for (let kj = 0; kj < 3; kj++) {
          const ih = i - 1 + ki;
          const iw = j - 1 + kj;
          if (ih < 0 || ih >= 64 || iw < 0 || iw >= 64) continue;
          const xi = ((n * 8 + c) * 64 + ih) * 64 + iw;
          const wi = ((o * 8 + c) * 3 + ki) * 3 + kj;
          dw[wi]! += rv * xa[xi]!;
          dx[xi]! += rv * wa[wi]!;
        }
      }
      expectClose(w.grad!.data(), dw, 1e-4, 1e-4, "weight gradient");
      expectClose(x.grad!.data(), dx, 1e-4, 1e-5, "input gradient");
      expectClose(b.grad!.data(), db, 1e-4, 1e-4, "bias gradient");
    });

    it("max and average pooling with padding: input gradients", () => {
      const g: Geo = { N: 1, C: 2, H: 5, W: 6, KH: 3, KW: 2, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1 };
      const xa = randomF32(60, 5);
      for (const max of [true, false]) {
        const x = t(xa, [1, 2, 5, 6]);
        const y = max ? F.maxPool2d(x, [3, 2], { stride: 2, padding: 1 }) : F.avgPool2d(x, [3, 2], { stride: 2, padding: 1 });
        const r = randomF32(y.numel(), 6);
        y.mul(tensor(r, { shape: y.shape })).sum().backward();
        expectClose(x.grad!.data(), numericGrad([f64(xa)], 0, (xs) => dot(refPool(xs[0]!, g, max), r)), 1e-4, 1e-4, max ? "max" : "avg");
      }
    });

    it("batch norm in training: input, weight and bias gradients through the batch statistics", () => {
      const [xa, wa, ba] = [randomF32(3 * 2 * 4, 7), randomF32(2, 8, 0.5, 1.5), randomF32(2, 9)];
      const x = t(xa, [3, 2, 4]);
      const w = t(wa, [2]);
      const b = t(ba, [2]);
      const y = F.batchNorm(x, null, null, { weight: w, bias: b, training: true });
      const r = randomF32(24, 10);
      y.mul(tensor(r, { shape: y.shape })).sum().backward();
      const loss = (xs: Float64Array[]) => dot(refBatchNorm(xs[0]!, xs[1]!, xs[2]!, 3, 2, 4), r);
      const ins = [f64(xa), f64(wa), f64(ba)];
      [x, w, b].forEach((p: Tensor, i) => expectClose(p.grad!.data(), numericGrad(ins, i, loss), 2e-3, 2e-4, `gradient ${i}`));
    });
  });
}

describe("the Wasm convolution kernels against the JS oracle", () => {
  afterAll(() => setBackend("wasm"));
  const run = (backend: "wasm" | "js") => {
    setBackend(backend);
    const x = t(randomF32(2 * 3 * 11 * 9, 11), [2, 3, 11, 9]);
    const w = t(randomF32(4 * 3 * 3 * 3, 12), [4, 3, 3, 3]);
    const b = t(randomF32(4, 13), [4]);
    const bw = t(randomF32(3, 14, 0.5, 1.5), [3]);
    const bb = t(randomF32(3, 15), [3]);
    const c = F.conv2d(x, w, b, { stride: [1, 2], padding: [2, 1], dilation: [2, 1] });
    c.square().sum().backward();
    const conv = [c, x.grad!, w.grad!, b.grad!].map((v) => v.data());
    const x2 = t(randomF32(2 * 3 * 11 * 9, 16), [2, 3, 11, 9]);
    const n = F.batchNorm(x2, null, null, { weight: bw, bias: bb, training: true });
    const y = F.maxPool2d(n, 3, { stride: 2, padding: 1 }).add(F.avgPool2d(n, 2, { stride: 1, padding: 1, countIncludePad: false }).sum());
    y.mul(y).sum().backward();
    return { conv, rest: [y, x2.grad!, bw.grad!, bb.grad!].map((v) => v.data()) };
  };

  it("pools and batch norm give bitwise the JS backend's outputs and gradients; conv2d (through the GEMM, whose relaxed-SIMD build may fuse) to f32 rounding", () => {
    const js = run("js");
    const wasm = run("wasm");
    wasm.rest.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(js.rest[i]!.buffer)), `pool / batch-norm output ${i}`).toBe(true));
    wasm.conv.forEach((v, i) => expectClose(v, js.conv[i]!, 1e-5, 1e-5, `conv2d output ${i}`));
  });
});
