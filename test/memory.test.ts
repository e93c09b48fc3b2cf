import { describe, expect, it, vi } from "vitest";
import { data, manualSeed, memoryStats, nn, noGrad, optim, randn, ReclaimedTensorError, tensor, zeros, type Tensor } from "../src/index.ts";
import { freshTrainingLoop } from "./helpers/patterned-fashion-mnist.ts";

function setup() {
  manualSeed(0);
  const X = randn([512, 20]);
  const y = tensor(Int32Array.from({ length: 512 }, (_, i) => i % 3), { dtype: "int32" });
  const loader = new data.DataLoader(new data.TensorDataset(X, y), { batchSize: 64, shuffle: true });
  const net = new nn.Sequential(new nn.Linear(20, 32), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(32, 3));
  const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  return { loader, net, opt, lossFn: new nn.CrossEntropyLoss() };
}

describe("memory without ceremony", () => {
  it("keeps memory flat over epochs of a PyTorch-style loop with no dispose", () => {
    const { loader, net, opt, lossFn } = setup();
    const marks: { highWater: number; liveTensors: number; liveBytes: number }[] = [];
    for (let epoch = 0; epoch < 12; epoch++) {
      for (const [X, y] of loader) {
        const logits = net.forward(X);
        const loss = lossFn.forward(logits, y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        // d2l reads the loss and the logits after the step.
        noGrad(() => logits.argmax(1).eq(y).sum().item());
        loss.item();
      }
      const s = memoryStats();
      marks.push({ highWater: s.highWater, liveTensors: s.liveTensors, liveBytes: s.liveBytes });
    }
    for (const m of marks.slice(2)) {
      expect(m.highWater).toBe(marks[1].highWater);
      expect(m.liveTensors).toBe(marks[1].liveTensors);
      expect(m.liveBytes).toBe(marks[1].liveBytes);
    }
  });

  it("keeps highWater flat when an evaluation pass runs between training rounds", async () => {
    // In a fresh copy of the library (the layout, and so the figure, is this loop's own): d2l's dropout MLP
    // on a synthetic Fashion-MNIST (uint8 images, as the real one), evaluated (one batch) between rounds.
    const { train, evaluate, memoryStats } = await freshTrainingLoop({ model: "mlp", seed: 1, trainItems: 1024, testItems: 256, batchSize: 256, lr: 0.5 });
    // The last eval batch is still alive during the next training step, so the
    // first step after an evaluation has the largest live set: from then on the
    // allocator must find room for everything in what it already holds.
    // Two warm-up rounds: the layout settles in the second.
    for (let round = 0; round < 2; round++) {
      await train();
      evaluate();
    }
    await train();
    const highWater = memoryStats().highWater;
    for (let round = 0; round < 4; round++) {
      evaluate();
      await train();
      expect({ round, highWater: memoryStats().highWater }).toEqual({ round, highWater });
    }
  });

  it("throws a clear error, naming keep(), when a tensor from steps ago is read", () => {
    const { loader, net, lossFn } = setup();
    const losses: Tensor[] = [];
    for (const [X, y] of loader) {
      const loss = lossFn.forward(net.forward(X), y);
      loss.backward();
      losses.push(loss);
    }
    expect(() => losses[0].item()).toThrow(ReclaimedTensorError);
    expect(() => losses[0].item()).toThrow(
      /the float32 tensor of shape \[\] made by CrossEntropy \(in a graph\) cannot be read: its memory was given back \(made by .* in step \d+, last used in step \d+, given back at the (backward\(\)|DataLoader batch) that ended step \d+\).*Fix: call \.keep\(\) on it where you make it/,
    );
    expect(losses[losses.length - 1].item()).toBeGreaterThan(0);
  });

  it("keeps a step's tensor alive with keep() or clone()", () => {
    const { loader, net, lossFn } = setup();
    let kept: Tensor | null = null;
    let cloned: Tensor | null = null;
    let value = 0;
    for (const [X, y] of loader) {
      const loss = lossFn.forward(net.forward(X), y);
      loss.backward();
      if (!kept) {
        value = loss.item();
        kept = loss.keep();
        cloned = loss.clone();
      }
    }
    expect(kept!.item()).toBe(value);
    expect(cloned!.item()).toBe(value);
  });

  it("throws on use after dispose()", () => {
    const t = randn([3]);
    t.dispose();
    expect(() => t.sum()).toThrow(/disposed/);
  });

  it("keeps a tensor made and left unused (set aside) until dispose(), then gives it back", () => {
    const { loader, net, opt, lossFn } = setup();
    const aside = randn([10]);
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const [X, y] of loader) {
        opt.zeroGrad();
        lossFn.forward(net.forward(X), y).backward();
        opt.step();
      }
    }
    expect(aside.data()).toHaveLength(10);
    const live = memoryStats().liveTensors;
    aside.dispose();
    expect(memoryStats().liveTensors).toBe(live - 1);
  });
});

