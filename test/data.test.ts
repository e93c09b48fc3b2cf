// TensorDataset, DataLoader and syntheticRegression: batching, seeded
// shuffling, the step-scoped lifetime of batches, and d2l's synthetic data.

import { afterEach, describe, expect, it, vi } from "vitest";
import { setBackend, setNumThreads } from "../src/backend/index.ts";
import { DataLoader, syntheticRegression, TensorDataset, type Dataset } from "../src/data/index.ts";
import { manualSeed } from "../src/random.ts";
import { ReclaimedTensorError } from "../src/storage.ts";
import type { Tensor } from "../src/tensor.ts";
import { arange, tensor } from "../src/tensor-creation.ts";

/** X [n, 2] with row i = [10·i, 10·i + 1] and y [n] = i, so every batch says which rows it holds. */
function rowsDataset(n: number): TensorDataset {
  const values = new Float32Array(n * 2).map((_, k) => 10 * (k >> 1) + (k & 1));
  return new TensorDataset(tensor(values, { shape: [n, 2] }), arange(n));
}

function labelsOf(batches: Iterable<Tensor[]>): number[][] {
  return Array.from(batches, ([, yb]) => Array.from(yb!.data()));
}

function epochOrder(loader: DataLoader): number[] {
  return labelsOf(loader).flat();
}

