// Optimizer steps: PyTorch 1.13's SGD and Adam / AdamW on one tensor, checked
// against trajectories computed by PyTorch itself and against float64
// references of PyTorch's formulas.

import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { powStep } from "../src/backend/js/optim.ts";
import { expectClose, getF32, makeBackends, ODD_SIZES, put, randomF32 } from "./helpers/backends.ts";

const backends = makeBackends();
const both = [backends.wasm, backends.js];

interface SgdConfig {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
  l1?: number;
}

interface AdamConfig {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  decoupled?: boolean;
  amsgrad?: boolean;
  maximize?: boolean;
}

/** Runs the kernel for one step per gradient; returns the parameter after each step (and the final state). */
function sgdTrajectory(be: Backend, p0: Float32Array, grads: Float32Array[], cfg: SgdConfig) {
  const n = p0.length;
  const param = put(be, p0);
  const buf = put(be, new Float32Array(n).fill(NaN));
  const grad = be.allocator.alloc(4 * n);
  const params: Float32Array[] = [];
  grads.forEach((g, step) => {
    be.heap.f32.set(g, grad >> 2);
    be.kernels.f32_sgd_step(
      param, grad, buf, n, cfg.lr, cfg.momentum ?? 0, cfg.dampening ?? 0, cfg.weightDecay ?? 0,
      cfg.nesterov ? 1 : 0, cfg.maximize ? 1 : 0, cfg.l1 ?? 0, step === 0 ? 1 : 0,
    );
    params.push(getF32(be, param, n));
  });
  const result = { params, buf: getF32(be, buf, n) };
  for (const p of [param, buf, grad]) be.allocator.free(p);
  return result;
}

function adamTrajectory(be: Backend, p0: Float32Array, grads: Float32Array[], cfg: AdamConfig) {
  const n = p0.length;
  const param = put(be, p0);
  const m = put(be, new Float32Array(n));
  const v = put(be, new Float32Array(n));
  const vmax = put(be, new Float32Array(n));
  const grad = be.allocator.alloc(4 * n);
  const [beta1, beta2] = cfg.betas ?? [0.9, 0.999];
  const params: Float32Array[] = [];
  grads.forEach((g, i) => {
    be.heap.f32.set(g, grad >> 2);
    be.kernels.f32_adam_step(
      param, grad, m, v, vmax, n, cfg.lr, beta1, beta2, cfg.eps ?? 1e-8, cfg.weightDecay ?? 0,
      i + 1, cfg.decoupled ? 1 : 0, cfg.amsgrad ? 1 : 0, cfg.maximize ? 1 : 0,
    );
    params.push(getF32(be, param, n));
  });
  const result = { params, m: getF32(be, m, n), v: getF32(be, v, n), vmax: getF32(be, vmax, n) };
  for (const p of [param, m, v, vmax, grad]) be.allocator.free(p);
  return result;
}

