import { describe, expect, it, vi } from "vitest";
import { data, manualSeed, memoryStats, nn, noGrad, optim, randn, ReclaimedTensorError, tensor, type Tensor } from "../src/index.ts";

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
    // A fresh copy of the library, so the heap starts empty whatever ran before
    // in this file: the layout, and so the figure, is this loop's own.
    vi.resetModules();
    const { data, manualSeed, memoryStats, nn, optim } = await import("../src/index.ts");
    const { buildMlp, evaluateAccuracy, trainEpoch } = await import("../src/experiments/dropout.ts");
    // d2l's dropout MLP on a synthetic Fashion-MNIST (uint8 images, as the real one), evaluated (one batch) between rounds.
    manualSeed(1);
    const images = (n: number) =>
      new data.FashionMnistDataset(
        Uint8Array.from({ length: n * 784 }, (_, i) => (i * 37) % 256),
        Int32Array.from({ length: n }, (_, i) => (i * 7) % 10),
      );
    const trainLoader = new data.DataLoader(images(1024), { batchSize: 256, shuffle: true });
    const testLoader = new data.DataLoader(images(256), { batchSize: 256 });
    const net = buildMlp();
    const opt = new optim.SGD(net.parameters(), { lr: 0.5 });
    const lossFn = new nn.CrossEntropyLoss();
    const train = () => trainEpoch(net, trainLoader, opt, lossFn, { maxBatches: 2 });
    // The last eval batch is still alive during the next training step, so the
    // first step after an evaluation has the largest live set: from then on the
    // allocator must find room for everything in what it already holds.
    await train();
    evaluateAccuracy(net, testLoader);
    await train();
    const highWater = memoryStats().highWater;
    for (let round = 0; round < 4; round++) {
      evaluateAccuracy(net, testLoader);
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
    expect(() => losses[0].item()).toThrow(/call \.keep\(\)/);
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

  it("gives back the memory of tensors the program drops (FinalizationRegistry backstop)", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return expect(typeof FinalizationRegistry).toBe("function");
    const before = memoryStats().liveTensors;
    for (let i = 0; i < 100; i++) randn([1000]);
    gc();
    await new Promise((r) => setTimeout(r, 50));
    expect(memoryStats().liveTensors).toBeLessThan(before + 100);
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