describe("TensorDataset", () => {
  it("has the first dimension as length and gives row i of each tensor", () => {
    const ds = rowsDataset(5);
    expect(ds.length).toBe(5);
    const [x, y] = ds.get(3);
    expect(x!.shape).toEqual([2]);
    expect(Array.from(x!.data())).toEqual([30, 31]);
    expect(y!.shape).toEqual([]);
    expect(y!.dtype).toBe("int32");
    expect(y!.item()).toBe(3);
  });

  it("rejects tensors whose first dimensions differ", () => {
    expect(() => new TensorDataset(arange(5), arange(4))).toThrow(/Size mismatch between tensors/);
  });

  it("rejects indices outside [0, length)", () => {
    const ds = rowsDataset(5);
    expect(() => ds.get(5)).toThrow(RangeError);
    expect(() => ds.get(-1)).toThrow(/out of range/);
  });

  it("gives a shuffled batch's rows of float32, int32 and bool tensors bit for bit, on the Wasm backend at 1 and 2 threads and on the JS backend alike", () => {
    const n = 600;
    const indices = Int32Array.from({ length: 256 }, (_, k) => (k * 7919 + 13) % n);
    const results: number[][][] = [];
    for (const [backend, threads] of [["wasm", 1], ["wasm", 2], ["js", 1]] as const) {
      setBackend(backend);
      setNumThreads(threads);
      try {
        const x = tensor(Float32Array.from({ length: n * 784 }, (_, k) => k * 0.5 - 7), { shape: [n, 784] });
        const ds = new TensorDataset(x, arange(n), tensor(Float32Array.from({ length: n * 3 }, (_, k) => k % 3), { shape: [n, 3] }).ge(1));
        const batch = ds.getBatch(indices);
        expect(batch.map((t) => t.dtype)).toEqual(["float32", "int32", "bool"]);
        expect(batch[1]!.data()).toEqual(indices);
        const xb = batch[0]!.data();
        expect(Array.from(indices).every((i, r) => xb[r * 784] === i * 784 * 0.5 - 7 && xb[r * 784 + 783] === (i * 784 + 783) * 0.5 - 7)).toBe(true);
        expect(Array.from(batch[2]!.data())).toEqual(Array.from(indices).flatMap(() => [0, 1, 1]));
        results.push(batch.map((t) => Array.from(t.data())));
      } finally {
        setNumThreads(1);
        setBackend("wasm");
      }
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("rejects a batch with an index outside [0, length), naming it, before gathering anything", () => {
    const ds = rowsDataset(5);
    expect(() => ds.getBatch(Int32Array.of(4, 0, 2, 5))).toThrow(new RangeError("index 5 is out of range for a dataset of 5 items"));
    expect(() => ds.getBatch(Int32Array.of(3, 1, -2))).toThrow(new RangeError("index -2 is out of range for a dataset of 5 items"));
  });

  it("keeps its tensors out of step scope, since every epoch reads them again", () => {
    const ds = rowsDataset(4);
    expect(ds.tensors.every((t) => !t.storage.isStepScoped)).toBe(true);
  });
});

describe("DataLoader batching", () => {
  it("yields ceil(n / batchSize) batches, the last one short", () => {
    const loader = new DataLoader(rowsDataset(10), { batchSize: 3 });
    expect(loader.length).toBe(4);
    expect(labelsOf(loader).map((b) => b.length)).toEqual([3, 3, 3, 1]);
  });

  it("drops the short last batch with dropLast", () => {
    const loader = new DataLoader(rowsDataset(10), { batchSize: 3, dropLast: true });
    expect(loader.length).toBe(3);
    expect(labelsOf(loader).map((b) => b.length)).toEqual([3, 3, 3]);
  });

  it("keeps the dataset's order without shuffle", () => {
    expect(epochOrder(new DataLoader(rowsDataset(10), { batchSize: 4 }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("fills each batch with the rows of the items it names", () => {
    manualSeed(3);
    for (const [xb, yb] of new DataLoader(rowsDataset(12), { batchSize: 5, shuffle: true })) {
      const labels = Array.from(yb!.data());
      expect(xb!.shape).toEqual([labels.length, 2]);
      expect(Array.from(xb!.data())).toEqual(labels.flatMap((i) => [10 * i, 10 * i + 1]));
    }
  });

  it("copies an unshuffled batch with one memcpy per tensor", () => {
    const loader = new DataLoader(rowsDataset(12), { batchSize: 6 });
    const copies = vi.spyOn(Uint8Array.prototype, "copyWithin");
    try {
      for (const batch of loader) void batch;
      expect(copies).toHaveBeenCalledTimes(2 * 2);
    } finally {
      copies.mockRestore();
    }
  });

  it("batches a dataset without getBatch by stacking its items", () => {
    const squares: Dataset<[Tensor]> = { length: 7, get: (i) => [tensor([i, i * i])] };
    const batches = Array.from(new DataLoader(squares, { batchSize: 4 }), ([b]) => b.toArray());
    expect(batches).toEqual([
      [[0, 0], [1, 1], [2, 4], [3, 9]],
      [[4, 16], [5, 25], [6, 36]],
    ]);
  });

  it("rejects a batchSize that is not a positive integer", () => {
    expect(() => new DataLoader(rowsDataset(3), { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new DataLoader(rowsDataset(3), { batchSize: 1.5 })).toThrow(/batchSize/);
  });
});

describe("DataLoader shuffling", () => {
  afterEach(() => setBackend("wasm"));

  it("yields every item exactly once per epoch, in a new order each epoch", () => {
    manualSeed(0);
    const loader = new DataLoader(rowsDataset(50), { batchSize: 8, shuffle: true });
    const first = epochOrder(loader);
    const second = epochOrder(loader);
    const identity = Array.from({ length: 50 }, (_, i) => i);
    expect([...first].sort((a, b) => a - b)).toEqual(identity);
    expect([...second].sort((a, b) => a - b)).toEqual(identity);
    expect(first).not.toEqual(identity);
    expect(second).not.toEqual(first);
  });

  it("gives the same order for the same seed and another for another seed", () => {
    const loader = new DataLoader(rowsDataset(30), { batchSize: 7, shuffle: true });
    manualSeed(42);
    const a = epochOrder(loader);
    manualSeed(42);
    const b = epochOrder(loader);
    manualSeed(43);
    const c = epochOrder(loader);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("gives the same order on the wasm and js backends", () => {
    const loader = new DataLoader(rowsDataset(30), { batchSize: 7, shuffle: true });
    manualSeed(5);
    const onWasm = epochOrder(loader);
    setBackend("js");
    manualSeed(5);
    expect(epochOrder(loader)).toEqual(onWasm);
  });
});

describe("DataLoader as a step boundary", () => {
  it("yields step-scoped batches, given back at the end of the batch after their last use", () => {
    const seen: Tensor[][] = [];
    for (const batch of new DataLoader(rowsDataset(10), { batchSize: 2 })) {
      expect(batch.every((t) => t.storage.isStepScoped)).toBe(true);
      seen.push(batch);
      const step = seen.length - 1;
      // The previous step's tensors are still readable (d2l reads the loss after opt.step()); reading renews them.
      if (step >= 1) expect(Array.from(seen[step - 1]![1]!.data())).toEqual([2 * step - 2, 2 * step - 1]);
      // Never read after its own batch: gone two batches later. Last read one batch later: gone three later.
      if (step >= 2) expect(() => seen[step - 2]![0]!.data()).toThrow(ReclaimedTensorError);
      if (step >= 3) expect(() => seen[step - 3]![1]!.data()).toThrow(ReclaimedTensorError);
    }
    expect(seen.length).toBe(5);
  });

  it("does not reclaim the dataset's own tensors", () => {
    const ds = rowsDataset(6);
    for (const batch of new DataLoader(ds, { batchSize: 1 })) void batch;
    expect(Array.from(ds.tensors[1]!.data())).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("syntheticRegression", () => {
  const trueW = [2, -3.4];
  const trueB = 4.2;

  it("makes X of shape [n, k] and y of shape [n, 1] for w of shape [k] or [k, 1]", () => {
    manualSeed(0);
    const [X, y] = syntheticRegression(tensor(trueW), trueB, 100);
    expect(X.shape).toEqual([100, 2]);
    expect(y.shape).toEqual([100, 1]);
    const [X2, y2] = syntheticRegression(tensor([[2], [-3.4]]), trueB, 10);
    expect(X2.shape).toEqual([10, 2]);
    expect(y2.shape).toEqual([10, 1]);
    expect(() => syntheticRegression(tensor([[2, -3.4]]), trueB, 10)).toThrow(/\[k\] or \[k, 1\]/);
  });

  it("gives y = Xw + b up to N(0, 0.01²) noise", () => {
    manualSeed(1);
    const n = 2000;
    const [X, y] = syntheticRegression(tensor(trueW), trueB, n);
    const x = X.data();
    const target = y.data();
    const residuals = Array.from({ length: n }, (_, i) => target[i]! - (x[2 * i]! * trueW[0]! + x[2 * i + 1]! * trueW[1]! + trueB));
    const mean = residuals.reduce((s, r) => s + r, 0) / n;
    const std = Math.sqrt(residuals.reduce((s, r) => s + (r - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeGreaterThan(0.009);
    expect(std).toBeLessThan(0.011);
    // X itself is standard normal, not scaled like the noise.
    const xStd = Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);
    expect(xStd).toBeGreaterThan(0.9);
    expect(xStd).toBeLessThan(1.1);
  });

  it("draws the same data for the same seed", () => {
    manualSeed(9);
    const [Xa, ya] = syntheticRegression(tensor(trueW), trueB, 50);
    manualSeed(9);
    const [Xb, yb] = syntheticRegression(tensor(trueW), trueB, 50);
    expect(Xb.data()).toEqual(Xa.data());
    expect(yb.data()).toEqual(ya.data());
  });
});