describe("a script's data, made before its first step", () => {
  it("k-fold on a pre-made tensor: folds cut with cat, trained with backward each step, each evaluated on its held-out slice", async () => {
    // A fresh copy of the library, as a script starts: X is made before the first step ever.
    vi.resetModules();
    const { cat, manualSeed, nn, noGrad, optim, randn } = await import("../src/index.ts");
    manualSeed(10);
    const n = 120, d = 6, k = 3;
    const X = randn([n, d]);
    const y = X.matmul(randn([d, 1])).add(randn([n, 1]).mul(0.1));
    // d2l's get_k_fold_data: fold i is the validation set, the others are concatenated to train on.
    const getKFoldData = (i: number) => {
      const size = n / k;
      const others = [...Array(k).keys()].filter((j) => j !== i);
      return {
        Xtrain: cat(others.map((j) => X.narrow(0, j * size, size))),
        ytrain: cat(others.map((j) => y.narrow(0, j * size, size))),
        Xvalid: X.narrow(0, i * size, size),
        yvalid: y.narrow(0, i * size, size),
      };
    };
    const lossFn = new nn.MSELoss();
    const valid: number[] = [];
    for (let i = 0; i < k; i++) {
      const { Xtrain, ytrain, Xvalid, yvalid } = getKFoldData(i);
      const net = new nn.Linear(d, 1);
      const opt = new optim.SGD(net.parameters(), { lr: 0.05 });
      for (let epoch = 0; epoch < 60; epoch++) {
        const loss = lossFn.forward(net.forward(Xtrain), ytrain);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      }
      valid.push(noGrad(() => lossFn.forward(net.forward(Xvalid), yvalid).item()));
    }
    expect(valid).toHaveLength(k);
    for (const v of valid) expect(v).toBeLessThan(0.1);
  });

  it("the intermediates of a pre-loop expression are given back: standardising keeps the raw data and the result, not std()'s steps", async () => {
    vi.resetModules();
    const { manualSeed, memoryStats, nn, optim, randn } = await import("../src/index.ts");
    manualSeed(12);
    const before = memoryStats().liveBytes;
    const raw = randn([2000, 50]);
    const X = raw.sub(raw.mean(0)).div(raw.std(0));
    const y = X.sum(1, true);
    const net = new nn.Linear(50, 1);
    const opt = new optim.SGD(net.parameters(), { lr: 0.01 });
    const lossFn = new nn.MSELoss();
    for (let step = 0; step < 20; step++) {
      const loss = lossFn.forward(net.forward(X), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }
    const dataBytes = 2000 * 50 * 4;
    // raw and X, which the script named, and raw.sub(mean), which std() ran between making and reading.
    expect(memoryStats().liveBytes - before).toBeLessThan(3.5 * dataBytes);
    expect(raw.add(0).sub(X.mul(raw.std(0)).add(raw.mean(0))).abs().max().item()).toBeLessThan(1e-4);
  });

  it("a tensor made at top level in each iteration from the first step on is still given back", async () => {
    vi.resetModules();
    const { manualSeed, nn, optim, randn, tensor, ReclaimedTensorError } = await import("../src/index.ts");
    manualSeed(11);
    const net = new nn.Linear(4, 1);
    const opt = new optim.SGD(net.parameters(), { lr: 0.01 });
    const lossFn = new nn.MSELoss();
    const firsts: Tensor[] = [];
    for (let step = 0; step < 10; step++) {
      const x = randn([8, 4]);
      const target = tensor(Array.from({ length: 8 }, (_, i) => [i % 2]));
      const shifted = x.add(1);
      if (step === 0) firsts.push(x, target, shifted);
      const loss = lossFn.forward(net.forward(shifted), target);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }
    for (const t of firsts) expect(() => t.sum()).toThrow(ReclaimedTensorError);
  });
});

describe("gradients dropped with p.grad = null or zeroGrad({ setToNone: true })", () => {
  it("a loop that drops every gradient each step stays flat: backward's gradients are given back, not left to the garbage collector", () => {
    manualSeed(9);
    const net = new nn.Sequential(new nn.Linear(20, 32), new nn.ReLU(), new nn.Linear(32, 1));
    const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
    const lossFn = new nn.MSELoss();
    const X = randn([64, 20]);
    const y = X.sum(1, true);
    const live: number[] = [];
    for (let step = 0; step < 80; step++) {
      const loss = lossFn.forward(net.forward(X), y);
      if (step % 2 === 0) opt.zeroGrad({ setToNone: true });
      else for (const p of net.parameters()) p.grad = null;
      loss.backward();
      opt.step();
      if (step >= 20 && step % 10 === 0) live.push(memoryStats().liveTensors);
    }
    expect(new Set(live).size).toBe(1);
  });

  it("a dropped gradient read again in its step still reads; one the user assigned stays theirs", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    w.mul(3).sum().backward();
    const g = w.grad!;
    w.grad = null;
    expect(g.toArray()).toEqual([3, 3]);
    const mine = tensor([5, 6]);
    w.grad = mine;
    w.grad = null;
    for (let step = 0; step < 5; step++) w.mul(2).sum().backward();
    expect(w.grad!.toArray()).toEqual([10, 10]);
    expect(mine.toArray()).toEqual([5, 6]);
  });
});

