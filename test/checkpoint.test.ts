// Checkpoint and resume: model + optimizer state + random generator in one
// safetensors file. A run that stops at a checkpoint and resumes in fresh
// objects ends with bitwise the parameters of the run that never stopped.

import { describe, expect, it } from "vitest";
import { data, getRngState, io, manualSeed, nn, optim, randn, tensor, type Tensor } from "../src/index.ts";

type MakeOptimizer = (groups: { params: Tensor[]; weightDecay?: number }[]) => optim.SGD | optim.Adam | optim.AdamW;

const OPTIMIZERS: [string, MakeOptimizer][] = [
  ["SGD with momentum, Nesterov and weight decay", (g) => new optim.SGD(g, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["Adam", (g) => new optim.Adam(g, { lr: 3e-3, weightDecay: 1e-4 })],
  ["AdamW with amsgrad", (g) => new optim.AdamW(g, { lr: 3e-3, amsgrad: true })],
];

const X = (() => {
  manualSeed(100);
  return randn([96, 12]);
})();
const y = tensor(Int32Array.from({ length: 96 }, (_, i) => (i * 5) % 3), { dtype: "int32" });

/** A model, an optimizer over two groups (weights; biases without weight decay) and a shuffled loader. */
function run(makeOptimizer: MakeOptimizer) {
  const model = new nn.Sequential(new nn.Linear(12, 16), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(16, 3));
  const weights = model.parameters().filter((p) => p.ndim === 2);
  const biases = model.parameters().filter((p) => p.ndim === 1);
  const optimizer = makeOptimizer([{ params: weights }, { params: biases, weightDecay: 0 }]);
  const loader = new data.DataLoader(new data.TensorDataset(X, y), { batchSize: 16, shuffle: true });
  const lossFn = new nn.CrossEntropyLoss();
  const epochs = (n: number) => {
    for (let e = 0; e < n; e++) {
      for (const [xb, yb] of loader) {
        const loss = lossFn.forward(model.forward(xb), yb);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      }
    }
  };
  return { model, optimizer, epochs };
}

const bits = (model: nn.Module) => model.parameters().map((p) => Array.from(new Uint32Array((p.data() as Float32Array).buffer)));

describe.each(OPTIMIZERS)("checkpoint and resume, %s", (_, makeOptimizer) => {
  it("resumes in fresh objects to bitwise the parameters of the uninterrupted run", () => {
    manualSeed(1);
    const first = run(makeOptimizer);
    first.epochs(2);
    const checkpoint = io.saveCheckpoint({ model: first.model, optimizer: first.optimizer });
    first.epochs(2);

    manualSeed(999); // a fresh start: other initial weights, another random stream position
    const resumed = run(makeOptimizer);
    io.loadCheckpoint(checkpoint, { model: resumed.model, optimizer: resumed.optimizer });
    resumed.epochs(2);

    expect(bits(resumed.model)).toEqual(bits(first.model));
  });

  it("does not reproduce the run from the weights alone (the optimizer state matters)", () => {
    manualSeed(1);
    const first = run(makeOptimizer);
    first.epochs(2);
    const checkpoint = io.saveCheckpoint({ model: first.model, optimizer: first.optimizer });
    first.epochs(2);

    const weightsOnly = run(makeOptimizer);
    io.loadCheckpoint(checkpoint, { model: weightsOnly.model });
    weightsOnly.epochs(2);

    expect(bits(weightsOnly.model)).not.toEqual(bits(first.model));
  });
});

describe("checkpoint contents", () => {
  it("stores prefixed tensors and JSON metadata in a plain safetensors file", () => {
    manualSeed(1);
    const { model, optimizer, epochs } = run(OPTIMIZERS[0][1]);
    epochs(1);
    const bytes = io.saveCheckpoint({ model, optimizer, metadata: { epoch: "1" } });
    const header = io.readSafetensorsHeader(bytes);
    expect(header.tensors.map((t) => t.name)).toEqual([
      "model.0.weight", "model.0.bias", "model.3.weight", "model.3.bias",
      "optim.state.0.momentumBuffer", "optim.state.1.momentumBuffer", "optim.state.2.momentumBuffer", "optim.state.3.momentumBuffer",
    ]);
    const meta = header.metadata!;
    expect(meta.format).toBe("wasmgrad-checkpoint/1");
    expect(meta["user.epoch"]).toBe("1");
    expect(JSON.parse(meta.rng)).toEqual(getRngState());
    expect(JSON.parse(meta.optimizer)).toEqual({
      kind: "SGD",
      paramGroups: [
        { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-3, nesterov: true, maximize: false, l1: 0, params: [0, 1] },
        { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: false, l1: 0, params: [2, 3] },
      ],
      state: {},
      paramNames: ["0.weight", "3.weight", "0.bias", "3.bias"],
    });
  });

  it("lists the layers as torch.nn constructs them (type, keyword arguments, children by name)", () => {
    const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 3, { bias: false }), new nn.ReLU(), new nn.Dropout(0.25));
    const layers = JSON.parse(io.readSafetensorsHeader(io.saveCheckpoint({ model })).metadata!.layers);
    expect(layers).toEqual({
      type: "Sequential",
      kwargs: {},
      children: [
        ["0", { type: "Flatten", kwargs: { start_dim: 1, end_dim: -1 } }],
        ["1", { type: "Linear", kwargs: { in_features: 4, out_features: 3, bias: false } }],
        ["2", { type: "ReLU", kwargs: {} }],
        ["3", { type: "Dropout", kwargs: { p: 0.25 } }],
      ],
    });
  });

  it("records no constructor arguments for a Module subclass of its own (PyTorch cannot build it from the file)", () => {
    class Scaled extends nn.Linear {}
    const layers = JSON.parse(io.readSafetensorsHeader(io.saveCheckpoint({ model: new nn.Sequential(new Scaled(2, 2)) })).metadata!.layers);
    expect(layers.children).toEqual([["0", { type: "Scaled" }]]);
  });

  it("still loads a checkpoint written before paramNames and layers were recorded", () => {
    const model = new nn.Sequential(new nn.Linear(3, 3));
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    model.forward(tensor([[1, 2, 3]])).sum().backward();
    optimizer.step();
    const bytes = io.saveCheckpoint({ model, optimizer });
    const meta = { ...io.readSafetensorsHeader(bytes).metadata! };
    const { paramNames: _names, ...older } = JSON.parse(meta.optimizer);
    meta.optimizer = JSON.stringify(older);
    delete meta.layers;
    const oldFile = io.saveSafetensors(Object.entries(io.loadSafetensors(bytes)), meta);
    const fresh = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    io.loadCheckpoint(oldFile, { model, optimizer: fresh });
    const momentum = (o: optim.SGD) => (o.stateDict().state[0]!.momentumBuffer as Tensor).toArray();
    expect(momentum(fresh)).toEqual(momentum(optimizer));
  });

  it("refuses optimizer state saved for parameters in another order, naming both", () => {
    const model = new nn.Sequential(new nn.Linear(3, 3), new nn.Linear(3, 3));
    const [w0, b0, w1, b1] = model.parameters();
    const saved = new optim.SGD([{ params: [w0!, w1!] }, { params: [b0!, b1!] }], { lr: 0.1, momentum: 0.9 });
    const bytes = io.saveCheckpoint({ model, optimizer: saved });
    const swapped = new optim.SGD([{ params: [w1!, w0!] }, { params: [b0!, b1!] }], { lr: 0.1, momentum: 0.9 });
    expect(() => io.loadCheckpoint(bytes, { model, optimizer: swapped })).toThrow(
      "optimizer parameter 0 is the model's '0.weight' in the checkpoint, but '1.weight' in the optimizer given",
    );
  });

  it("gives back the metadata strings it was saved with", () => {
    const model = new nn.Linear(2, 1);
    const bytes = io.saveCheckpoint({ model, metadata: { epoch: "7", note: "after warm-up" } });
    expect(io.loadCheckpoint(bytes, { model }).metadata).toEqual({ epoch: "7", note: "after warm-up" });
  });

  it("restores the random generator, so the next draws repeat", () => {
    const model = new nn.Linear(2, 1);
    manualSeed(4);
    randn([5]);
    const bytes = io.saveCheckpoint({ model });
    const next = Array.from(randn([5]).data());
    randn([50]);
    io.loadCheckpoint(bytes, { model });
    expect(Array.from(randn([5]).data())).toEqual(next);
  });
});

