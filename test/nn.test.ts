import { describe, expect, it, vi } from "vitest";
import { getBackend } from "../src/backend/index.ts";
import { detectAnomaly, manualSeed, nn, noGrad, optim, randn, tensor, zeros } from "../src/index.ts";

const mlp = () =>
  new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.5),
    new nn.Linear(256, 10),
  );

describe("nn.Module", () => {
  it("names parameters as PyTorch does, in PyTorch's order", () => {
    expect(mlp().namedParameters().map(([n]) => n)).toEqual([
      "1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias",
    ]);
    expect(Object.keys(mlp().stateDict())).toEqual(["1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias"]);
  });

  it("gives Linear a [out, in] weight and PyTorch's default init U(±1/√in)", () => {
    manualSeed(0);
    const l = new nn.Linear(784, 256);
    expect(l.weight.shape).toEqual([256, 784]);
    expect(l.bias!.shape).toEqual([256]);
    const bound = 1 / Math.sqrt(784);
    const w = l.weight.data();
    let sq = 0;
    for (const v of w) {
      expect(Math.abs(v)).toBeLessThanOrEqual(bound);
      sq += v * v;
    }
    // Var of U(−a, a) is a²/3.
    expect(sq / w.length).toBeCloseTo((bound * bound) / 3, 5);
    expect(Math.max(...l.bias!.data().map(Math.abs))).toBeLessThanOrEqual(bound);
  });

  it("switches every submodule with train() and eval(), which return the module", () => {
    const net = mlp();
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    expect(net.train().modules().every((m) => m.training)).toBe(true);
  });

  it("Dropout is active in training mode and the identity in eval mode", () => {
    manualSeed(1);
    const d = new nn.Dropout(0.5);
    const x = randn([1000]);
    const y = d.forward(x).data();
    expect(y.filter((v) => v === 0).length).toBeGreaterThan(400);
    d.eval();
    expect(Array.from(d.forward(x).data())).toEqual(Array.from(x.data()));
  });

  it("Dropout rejects p outside [0, 1] with PyTorch's message", () => {
    expect(() => new nn.Dropout(1.5)).toThrow("dropout probability has to be between 0 and 1, but got 1.5");
    expect(() => nn.functional.dropout(zeros([2]), -0.1, true)).toThrow("dropout probability has to be between 0 and 1, but got -0.1");
  });

  it("Flatten keeps the batch dim like view(N, -1)", () => {
    expect(new nn.Flatten().forward(zeros([5, 1, 28, 28])).shape).toEqual([5, 784]);
  });

  it("round-trips a state dict into a fresh model", () => {
    manualSeed(3);
    const a = mlp();
    const b = mlp();
    b.loadStateDict(a.stateDict());
    const x = randn([4, 1, 28, 28]);
    a.eval();
    b.eval();
    expect(Array.from(b.forward(x).data())).toEqual(Array.from(a.forward(x).data()));
  });

  it("loadStateDict names missing, unexpected and mis-shaped keys (strict), and skips them when not strict", () => {
    const net = new nn.Sequential(new nn.Linear(3, 2));
    expect(() => net.loadStateDict({ "0.weight": zeros([2, 3]) })).toThrow(/Missing key\(s\) in state_dict: "0.bias"/);
    expect(() => net.loadStateDict({ "0.weight": zeros([2, 3]), "0.bias": zeros([2]), extra: zeros([1]) })).toThrow(
      /Unexpected key\(s\) in state_dict: "extra"/,
    );
    expect(() => net.loadStateDict({ "0.weight": zeros([3, 3]), "0.bias": zeros([2]) })).toThrow(
      "size mismatch for 0.weight: copying a param with shape [3, 3] from checkpoint, the shape in current model is [2, 3].",
    );
    const r = net.loadStateDict({ "0.bias": tensor([1, 2]), extra: zeros([1]) }, { strict: false });
    expect(r).toEqual({ missingKeys: ["0.weight"], unexpectedKeys: ["extra"] });
    expect(Array.from((net.at(0) as nn.Linear).bias!.data())).toEqual([1, 2]);
  });

  it("Linear names the shapes when the input does not fit", () => {
    expect(() => new nn.Linear(4, 5).forward(zeros([2, 3]))).toThrow("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  });

  it("CrossEntropyLoss rejects labels out of range and float labels with clear messages", () => {
    const logits = zeros([2, 3]);
    expect(() => nn.functional.crossEntropy(logits, tensor([0, 3], { dtype: "int32" }))).toThrow(/Target 3 is out of bounds/);
    expect(() => nn.functional.crossEntropy(logits, tensor([0, -1], { dtype: "int32" }))).toThrow(/Target -1 is out of bounds/);
    expect(() => nn.functional.crossEntropy(logits, tensor([0, 1]))).toThrow(/expected int32 class indices/);
    expect(() => nn.functional.crossEntropy(logits, tensor([0, 1, 2], { dtype: "int32" }))).toThrow(
      "Expected input batch_size (2) to match target batch_size (3).",
    );
  });

  it("apply() visits every submodule, as d2l's net.apply(init_weights)", () => {
    const net = mlp();
    let linears = 0;
    net.apply((m) => {
      if (m instanceof nn.Linear) {
        linears++;
        nn.init.normal_(m.weight, 0, 0.01);
      }
    });
    expect(linears).toBe(3);
  });
});

describe("optim", () => {
  it("rejects invalid settings with PyTorch's messages", () => {
    const p = [zeros([2], { requiresGrad: true })];
    expect(() => new optim.SGD(p, { lr: -1 })).toThrow("Invalid learning rate: -1");
    expect(() => new optim.SGD(p, { lr: 0.1, momentum: -0.5 })).toThrow("Invalid momentum value: -0.5");
    expect(() => new optim.SGD(p, { lr: 0.1, weightDecay: -1 })).toThrow("Invalid weight_decay value: -1");
    expect(() => new optim.SGD(p, { lr: 0.1, nesterov: true })).toThrow("Nesterov momentum requires a momentum and zero dampening");
    expect(() => new optim.SGD(p, {})).toThrow(/lr is required/);
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow("optimizer got an empty parameter list");
    expect(() => new optim.SGD([{ params: p }, { params: p }], { lr: 0.1 })).toThrow(
      "some parameters appear in more than one parameter group",
    );
    expect(() => new optim.Adam(p, { betas: [1, 0.999] })).toThrow("Invalid beta parameter at index 0: 1");
    expect(() => new optim.Adam(p, { eps: -1 })).toThrow("Invalid epsilon value: -1");
  });

  it("SGD applies p −= lr·(g + wd·p) and zeroGrad fills zeros", () => {
    const w = tensor([1, -2], { requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.1, weightDecay: 0.5 });
    w.mul(tensor([3, 4])).sum().backward();
    opt.step();
    expect(Array.from(w.data())).toEqual([Math.fround(1 - 0.1 * (3 + 0.5)), Math.fround(-2 - 0.1 * (4 - 1))]);
    opt.zeroGrad();
    expect(Array.from(w.grad!.data())).toEqual([0, 0]);
  });

  it("in-place updates of a leaf that requires grad need noGrad", () => {
    const w = zeros([2], { requiresGrad: true });
    expect(() => w.sub_(1)).toThrow(/a leaf Variable that requires grad is being used in an in-place operation/);
    noGrad(() => w.sub_(1));
    expect(Array.from(w.data())).toEqual([-1, -1]);
  });
});

describe("nn.Sequential fuses a ReLU followed by a Dropout (F.reluDropout)", () => {
  const bits = (t: { data(): Float32Array | Int32Array | Uint8Array }) => Buffer.from(Float32Array.from(t.data()).buffer);
  const build = () => {
    manualSeed(3);
    return new nn.Sequential(
      new nn.Linear(20, 16), new nn.ReLU(), new nn.Dropout(0.4),
      new nn.Linear(16, 16), new nn.ReLU(), new nn.Dropout(0.5),
      new nn.Linear(16, 5),
    );
  };

  it("gives bitwise the output and gradients of its layers run one by one, drawing the same random numbers", () => {
    const fused = build();
    const plain = build();
    manualSeed(11);
    const x = randn([33, 20]);
    const runs = [
      (h: ReturnType<typeof randn>) => fused.forward(h),
      (h: ReturnType<typeof randn>) => {
        for (const m of plain) h = m.forward(h);
        return h;
      },
    ];
    const outs = runs.map((run) => {
      manualSeed(5);
      const y = run(x).keep();
      y.square().sum().backward();
      return { y, next: [...randn([8]).data()] };
    });
    expect(bits(outs[0]!.y).equals(bits(outs[1]!.y))).toBe(true);
    expect(outs[0]!.next).toEqual(outs[1]!.next);
    const pf = fused.parameters();
    const pp = plain.parameters();
    pf.forEach((p, i) => expect(bits(p.grad!).equals(bits(pp[i]!.grad!)), `grad of parameter ${i}`).toBe(true));
  });

  it("fuses only an active Dropout after a plain ReLU: not in eval mode, for p = 0, in anomaly mode or for a subclass's forward", () => {
    const x = randn([4, 6], { requiresGrad: true });
    const last = (net: nn.Sequential) => net.forward(x).gradFn?.name;
    expect(last(new nn.Sequential(new nn.ReLU(), new nn.Dropout(0.3)))).toBe("ReluDropout");
    const evalNet = new nn.Sequential(new nn.ReLU(), new nn.Dropout(0.3));
    evalNet.eval();
    expect(last(evalNet)).toBe("Relu");
    expect(last(new nn.Sequential(new nn.ReLU(), new nn.Dropout(0)))).toBe("Relu");
    expect(detectAnomaly(() => last(new nn.Sequential(new nn.ReLU(), new nn.Dropout(0.3))))).toBe("Dropout");
    class Leakyish extends nn.ReLU {
      override forward(t: ReturnType<typeof randn>) {
        return t.mul(2).relu();
      }
    }
    expect(last(new nn.Sequential(new Leakyish(), new nn.Dropout(0.3)))).toBe("Dropout");
    expect(last(new nn.Sequential(new nn.Dropout(0.3), new nn.ReLU()))).toBe("Relu");
  });
});

describe("nn.Sequential fuses a Linear followed by a ReLU (F.linearRelu: the GEMM applies the ReLU)", () => {
  const bits = (t: { data(): Float32Array | Int32Array | Uint8Array }) => Buffer.from(Float32Array.from(t.data()).buffer);
  const layerByLayer = (net: nn.Sequential, h: ReturnType<typeof randn>) => {
    for (const m of net) h = m.forward(h);
    return h;
  };

  it("gives bitwise the output and gradients of its layers run one by one (with and without bias, batched input)", () => {
    const build = () => {
      manualSeed(7);
      return new nn.Sequential(
        new nn.Linear(30, 24), new nn.ReLU(),
        new nn.Linear(24, 13, { bias: false }), new nn.ReLU(),
        new nn.Linear(13, 4),
      );
    };
    const fused = build();
    const plain = build();
    manualSeed(2);
    const x = randn([3, 17, 30], { requiresGrad: true });
    const run = (f: () => ReturnType<typeof randn>) => {
      x.grad = null;
      const y = f().keep();
      y.square().sum().backward();
      return { y, gx: x.grad!.keep() };
    };
    const a = run(() => fused.forward(x));
    const b = run(() => layerByLayer(plain, x));
    expect(a.y.gradFn?.name).toBe("Linear");
    expect(bits(a.y).equals(bits(b.y))).toBe(true);
    expect(bits(a.gx).equals(bits(b.gx))).toBe(true);
    const pf = fused.parameters();
    const pp = plain.parameters();
    pf.forEach((p, i) => expect(bits(p.grad!).equals(bits(pp[i]!.grad!)), `grad of parameter ${i}`).toBe(true));
  });

  it("evaluates the d2l MLP (eval mode, no grad) bitwise as its layers one by one", () => {
    manualSeed(1);
    const net = mlp();
    net.eval();
    const x = randn([37, 1, 28, 28]);
    const fused = noGrad(() => net.forward(x));
    const plain = noGrad(() => layerByLayer(net, x));
    expect(bits(fused).equals(bits(plain))).toBe(true);
  });

  it("prefers ReLU + Dropout in training, fuses Linear + ReLU in eval mode, and not for a subclass's forward or in anomaly mode", () => {
    const x = randn([4, 6], { requiresGrad: true });
    const linear = new nn.Linear(6, 5);
    const names = (y: ReturnType<typeof randn>) => {
      const out: string[] = [];
      for (let n = y.gradFn; n; n = n.inputs.find((t) => t.gradFn)?.gradFn ?? null) out.push(n.name);
      return out;
    };
    expect(names(new nn.Sequential(linear, new nn.ReLU()).forward(x))).toEqual(["LinearRelu"]);
    const withDropout = new nn.Sequential(linear, new nn.ReLU(), new nn.Dropout(0.3));
    expect(names(withDropout.forward(x))).toEqual(["ReluDropout", "Linear"]);
    withDropout.eval();
    expect(names(withDropout.forward(x))).toEqual(["LinearRelu"]);
    expect(names(new nn.Sequential(linear, new nn.ReLU(), new nn.Dropout(0)).forward(x))).toEqual(["LinearRelu"]);
    expect(detectAnomaly(() => names(new nn.Sequential(linear, new nn.ReLU()).forward(x)))).toEqual(["Relu", "Linear"]);
    class Scaled extends nn.Linear {
      override forward(t: ReturnType<typeof randn>) {
        return super.forward(t).mul(2);
      }
    }
    expect(names(new nn.Sequential(new Scaled(6, 5), new nn.ReLU()).forward(x))).toEqual(["Relu", "Mul", "Linear"]);
    expect(names(new nn.Sequential(new nn.ReLU(), linear).forward(x))).toEqual(["Linear", "Relu"]);
  });

  it("keeps only the output for backward, and a changed output is caught as PyTorch would", () => {
    const linear = new nn.Linear(6, 5);
    const y = nn.functional.linearRelu(randn([4, 6]), linear.weight, linear.bias);
    expect(y.gradFn?.name).toBe("LinearRelu");
    noGrad(() => y.mul_(2));
    expect(() => y.sum().backward()).toThrow(/modified by an inplace operation.*LinearRelu/);
  });

  it("rejects mismatched shapes with linear's message", () => {
    const linear = new nn.Linear(6, 5);
    expect(() => nn.functional.linearRelu(randn([4, 7]), linear.weight, linear.bias)).toThrow(
      "mat1 and mat2 shapes cannot be multiplied (4x7 and 6x5)",
    );
  });
});

describe("Linear adds its weight gradient into an existing .grad (the GEMM's beta = 1, no temporary)", () => {
  const step = (linear: nn.Linear, x: ReturnType<typeof randn>, dy: ReturnType<typeof randn>) =>
    linear.forward(x).backward(dy);

  it("gives bitwise the gradient of a first backward (no .grad yet) after zeroGrad, and sums two backwards", () => {
    manualSeed(3);
    const linear = new nn.Linear(37, 29);
    const x1 = randn([300, 37]), dy1 = randn([300, 29]);
    const x2 = randn([300, 37]), dy2 = randn([300, 29]);
    step(linear, x1, dy1);
    const first = linear.weight.grad!.data().slice();
    expect(first.some((v) => v !== 0)).toBe(true);
    linear.zeroGrad();
    step(linear, x1, dy1);
    expect(linear.weight.grad!.data()).toEqual(first);
    const version = linear.weight.grad!.storage.version;
    step(linear, x2, dy2);
    expect(linear.weight.grad!.storage.version).toBeGreaterThan(version);
    const expected = noGrad(() => tensor(first, { shape: [29, 37] }).add(dy2.t().matmul(x2))).data();
    expect(linear.weight.grad!.data()).toEqual(expected);
  });

  it("allocates no weight-sized temporary once the .grad exists", () => {
    const linear = new nn.Linear(512, 512, { bias: false });
    const x = randn([8, 512]), dy = randn([8, 512]);
    step(linear, x, dy);
    const allocator = getBackend().allocator;
    const alloc = vi.spyOn(allocator, "alloc");
    try {
      for (let i = 0; i < 3; i++) step(linear, x, dy);
      const largest = Math.max(...alloc.mock.calls.map(([bytes]) => bytes));
      expect(alloc.mock.calls.length).toBeGreaterThan(0);
      expect(largest).toBeLessThan(512 * 512 * 4);
    } finally {
      alloc.mockRestore();
    }
  });

  it("falls back to a temporary when the .grad shares memory with the input (the GEMM would read what it writes)", () => {
    manualSeed(4);
    // 600 rows: the GEMM's k runs in two blocks, the second reading x after the first wrote C.
    const linear = new nn.Linear(4, 600, { bias: false });
    const x = randn([600, 4]), dy = randn([600, 600]);
    const x0 = x.data().slice();
    linear.weight.grad = x;
    step(linear, x, dy);
    const x0t = tensor(x0, { shape: [600, 4] });
    const expected = noGrad(() => x0t.add(dy.t().matmul(x0t))).data();
    expect(linear.weight.grad!.data()).toEqual(expected);
  });

  it("checks the weight gradient for NaN in anomaly mode, as it does every returned gradient", () => {
    const linear = new nn.Linear(3, 2);
    step(linear, randn([4, 3]), randn([4, 2]));
    const x = tensor([[NaN, 0, 0]]);
    expect(() => detectAnomaly(() => linear.forward(x).sum().backward())).toThrow(/nan|NaN/);
  });
});

describe("zeroGrad owes the zeros: written when the gradient is next read, skipped when backward overwrites it", () => {
  it("leaves every gradient reading as zeros, with its version bumped (optimizer and module alike)", () => {
    manualSeed(5);
    const net = new nn.Sequential(new nn.Linear(6, 4), new nn.ReLU(), new nn.Linear(4, 3));
    net.forward(randn([5, 6])).sum().backward();
    const opt = new optim.SGD(net.parameters(), { lr: 0.1 });
    for (const zero of [() => opt.zeroGrad(), () => net.zeroGrad()]) {
      net.forward(randn([5, 6])).sum().backward();
      const versions = net.parameters().map((p) => p.grad!.storage.version);
      zero();
      net.parameters().forEach((p, i) => {
        expect(p.grad!.storage.version).toBeGreaterThan(versions[i]!);
        expect(Array.from(p.grad!.data())).toEqual(new Array(p.numel()).fill(0));
      });
    }
  });

  it("lets a Linear's backward write the weight's gradient with one GEMM (beta = 0) and no fill, bitwise the fresh gradient", () => {
    manualSeed(6);
    const linear = new nn.Linear(64, 32);
    const opt = new optim.SGD(linear.parameters(), { lr: 0.1 });
    // Kept: they are used again after a step that does not read them (the memory rule would give them back).
    const x = randn([16, 64]).keep(), dy = randn([16, 32]).keep();
    linear.forward(x).backward(dy);
    const fresh = linear.weight.grad!.data().slice();
    const freshBias = linear.bias!.grad!.data().slice();
    linear.forward(randn([16, 64])).backward(randn([16, 32])); // something to clear
    opt.zeroGrad();
    const kernels = getBackend().kernels;
    const fill = vi.spyOn(kernels, "f32_fill");
    const gemm = vi.spyOn(kernels, "f32_gemm");
    try {
      linear.forward(x).backward(dy);
      const weightGrad = linear.weight.grad!.storage.ptr;
      expect(fill.mock.calls.filter(([ptr]) => ptr === weightGrad)).toEqual([]);
      const into = gemm.mock.calls.filter((args) => args[10] === weightGrad);
      expect(into.map((args) => args[9])).toEqual([0]); // beta
    } finally {
      fill.mockRestore();
      gemm.mockRestore();
    }
    expect(linear.weight.grad!.data()).toEqual(fresh);
    expect(linear.bias!.grad!.data()).toEqual(freshBias);
  });

  it("lets a Linear's backward write the bias's gradient with one column-sum and no fill or add, bitwise the fresh gradient", () => {
    manualSeed(8);
    const linear = new nn.Linear(40, 24);
    const opt = new optim.SGD(linear.parameters(), { lr: 0.1 });
    const x = randn([16, 40]).keep(), dy = randn([16, 24]).keep();
    linear.forward(x).backward(dy);
    const fresh = linear.bias!.grad!.data().slice();
    opt.zeroGrad();
    const kernels = getBackend().kernels;
    const spies = [vi.spyOn(kernels, "f32_fill"), vi.spyOn(kernels, "f32_binary"), vi.spyOn(kernels, "f32_reduce")] as const;
    try {
      linear.forward(x).backward(dy);
      const biasGrad = linear.bias!.grad!.storage.ptr;
      expect(spies[0].mock.calls.filter(([ptr]) => ptr === biasGrad)).toEqual([]);
      expect(spies[1].mock.calls.filter((args) => args.slice(1, 4).includes(biasGrad))).toEqual([]);
      expect(spies[2].mock.calls.filter((args) => args[2] === biasGrad)).toHaveLength(1);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(linear.bias!.grad!.data()).toEqual(fresh);
    linear.forward(x).backward(dy); // no zeros owed now: added onto
    expect(Array.from(linear.bias!.grad!.data())).toEqual(Array.from(fresh, (v) => Math.fround(v + v)));
  });

  it("copies a gradient the engine accumulates into a cleared .grad (no fill and add), bitwise a fresh one", () => {
    manualSeed(9);
    const w = randn([6, 5]).requiresGrad_();
    const x = randn([5, 3]).keep();
    w.matmul(x).sum().backward();
    const fresh = w.grad!.data().slice();
    new optim.SGD([w], { lr: 0.1 }).zeroGrad();
    const fill = vi.spyOn(getBackend().kernels, "f32_fill");
    try {
      w.matmul(x).sum().backward();
      expect(fill.mock.calls.filter(([ptr]) => ptr === w.grad!.storage.ptr)).toEqual([]);
    } finally {
      fill.mockRestore();
    }
    expect(w.grad!.data()).toEqual(fresh);
  });

  it("keeps the zeros owed on the rest of the memory when the .grad is only part of it", () => {
    manualSeed(10);
    const linear = new nn.Linear(3, 2);
    const x = randn([4, 3]).keep(), dy = randn([4, 2]).keep();
    const weights = zeros([2, 2, 3]).fill_(7);
    const biases = zeros([2, 2]).fill_(7);
    // Two parameters whose .grad is all of that memory: their zeroGrad leaves zeros owed on it.
    const wholeW = zeros([2, 2, 3]).requiresGrad_();
    const wholeB = zeros([2, 2]).requiresGrad_();
    wholeW.grad = weights;
    wholeB.grad = biases;
    linear.weight.grad = weights.select(0, 1); // contiguous, the second half of that memory
    linear.bias!.grad = biases.select(0, 1);
    new optim.SGD([wholeW, wholeB], { lr: 0.1 }).zeroGrad();
    linear.forward(x).backward(dy);
    const ref = new nn.Linear(3, 2);
    noGrad(() => {
      ref.weight.copy_(linear.weight);
      ref.bias!.copy_(linear.bias!);
    });
    ref.forward(x).backward(dy);
    expect(Array.from(weights.data().slice(0, 6))).toEqual(new Array(6).fill(0));
    expect(Array.from(weights.data().slice(6))).toEqual(Array.from(ref.weight.grad!.data()));
    expect(Array.from(biases.data())).toEqual([0, 0, ...ref.bias!.grad!.data()]);
  });

  it("accumulates into a .grad the user assigned as a strided view, through the view", () => {
    manualSeed(11);
    const linear = new nn.Linear(3, 2);
    const x = randn([4, 3]).keep(), dy = randn([4, 2]).keep();
    const ref = new nn.Linear(3, 2);
    noGrad(() => {
      ref.weight.copy_(linear.weight);
      ref.bias!.copy_(linear.bias!);
    });
    ref.forward(x).backward(dy);
    const weightBase = zeros([3, 2]);
    const biasBase = zeros([2, 2]);
    linear.weight.grad = weightBase.t();
    linear.bias!.grad = biasBase.select(1, 0);
    linear.forward(x).backward(dy);
    expect(Array.from(weightBase.t().contiguous().data())).toEqual(Array.from(ref.weight.grad!.data()));
    expect(Array.from(biasBase.data())).toEqual([ref.bias!.grad!.data()[0], 0, ref.bias!.grad!.data()[1], 0]);
  });

  it("adds onto a gradient that was read (or written) after zeroGrad, as PyTorch does", () => {
    manualSeed(7);
    const linear = new nn.Linear(8, 5, { bias: false });
    const opt = new optim.SGD(linear.parameters(), { lr: 0.1 });
    const x = randn([4, 8]), dy = randn([4, 5]);
    linear.forward(x).backward(dy);
    const once = linear.weight.grad!.data().slice();
    opt.zeroGrad();
    noGrad(() => linear.weight.grad!.add_(1)); // the user writes into the cleared gradient
    linear.forward(x).backward(dy);
    const got = linear.weight.grad!.data();
    for (let i = 0; i < once.length; i++) expect(got[i]).toBe(Math.fround(once[i]! + 1));
  });
});