/** float64 SGD, the formula of torch/optim/sgd.py's _single_tensor_sgd, plus the l1 term. */
function sgdReference(p0: Float32Array, grads: Float32Array[], cfg: SgdConfig): Float64Array[] {
  const p = Float64Array.from(p0);
  const buf = new Float64Array(p.length);
  const out: Float64Array[] = [];
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false, l1 = 0 } = cfg;
  grads.forEach((g, step) => {
    for (let i = 0; i < p.length; i++) {
      let d = maximize ? -g[i] : g[i];
      d += weightDecay * p[i] + l1 * Math.sign(p[i]);
      if (momentum !== 0) {
        buf[i] = step === 0 ? d : momentum * buf[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
    out.push(Float64Array.from(p));
  });
  return out;
}

/** float64 Adam / AdamW, the formula of torch/optim/adam.py and adamw.py (_single_tensor_*). */
function adamReference(p0: Float32Array, grads: Float32Array[], cfg: AdamConfig): Float64Array[] {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const vmax = new Float64Array(p.length);
  const { lr, betas: [beta1, beta2] = [0.9, 0.999], eps = 1e-8, weightDecay = 0, decoupled = false, amsgrad = false, maximize = false } = cfg;
  const out: Float64Array[] = [];
  grads.forEach((g, i) => {
    const step = i + 1;
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    for (let k = 0; k < p.length; k++) {
      let grad = maximize ? -g[k] : g[k];
      if (decoupled) p[k] *= 1 - lr * weightDecay;
      else grad += weightDecay * p[k];
      m[k] = beta1 * m[k] + (1 - beta1) * grad;
      v[k] = beta2 * v[k] + (1 - beta2) * grad * grad;
      vmax[k] = Math.max(vmax[k], v[k]);
      const denom = Math.sqrt(amsgrad ? vmax[k] : v[k]) / Math.sqrt(bc2) + eps;
      p[k] -= (lr / bc1) * (m[k] / denom);
    }
    out.push(Float64Array.from(p));
  });
  return out;
}

function randomGrads(steps: number, n: number, seed: number): Float32Array[] {
  return Array.from({ length: steps }, (_, s) => randomF32(n, seed * 1000 + s, -1, 1));
}

// ---------------------------------------------------------------------------
// Trajectories computed by PyTorch 1.13 (/usr/bin/python3, CPU, foreach=False so
// that the _single_tensor_* code runs):
//
//   torch.manual_seed(0)
//   p0 = torch.tensor([0.5, -1.25, 2.0, 0.0, -0.3125, 3.5, -2.75])
//   grads = [torch.randn(7) for _ in range(5)]
//   p = p0.clone().requires_grad_(True); opt = Optimizer([p], foreach=False, **config)
//   for g in grads: p.grad = g.clone(); opt.step(); print(p)     # values as str(np.float32(v))
//
// The kernels reproduce these bit for bit because they round where PyTorch's CPU
// kernels round, including the fused multiply-adds of add(alpha=) and addcmul_
// (this PyTorch build, on an x86-64 CPU with FMA). A PyTorch build without FMA
// would differ from these values in the last bit now and then, not the kernels.

const P0 = Float32Array.from([0.5, -1.25, 2.0, 0.0, -0.3125, 3.5, -2.75]);
const TORCH_GRADS = [
  [1.5409961, -0.2934289, -2.1787894, 0.56843126, -1.0845224, -1.3985955, 0.40334684],
  [0.83802634, -0.7192576, -0.40334353, -0.59663534, 0.18203649, -0.8566746, 1.1006042],
  [-1.0711874, 0.12270124, -0.5663175, 0.37311465, -0.8919953, -1.5091077, 0.37039354],
  [1.4565026, 0.9398099, 0.7748488, 0.19186942, 1.2637948, -1.2904351, -0.7911027],
  [-0.020879474, -0.71848005, 0.51863676, -1.3125219, 0.19199507, 0.54277134, -2.2187793],
].map((g) => Float32Array.from(g));

const TORCH_SGD: [string, SgdConfig, number[][]][] = [
  ["SGD(lr=0.1)", { lr: 0.1 }, [
    [0.3459004, -1.2206571, 2.217879, -0.056843128, -0.20404775, 3.6398594, -2.7903347],
    [0.26209775, -1.1487314, 2.2582135, 0.002820407, -0.2222514, 3.7255268, -2.9003952],
    [0.36921647, -1.1610014, 2.3148453, -0.03449106, -0.13305187, 3.8764377, -2.9374344],
    [0.22356622, -1.2549825, 2.2373605, -0.053678002, -0.25943136, 4.0054812, -2.858324],
    [0.22565417, -1.1831344, 2.1854968, 0.07757419, -0.27863088, 3.951204, -2.636446],
  ]],
  ["SGD(lr=0.05, momentum=0.9)", { lr: 0.05, momentum: 0.9 }, [
    [0.4229502, -1.2353286, 2.1089394, -0.028421564, -0.25827387, 3.5699298, -2.7701674],
    [0.31170407, -1.1861614, 2.227152, -0.024169201, -0.21857218, 3.6757004, -2.8433483],
    [0.2651419, -1.148046, 2.3618593, -0.038997807, -0.1382409, 3.8463492, -2.9277306],
    [0.15041085, -1.1607326, 2.4443533, -0.061937023, -0.1291325, 4.064455, -2.9641197],
    [0.048196867, -1.1362267, 2.4926662, -0.016956221, -0.13053468, 4.2336116, -2.8859308],
  ]],
  ["SGD(lr=0.05, momentum=0.9, dampening=0.3)", { lr: 0.05, momentum: 0.9, dampening: 0.3 }, [
    [0.4229502, -1.2353286, 2.1089394, -0.028421564, -0.25827387, 3.5699298, -2.7701674],
    [0.32427448, -1.1969502, 2.221102, -0.033118732, -0.21584164, 3.6628501, -2.8268392],
    [0.2729579, -1.1667043, 2.3418694, -0.050405197, -0.1464328, 3.7992973, -2.8908076],
    [0.17579536, -1.1723763, 2.4234402, -0.07267845, -0.12819766, 3.967265, -2.9206905],
    [0.08907987, -1.1523343, 2.4787018, -0.0467861, -0.11850586, 4.0994387, -2.869928],
  ]],
  ["SGD(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)", { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }, [
    [0.36086035, -1.2224663, 2.194291, -0.051158816, -0.21461174, 3.6227236, -2.783826],
    [0.23564132, -1.1468432, 2.2976985, -0.015605393, -0.19599716, 3.7401989, -2.8924022],
    [0.2653263, -1.1256149, 2.414069, -0.044614807, -0.09345391, 3.9338148, -2.9670846],
    [0.114997, -1.1877528, 2.4135227, -0.07013209, -0.16083494, 4.142438, -2.9393022],
    [0.054875456, -1.1345888, 2.396196, 0.03530111, -0.18136016, 4.206715, -2.7475717],
  ]],
  ["SGD(lr=0.02, momentum=0.5, weight_decay=0.1, maximize=True)", { lr: 0.02, momentum: 0.5, weightDecay: 0.1, maximize: true }, [
    [0.5298199, -1.2533686, 1.9524242, 0.011368625, -0.33356544, 3.465028, -2.736433],
    [0.56043077, -1.2669313, 1.9166646, 0.005097494, -0.3397903, 3.4234786, -2.7021646],
    [0.5531916, -1.2687248, 1.8836251, 0.0094140265, -0.36006308, 3.3656747, -2.6722183],
    [0.57759565, -1.2482879, 1.8788351, 0.015390853, -0.34420344, 3.3042328, -2.6677227],
    [0.5882249, -1.2499425, 1.8830551, -0.007901954, -0.33174533, 3.2777588, -2.704515],
  ]],
];

const TORCH_ADAM: [string, AdamConfig, number[][]][] = [
  ["Adam(lr=0.01)", { lr: 0.01 }, [
    [0.49, -1.24, 2.01, -0.01, -0.3025, 3.51, -2.76],
    [0.48055777, -1.2305795, 2.0179436, -0.0092318375, -0.29712436, 3.5196013, -2.7692919],
    [0.47766152, -1.224384, 2.0254757, -0.011327462, -0.28987178, 3.5293882, -2.7780662],
    [0.472364, -1.2255877, 2.0294514, -0.0142136905, -0.28931367, 3.5392382, -2.7809613],
    [0.46793184, -1.2237043, 2.031589, -0.011155663, -0.28939396, 3.5462582, -2.7777498],
  ]],
  ["Adam(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True)", { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.05, amsgrad: true }, [
    [0.49, -1.24, 2.01, -0.010000001, -0.3025, 3.51, -2.76],
    [0.4806915, -1.2302605, 2.0173702, -0.008643202, -0.29745212, 3.5193257, -2.7692266],
    [0.4784778, -1.2237422, 2.0241244, -0.010675784, -0.2901392, 3.529092, -2.7773433],
    [0.4731651, -1.2250906, 2.0263355, -0.013603512, -0.29037863, 3.5389354, -2.7773812],
    [0.46899542, -1.2224326, 2.02629, -0.009504637, -0.29118425, 3.5442595, -2.7717018],
  ]],
  ["Adam(lr=0.003, eps=1e-6, maximize=True)", { lr: 0.003, eps: 1e-6, maximize: true }, [
    [0.503, -1.253, 1.997, 0.0029999944, -0.3155, 3.497, -2.747],
    [0.5058327, -1.2558261, 1.9946169, 0.0027695461, -0.31711268, 3.4941196, -2.7442124],
    [0.5067015, -1.2576848, 1.9923573, 0.0033982326, -0.31928846, 3.4911835, -2.74158],
    [0.50829077, -1.2573237, 1.9911646, 0.004264099, -0.3194559, 3.4882286, -2.7407115],
    [0.5096204, -1.2578888, 1.9905232, 0.003346692, -0.3194318, 3.4861226, -2.741675],
  ]],
  ["AdamW(lr=0.01, weight_decay=0.1)", { lr: 0.01, weightDecay: 0.1, decoupled: true }, [
    [0.48950002, -1.23875, 2.0080001, -0.01, -0.3021875, 3.5065, -2.75725],
    [0.47956827, -1.2280908, 2.0139358, -0.009221838, -0.29650965, 3.512595, -2.763785],
    [0.47619247, -1.2206671, 2.019454, -0.011308242, -0.28896058, 3.5188692, -2.7697954],
    [0.47041878, -1.2206502, 2.0214102, -0.014183162, -0.2881135, 3.5252004, -2.7699208],
    [0.4655162, -1.2175462, 2.0215266, -0.01111095, -0.2879057, 3.528695, -2.7639394],
  ]],
  ["AdamW(lr=0.02, betas=(0.7, 0.9), weight_decay=0.3, amsgrad=True, maximize=True)",
    { lr: 0.02, betas: [0.7, 0.9], weightDecay: 0.3, decoupled: true, amsgrad: true, maximize: true }, [
      [0.517, -1.2625, 1.968, 0.020000001, -0.33062503, 3.459, -2.7135],
      [0.5323438, -1.2743672, 1.9418385, 0.015872702, -0.33727092, 3.4193976, -2.6779726],
      [0.53126323, -1.2769462, 1.916965, 0.019919626, -0.34985834, 3.3791282, -2.644645],
      [0.5383948, -1.2621435, 1.9016559, 0.02593203, -0.34483916, 3.3390055, -2.627207],
      [0.54223394, -1.2580681, 1.8910637, 0.015629439, -0.33916572, 3.3084307, -2.6234806],
    ]],
];

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_sgd_step", (_name, be) => {
  it.each(TORCH_SGD)("follows PyTorch's trajectory bit for bit for %s", (_label, cfg, expected) => {
    const { params } = sgdTrajectory(be, P0, TORCH_GRADS, cfg);
    expected.forEach((row, s) => expect([...params[s]], `step ${s + 1}`).toEqual(row.map(Math.fround)));
  });

  it.each<[string, SgdConfig]>([
    ["plain", { lr: 0.1 }],
    ["momentum", { lr: 0.05, momentum: 0.9 }],
    ["momentum with dampening", { lr: 0.05, momentum: 0.9, dampening: 0.5 }],
    ["nesterov", { lr: 0.05, momentum: 0.7, nesterov: true }],
    ["weight decay", { lr: 0.1, weightDecay: 0.05 }],
    ["maximize", { lr: 0.1, momentum: 0.3, maximize: true }],
    ["l1", { lr: 0.1, l1: 0.01 }],
    ["everything at once", { lr: 0.03, momentum: 0.9, dampening: 0.1, nesterov: true, weightDecay: 0.01, maximize: true, l1: 0.002 }],
  ])("matches a float64 reference of PyTorch's formula over 20 steps: %s", (_label, cfg) => {
    for (const n of [...ODD_SIZES, 1000]) {
      const p0 = randomF32(n, n, -2, 2);
      const grads = randomGrads(20, n, n);
      const { params } = sgdTrajectory(be, p0, grads, cfg);
      const ref = sgdReference(p0, grads, cfg);
      params.forEach((p, s) => expectClose(p, ref[s], 1e-5, 1e-6, `n=${n} step ${s + 1}`));
    }
  });

  it("adds l1·sign(p) to the gradient with weight decay, where sign(0) = 0", () => {
    const p0 = Float32Array.from([0.5, -0.5, 0, 0]);
    const g = Float32Array.from([0, 0, 0, 0.25]);
    const { params } = sgdTrajectory(be, p0, [g], { lr: 0.1, l1: 0.2, weightDecay: 0.5 });
    // d = g + 0.5·p + 0.2·sign(p); p − 0.1·d.
    expectClose(params[0], [0.5 - 0.1 * (0.25 + 0.2), -0.5 + 0.1 * (0.25 + 0.2), 0, -0.025], 1e-7, 0);
    expect(Object.is(params[0][2], 0)).toBe(true);
  });

  it("copies the gradient into the momentum buffer on the first step, and leaves the buffer alone without momentum", () => {
    const g = Float32Array.from([1, -2, 3]);
    expect([...sgdTrajectory(be, Float32Array.from([1, 1, 1]), [g], { lr: 0.1, momentum: 0.9, dampening: 0.5 }).buf]).toEqual([1, -2, 3]);
    expect(sgdTrajectory(be, Float32Array.from([1, 1, 1]), [g, g], { lr: 0.1 }).buf.every(Number.isNaN)).toBe(true);
  });

  it("with maximize, ascends: the same as descending on −g", () => {
    const grads = randomGrads(5, 33, 3);
    const negated = grads.map((g) => g.map((x) => -x));
    const cfg = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    expect(sgdTrajectory(be, P0, grads, { ...cfg, maximize: true }).params).toEqual(sgdTrajectory(be, P0, negated, cfg).params);
  });
});