describe("optimizer state dicts (PyTorch's structure)", () => {
  it("keys SGD's momentum buffers by parameter index and lists each group's indices", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3], { requiresGrad: true });
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    a.grad = tensor([1, 1]);
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(["0"]);
    expect(Array.from((sd.state[0].momentumBuffer as Tensor).data())).toEqual([1, 1]);
    expect(sd.paramGroups.map((g) => [g.lr, g.params])).toEqual([[0.1, [0]], [0.5, [1]]]);
  });

  it("keeps Adam's step count and both moments (and the max with amsgrad)", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const opt = new optim.Adam([a], { amsgrad: true });
    a.grad = tensor([1, -1]);
    opt.step();
    opt.step();
    expect(Object.keys(opt.stateDict().state[0]).sort()).toEqual(["expAvg", "expAvgSq", "maxExpAvgSq", "step"]);
    expect(opt.stateDict().state[0].step).toBe(2);
  });

  it("loads copies, not the tensors it was given", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const source = new optim.SGD([tensor([0, 0], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    source.paramGroups[0].params[0].grad = tensor([1, 1]);
    source.step();
    const target = new optim.SGD([a], { lr: 0.2, momentum: 0.5 });
    target.loadStateDict(source.stateDict());
    expect(target.paramGroups[0].lr).toBe(0.1);
    const buffer = target.state.get(a)!.momentumBuffer as Tensor;
    expect(buffer).not.toBe(source.stateDict().state[0].momentumBuffer);
    expect(Array.from(buffer.data())).toEqual([1, 1]);
  });

  it("refuses a state dict with another number of groups, changing nothing", () => {
    const opt = new optim.SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
    const other = new optim.SGD([{ params: [tensor([1], { requiresGrad: true })] }, { params: [tensor([1], { requiresGrad: true })] }], { lr: 0.3 });
    expect(() => opt.loadStateDict(other.stateDict())).toThrow(
      "Error in loading state_dict for SGD: loaded state dict has a different number of parameter groups (2, this optimizer has 1)",
    );
    expect(opt.paramGroups[0].lr).toBe(0.1);
  });

  it("refuses a group of another size", () => {
    const opt = new optim.Adam([tensor([1], { requiresGrad: true })]);
    const other = new optim.Adam([tensor([1], { requiresGrad: true }), tensor([2], { requiresGrad: true })]);
    expect(() => opt.loadStateDict(other.stateDict())).toThrow(
      "loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group 0: 2 parameters, this optimizer's has 1)",
    );
  });

  it("refuses a state tensor of another shape than its parameter", () => {
    const small = new optim.SGD([tensor([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    small.paramGroups[0].params[0].grad = tensor([1]);
    small.step();
    const opt = new optim.SGD([tensor([1, 2], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    expect(() => opt.loadStateDict(small.stateDict())).toThrow(
      "Error in loading state_dict for SGD: state of parameter 0: momentumBuffer has shape [1], the parameter has shape [2]",
    );
    expect(opt.state.size).toBe(0);
  });

  it("refuses invalid hyperparameters in a loaded group", () => {
    const opt = new optim.SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
    const sd = opt.stateDict();
    sd.paramGroups[0].lr = -1;
    expect(() => opt.loadStateDict(sd)).toThrow("Error in loading state_dict for SGD: parameter group 0: Invalid learning rate: -1");
  });

  it("refuses Adam state without the max that amsgrad needs", () => {
    const p = tensor([1], { requiresGrad: true });
    const plain = new optim.Adam([p]);
    p.grad = tensor([1]);
    plain.step();
    const sd = plain.stateDict();
    sd.paramGroups[0].amsgrad = true;
    expect(() => new optim.Adam([tensor([1], { requiresGrad: true })]).loadStateDict(sd)).toThrow(
      "state of parameter 0 lacks maxExpAvgSq (amsgrad needs maxExpAvgSq)",
    );
  });
});

describe("loadCheckpoint refuses a checkpoint that does not fit, changing nothing", () => {
  function trained() {
    manualSeed(1);
    const r = run(OPTIMIZERS[0][1]);
    r.epochs(1);
    return r;
  }

  it("refuses a plain state dict file, pointing at loadSafetensors", () => {
    const model = new nn.Linear(2, 1);
    const plain = io.saveSafetensors(model.stateDict());
    expect(() => io.loadCheckpoint(plain, { model })).toThrow(
      'loadCheckpoint: not a wasmgrad checkpoint (its metadata has no format "wasmgrad-checkpoint/1"); for a plain state dict use model.loadStateDict(io.loadSafetensors(bytes))',
    );
  });

  it("refuses another optimizer's state", () => {
    const { model, optimizer } = trained();
    const bytes = io.saveCheckpoint({ model, optimizer });
    const fresh = run(OPTIMIZERS[1][1]);
    expect(() => io.loadCheckpoint(bytes, { model: fresh.model, optimizer: fresh.optimizer })).toThrow(
      "loadCheckpoint: the checkpoint holds SGD state, but the optimizer given is Adam",
    );
  });

  it("refuses to restore an optimizer from a checkpoint that has none", () => {
    const { model } = trained();
    const bytes = io.saveCheckpoint({ model });
    const fresh = run(OPTIMIZERS[0][1]);
    expect(() => io.loadCheckpoint(bytes, { model: fresh.model, optimizer: fresh.optimizer })).toThrow(
      "loadCheckpoint: the checkpoint holds no optimizer state, but an optimizer was given to restore",
    );
  });

  it("refuses a model of another shape, leaving the model, optimizer and generator as they were", () => {
    const { model, optimizer } = trained();
    const bytes = io.saveCheckpoint({ model, optimizer });
    const other = new nn.Sequential(new nn.Linear(12, 8), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(8, 3));
    const otherOptimizer = new optim.SGD(other.parameters(), { lr: 0.05, momentum: 0.9 });
    const before = bits(other);
    const rng = getRngState();
    expect(() => io.loadCheckpoint(bytes, { model: other, optimizer: otherOptimizer })).toThrow(
      "size mismatch for 0.weight: copying a param with shape [16, 12] from checkpoint, the shape in current model is [8, 12].",
    );
    expect(bits(other)).toEqual(before);
    expect(otherOptimizer.state.size).toBe(0);
    expect(getRngState()).toEqual(rng);
  });
});