describe("autograd errors", () => {
  it("refuses a second backward through a released graph", () => {
    const w = randn([3], { requiresGrad: true });
    const l = w.square().sum();
    l.backward();
    expect(() => l.backward()).toThrow(/Trying to backward through the graph a second time/);
  });

  it("allows a second backward with retainGraph and accumulates", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const l = w.square().sum();
    l.backward(undefined, { retainGraph: true });
    l.backward();
    expect(Array.from(w.grad!.data())).toEqual([4, 8]);
  });

  it("requires a gradient argument for a non-scalar output", () => {
    const w = randn([3], { requiresGrad: true });
    expect(() => w.mul(2).backward()).toThrow(/grad can be implicitly created only for scalar outputs/);
  });

  it("detects an in-place change of a tensor that backward needs", () => {
    const w = randn([3], { requiresGrad: true });
    const x = randn([3]);
    const l = w.mul(x).sum();
    x.mul_(2);
    expect(() => l.backward()).toThrow(/modified by an inplace operation/);
  });

  it("refuses backward on a tensor that does not require grad", () => {
    expect(() => randn([1]).backward()).toThrow(/does not require grad/);
  });

  it("records nothing under noGrad and detach()", () => {
    const w = randn([3], { requiresGrad: true });
    expect(noGrad(() => w.mul(2)).requiresGrad).toBe(false);
    expect(w.detach().requiresGrad).toBe(false);
  });
});