describe.each(both.map((be) => [be.name, be] as const))("%s: f32_adam_step", (_name, be) => {
  it.each(TORCH_ADAM)("follows PyTorch's trajectory bit for bit for %s", (_label, cfg, expected) => {
    const { params } = adamTrajectory(be, P0, TORCH_GRADS, cfg);
    expected.forEach((row, s) => expect([...params[s]], `step ${s + 1}`).toEqual(row.map(Math.fround)));
  });

  it.each<[string, AdamConfig]>([
    ["Adam", { lr: 0.01 }],
    ["Adam with weight decay", { lr: 0.01, weightDecay: 0.1 }],
    ["Adam with amsgrad", { lr: 0.02, betas: [0.8, 0.95], amsgrad: true }],
    ["Adam maximizing", { lr: 0.01, maximize: true }],
    ["AdamW", { lr: 0.01, weightDecay: 0.1, decoupled: true }],
    ["AdamW with amsgrad, maximizing", { lr: 0.005, weightDecay: 0.3, decoupled: true, amsgrad: true, maximize: true, eps: 1e-6 }],
  ])("matches a float64 reference of PyTorch's formula over 20 steps: %s", (_label, cfg) => {
    for (const n of [...ODD_SIZES, 1000]) {
      const p0 = randomF32(n, n + 7, -2, 2);
      const grads = randomGrads(20, n, n + 7);
      const { params } = adamTrajectory(be, p0, grads, cfg);
      const ref = adamReference(p0, grads, cfg);
      params.forEach((p, s) => expectClose(p, ref[s], 1e-5, 1e-6, `n=${n} step ${s + 1}`));
    }
  });

  it("moves every parameter by lr against its gradient's sign on the first step (bias correction, step counts from 1)", () => {
    const g = Float32Array.from([3, -0.5, 1e-3, -20]);
    const { params } = adamTrajectory(be, new Float32Array(4), [g], { lr: 0.1 });
    // m̂ = g and v̂ = g² after one step, so Δp = −lr·g / (|g| + eps).
    expectClose(params[0], Array.from(g, (x) => (-0.1 * x) / (Math.abs(x) + 1e-8)), 1e-6, 0);
  });

  it("keeps the running maximum of v in vmax with amsgrad, and leaves vmax alone without", () => {
    const grads = [Float32Array.of(2), Float32Array.of(0), Float32Array.of(0)];
    const withMax = adamTrajectory(be, new Float32Array(1), grads, { lr: 0.1, betas: [0.9, 0.5], amsgrad: true });
    expect(withMax.vmax[0]).toBe(Math.fround(Math.fround(0.5) * 4));
    expect(withMax.v[0]).toBe(Math.fround(withMax.vmax[0] * 0.25));
    expect(adamTrajectory(be, new Float32Array(1), grads, { lr: 0.1 }).vmax[0]).toBe(0);
  });

  it("is plain Adam as AdamW when weight_decay is 0", () => {
    const grads = randomGrads(10, 65, 9);
    const p0 = randomF32(65, 10);
    expect(adamTrajectory(be, p0, grads, { lr: 0.01, decoupled: true }).params).toEqual(adamTrajectory(be, p0, grads, { lr: 0.01 }).params);
  });
});

