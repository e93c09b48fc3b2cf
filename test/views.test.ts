// Views share their base's storage: what they read, what writing through them
// does, the version checks that guard saved tensors, and the copies they avoid.

import { afterAll, describe, expect, it } from "vitest";
import { arange, data, detectAnomaly, memoryStats, noGrad, nn, ones, randn, setBackend, tensor, zeros } from "../src/index.ts";

for (const backend of ["wasm", "js"] as const) {
  describe(`views (${backend} backend)`, () => {
    afterAll(() => setBackend("wasm"));
    const setup = () => setBackend(backend);

    it("t(), transpose, permute, narrow, select, unsqueeze, squeeze and expand share the base's storage", () => {
      setup();
      const x = arange(24).float().view(2, 3, 4);
      const views = [x.view(6, 4).t(), x.transpose(0, 2), x.permute(2, 0, 1), x.narrow(2, 1, 2),
        x.select(1, 0), x.unsqueeze(0), x.unsqueeze(0).squeeze(), x.select(0, 0).select(0, 0).unsqueeze(0).expand(3, 4), x.T];
      for (const v of views) expect(v.storage).toBe(x.storage);
    });

    it("reads a transposed view as the transpose, with PyTorch's strides", () => {
      setup();
      const w = arange(6).float().view(2, 3);
      const wt = w.t();
      expect(wt.shape).toEqual([3, 2]);
      expect(wt.stride()).toEqual([1, 3]);
      expect(wt.isContiguous()).toBe(false);
      expect(wt.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
      expect(wt.contiguous().isContiguous()).toBe(true);
      expect(wt.contiguous().toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    });

    it("writes through w.t() change w, as in PyTorch", () => {
      setup();
      const w = arange(6).float().view(2, 3);
      noGrad(() => w.t().mul_(10));
      expect(w.toArray()).toEqual([[0, 10, 20], [30, 40, 50]]);
      w.t().select(0, 1).fill_(-1);
      expect(w.toArray()).toEqual([[0, -1, 20], [30, -1, 50]]);
    });

    it("fills a column through x.select(1, 0) and a block through narrow (x[:, 0] = 7, x[:, 1:3] += 1)", () => {
      setup();
      const x = zeros(3, 4);
      x.select(1, 0).fill_(7);
      x.narrow(1, 1, 2).add_(1);
      expect(x.toArray()).toEqual([[7, 1, 1, 0], [7, 1, 1, 0], [7, 1, 1, 0]]);
      x.narrow(0, 1, 1).copy_(tensor([[9, 9, 9, 9]]));
      expect(x.select(0, 1).toArray()).toEqual([9, 9, 9, 9]);
    });

    it("a write through a view bumps the version the base's saved tensors check in backward", () => {
      setup();
      const a = randn([3], { requiresGrad: true });
      const b = a.mul(2);
      const y = b.exp().sum(); // exp saves its output and its input b
      noGrad(() => b.narrow(0, 0, 1).fill_(0));
      expect(() => y.backward()).toThrow("modified by an inplace operation");
    });

    it("refuses to write into an expanded view, whose elements share memory", () => {
      setup();
      const x = zeros(1, 3).expand(2, 3);
      expect(() => x.fill_(1)).toThrow("more than one element of the written-to tensor refers to a single memory location");
    });

    it("view() of a transposed tensor fails as in PyTorch and reshape() copies", () => {
      setup();
      const x = arange(6).float().view(2, 3).t();
      expect(() => x.view(6)).toThrow("Use .reshape(...) instead");
      const r = x.reshape(6);
      expect(r.storage).not.toBe(x.storage);
      expect(r.toArray()).toEqual([0, 3, 1, 4, 2, 5]);
      expect(x.view(3, 1, 2).storage).toBe(x.storage);
    });

    it("views of a row (narrow or select on dim 0) are contiguous, with an offset", () => {
      setup();
      const x = arange(12).float().view(3, 4);
      const row = x.select(0, 1);
      expect(row.isContiguous()).toBe(true);
      expect(row.offset).toBe(4);
      expect(row.exp().log().toArray()).toEqual([4, 5, 6, 7].map((v) => Math.fround(Math.log(Math.fround(Math.exp(v))))));
      expect(x.narrow(0, 1, 2).view(-1).toArray()).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it("A.matmul(B.t()) and A.t().matmul(B) allocate only their result (the GEMM reads the view in place)", () => {
      setup();
      const A = randn([5, 3]);
      const B = randn([4, 3]);
      const C = randn([5, 4]);
      noGrad(() => {
        const before = memoryStats().liveTensors;
        const y = A.matmul(B.t());
        const z = A.t().matmul(C);
        expect(memoryStats().liveTensors).toBe(before + 2);
        expect(y.toArray()).toEqual(A.matmul(B.t().contiguous()).toArray());
        expect(z.toArray()).toEqual(A.t().contiguous().matmul(C).toArray());
      });
    });

    it("ops that copy a strided view to read it densely free the copy at once, leaving only their result", () => {
      setup();
      const x = randn([4, 3]);
      const m = x.gt(0);
      const rows = tensor([1], { dtype: "int32" });
      const y = randn([2, 4]);
      const picks = tensor([[0, 1, 2, 0]], { dtype: "int32" });
      noGrad(() => {
        const ops = [() => x.t().exp(), () => x.t().add(1), () => x.t().mul(x.t()), () => x.t().sum(0), () => x.t().max(),
          () => x.t().argmax(1), () => x.t().indexSelect(0, rows), () => x.t().maskedFill(m.t(), 0),
          () => x.t().maskedSelect(m.t()), () => x.t().gather(0, picks),
          () => x.narrow(1, 0, 2).matmul(x.t().narrow(0, 0, 2)), () => x.t().matmul(y.t())];
        for (const op of ops) {
          const before = memoryStats().liveTensors;
          const y = op();
          expect(memoryStats().liveTensors, String(op)).toBe(before + 1);
          y.dispose();
        }
        const before = memoryStats().liveTensors;
        x.t().data();
        expect(memoryStats().liveTensors).toBe(before);
      });
    });

    it("linear reads a transposed weight view in place, bitwise as its contiguous copy", () => {
      setup();
      const x = randn([4, 3]);
      const w = randn([3, 5]);
      noGrad(() => {
        const before = memoryStats().liveTensors;
        const y = nn.functional.linear(x, w.t());
        expect(memoryStats().liveTensors).toBe(before + 1);
        expect(y.toArray()).toEqual(nn.functional.linear(x, w.t().contiguous()).toArray());
      });
    });

    it("split and chunk return views covering the dim, the last one smaller", () => {
      setup();
      const x = arange(10).float().view(2, 5);
      expect(x.split(2, 1).map((p) => p.shape)).toEqual([[2, 2], [2, 2], [2, 1]]);
      expect(x.split([1, 4], 1).map((p) => p.shape)).toEqual([[2, 1], [2, 4]]);
      expect(x.chunk(2, 1).map((p) => p.shape)).toEqual([[2, 3], [2, 2]]);
      expect(x.chunk(3, 1)[2].toArray()).toEqual([[4], [9]]);
      expect(() => x.split([1, 2], 1)).toThrow("split_with_sizes expects split_sizes to sum exactly to 5");
    });

    it("gives PyTorch's errors for out-of-range narrow, select and expand", () => {
      setup();
      const x = zeros(2, 3);
      expect(() => x.narrow(1, 2, 2)).toThrow("start (2) + length (2) exceeds dimension size (3).");
      expect(() => x.select(0, 2)).toThrow("index 2 out of range");
      expect(() => x.expand(2, 4)).toThrow("The expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 1");
      expect(() => x.permute(0, 0)).toThrow("are not a permutation");
    });

    it("data(), clone() and a DataLoader's TensorDataset read a view's own elements", () => {
      setup();
      const x = arange(6).float().view(2, 3);
      expect(Array.from(x.t().data())).toEqual([0, 3, 1, 4, 2, 5]);
      const c = x.t().clone();
      expect(c.isContiguous()).toBe(true);
      expect(c.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
      const ds = new data.TensorDataset(x.t(), arange(3));
      expect(ds.get(1)[0].toArray()).toEqual([1, 4]);
    });

    it("sin, clamp, leakyRelu, softmax, min, argmin and oneHot read a transposed view as its values, gradients included", () => {
      setup();
      const base = () => tensor([[1, -2, 3], [4, 5, -6]]);
      const ops: [string, (t: ReturnType<typeof tensor>) => ReturnType<typeof tensor>][] = [
        ["sin", (t) => t.sin()], ["clamp", (t) => t.clamp(0, 2)], ["leakyRelu", (t) => nn.functional.leakyRelu(t)],
        ["softmax", (t) => t.softmax(1)], ["logSoftmax", (t) => t.logSoftmax(0)], ["min", (t) => t.min()],
        ["min(dim)", (t) => t.min(1).values],
      ];
      for (const [name, op] of ops) {
        const view = base().requiresGrad_();
        const copy = base().t().contiguous().requiresGrad_();
        const fromView = op(view.t());
        const fromCopy = op(copy);
        expect(fromView.toArray(), name).toEqual(fromCopy.toArray());
        fromView.sum().backward();
        fromCopy.sum().backward();
        expect(view.grad!.t().toArray(), name).toEqual(copy.grad!.toArray());
      }
      expect(base().t().argmin(1).toArray()).toEqual([0, 0, 1]);
      expect(nn.functional.oneHot(arange(6).view(2, 3).t(), 6).argmax(2).toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    });

    it("anomaly mode names the op, and its input as the carrier, when a NaN comes in through a transposed view", () => {
      setup();
      const x = tensor([[NaN, 1], [2, 3]]);
      const carrier = "(its input 0 already held NaN: it came from before this op, e.g. from the data)";
      expect(() => detectAnomaly(() => noGrad(() => x.t().add(ones(2, 2))))).toThrow(`anomaly: Add produced NaN in its output of shape [2, 2] ${carrier}`);
      expect(() => detectAnomaly(() => noGrad(() => x.t().sin()))).toThrow(`anomaly: Sin produced NaN in its output of shape [2, 2] ${carrier}`);
    });

    it("clamp_ through a transposed view writes the base's elements", () => {
      setup();
      const base = tensor([[1, -2, 3], [4, 5, -6]]);
      base.t().clamp_(0, 2);
      expect(base.toArray()).toEqual([[1, 0, 2], [2, 2, 0]]);
    });
  });
}