describe("what keeps working without keep()", () => {
  const FEATURES = 8;
  const labels = (n: number) => tensor(Int32Array.from({ length: n }, (_, i) => (i * 5) % 3));
  const model = () => new nn.Sequential(new nn.Linear(FEATURES, 16), new nn.ReLU(), new nn.Linear(16, 3));

  /** steps of the plain loop, the input made each step from the fixed features. */
  function train(net: nn.Module, steps: number, input: () => Tensor, y: Tensor): void {
    const opt = new optim.SGD(net.parameters(), { lr: 0.05 });
    const lossFn = new nn.CrossEntropyLoss();
    for (let i = 0; i < steps; i++) {
      const logits = net.forward(input());
      const loss = lossFn.forward(logits, y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      noGrad(() => logits.argmax(1).eq(y).sum().item());
    }
  }

  it("tensors made before the loop and used in it: standardised features, a mask, labels", () => {
    manualSeed(3);
    const raw = randn([64, FEATURES]).mul(3).add(1);
    const mean = raw.mean(0);
    const std = raw.sub(mean).square().mean(0).sqrt();
    const X = raw.sub(mean).div(std);
    const mask = tensor(Array.from({ length: FEATURES }, (_, i) => (i % 4 === 3 ? 0 : 1)));
    const y = labels(64);
    const net = model();
    train(net, 300, () => X.mul(mask), y);
    expect(X.mean().item()).toBeCloseTo(0, 5);
    expect(mask.sum().item()).toBe(6);
    expect(y.shape).toEqual([64]);
    expect(y.sum().item()).toBe(Array.from(y.data()).reduce((a, b) => a + b, 0));
  });

  it("labels made before a training loop that follows an evaluation loop (forwards paced the generations)", () => {
    manualSeed(4);
    const X = randn([32, FEATURES]);
    const y = labels(32);
    const net = model();
    const lossFn = new nn.CrossEntropyLoss();
    // An evaluation loop with no backward: the ends of its forwards become the boundaries.
    for (let i = 0; i < 20; i++) lossFn.forward(net.forward(X), y).item();
    const first = lossFn.forward(net.forward(X), y).item();
    let last = first;
    for (let step = 0; step < 30; step++) {
      const loss = lossFn.forward(net.forward(X), y);
      for (const p of net.parameters()) p.grad = null;
      loss.backward();
      noGrad(() => net.parameters().forEach((p) => p.sub_(p.grad!.mul(0.2))));
      last = loss.item();
    }
    expect(last).toBeLessThan(first);
    expect(y.sum().item()).toBe(Array.from(y.data()).reduce((a, b) => a + b, 0));
  });

  it("a fixed test set made before training and used only at the end, standardised or not", () => {
    manualSeed(4);
    const Xtrain = randn([64, FEATURES]);
    const mean = Xtrain.mean(0);
    const Xtest = randn([32, FEATURES]);
    const XtestCentred = Xtest.sub(mean);
    const ytest = labels(32);
    const Xraw = randn([32, FEATURES]);
    const net = model();
    train(net, 300, () => Xtrain, labels(64));
    const acc = noGrad(() => net.forward(XtestCentred).argmax(1).eq(ytest).float().mean().item());
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(noGrad(() => net.forward(Xraw)).shape).toEqual([32, 3]);
    // The trade-off: Xtest was read (to centre it) before training, and made after this file's earlier
    // tests had stepped (not before a script's first step), so it was a temporary, given back.
    expect(() => Xtest.sum()).toThrow(/the float32 tensor of shape \[32, 8\] made by randn cannot be read/);
  });

  it("a model built after another one trained, with data made in between", () => {
    manualSeed(5);
    const first = model();
    train(first, 200, () => randn([16, FEATURES]), labels(16));
    const X = randn([16, FEATURES]);
    const second = model();
    train(second, 200, () => X, labels(16));
    expect(noGrad(() => first.forward(X).sub(second.forward(X)).abs().sum().item())).toBeGreaterThan(0);
  });

  it("values returned from noGrad, read many steps later", () => {
    manualSeed(6);
    const net = model();
    const X = randn([16, FEATURES]);
    const y = labels(16);
    const before = noGrad(() => net.forward(X));
    const beforeAcc = noGrad(() => net.forward(X).argmax(1).eq(y).float().mean());
    train(net, 300, () => X, y);
    expect(before.shape).toEqual([16, 3]);
    expect(beforeAcc.item()).toBeGreaterThanOrEqual(0);
    expect(noGrad(() => net.forward(X).sub(before).abs().sum().item())).toBeGreaterThan(0);
  });

  it("a retained graph backpropagated once per loss: four losses on a shared trunk, as PyTorch allows", () => {
    manualSeed(7);
    const trunk = new nn.Sequential(new nn.Linear(FEATURES, 16), new nn.ReLU());
    const heads = [0, 1, 2, 3].map(() => new nn.Linear(16, 1));
    const X = randn([8, FEATURES]);
    const grads = () => trunk.parameters().map((p) => Array.from(p.grad!.data()));
    for (let step = 0; step < 50; step++) {
      trunk.zeroGrad();
      const h = trunk.forward(X);
      const losses = heads.map((head, i) => head.forward(h).sum().mul(i + 1));
      losses.forEach((l, i) => l.backward(undefined, { retainGraph: i < losses.length - 1 }));
    }
    const separately = grads();
    trunk.zeroGrad();
    const h = trunk.forward(X);
    heads.map((head, i) => head.forward(h).sum().mul(i + 1)).reduce((a, b) => a.add(b)).backward();
    const together = grads();
    separately.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(together[i][j], 4)));
  });

  it("reading a reclaimed value names the op, the shape, when it was given back and the fix; never stale data", () => {
    manualSeed(8);
    const net = model();
    const X = randn([16, FEATURES]);
    const doubled = noGrad(() => X.mul(2));
    expect(doubled.sum().item()).toBeCloseTo(X.sum().item() * 2, 4);
    train(net, 20, () => X, labels(16));
    expect(() => doubled.toArray()).toThrow(ReclaimedTensorError);
    expect(() => doubled.toArray()).toThrow(
      /the float32 tensor of shape \[16, 8\] made by mul cannot be read: its memory was given back \(made by mul in step \d+, last used in step \d+, given back at the .* that ended step \d+\)\. .*Fix: call \.keep\(\) on it where you make it \(or \.clone\(\) it\), or copy its values out with \.item\(\) \/ \.toArray\(\)\./,
    );
    const kept = noGrad(() => X.mul(2)).keep();
    kept.sum().item();
    train(net, 20, () => X, labels(16));
    expect(kept.toArray()).toEqual(doubled.storage.isAlive ? null : noGrad(() => X.mul(2)).toArray());
    expect(zeros(2).toArray()).toEqual([0, 0]);
  });
});