describe("both backends agree", () => {
  it("bitwise on SGD and Adam / AdamW trajectories, over sizes around the SIMD width", () => {
    const sgd: SgdConfig = { lr: 0.03, momentum: 0.9, dampening: 0.1, nesterov: true, weightDecay: 0.01, l1: 0.001 };
    const adam: AdamConfig = { lr: 0.01, weightDecay: 0.05, amsgrad: true };
    for (const n of [...ODD_SIZES, 4099]) {
      const p0 = randomF32(n, n * 3, -2, 2);
      const grads = randomGrads(12, n, n * 3);
      expect(sgdTrajectory(backends.wasm, p0, grads, sgd).params).toEqual(sgdTrajectory(backends.js, p0, grads, sgd).params);
      // Plain SGD takes the Wasm kernel's branch-free path.
      const plain: SgdConfig = { lr: 0.37 };
      expect(sgdTrajectory(backends.wasm, p0, grads, plain).params).toEqual(sgdTrajectory(backends.js, p0, grads, plain).params);
      for (const decoupled of [false, true]) {
        const cfg = { ...adam, decoupled };
        expect(adamTrajectory(backends.wasm, p0, grads, cfg).params).toEqual(adamTrajectory(backends.js, p0, grads, cfg).params);
      }
    }
  });
});

describe("Adam's bias corrections use Python's beta ** step", () => {
  it("to the last bit, for the values /usr/bin/python3 prints for repr(beta ** float(step))", () => {
    const python: [number, number, number][] = [
      [0.9, 1, 0.9],
      [0.9, 7, 0.4782969000000001],
      [0.999, 3, 0.997002999],
      [0.999, 1000, 0.36769542477096373],
      [0.999, 12345, 4.324661796025634e-06],
      [0.99, 100, 0.3660323412732292],
      [0.8, 37, 0.00025961484292674194],
      [0.9, 1000000, 0],
    ];
    for (const [beta, step, expected] of python) expect(powStep(beta, step)).toBe(expected);
  });

  it("within an ulp of Math.pow for the usual betas over 10^5 steps (down to where 1 − beta^step is 1 anyway)", () => {
    for (const beta of [0.9, 0.99, 0.999, 0.9999]) {
      for (let step = 1; step <= 100_000; step += 7) {
        const exact = Math.pow(beta, step);
        if (exact < 1e-300) break;
        expect(Math.abs(powStep(beta, step) - exact)).toBeLessThanOrEqual(exact * 2 ** -52);
      }
    }
  });
});
