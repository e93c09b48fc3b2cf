// The indexing kernels (assembly/indexing.ts) against their JS twins, bit for
// bit; the bool dtype that comparisons return; and the indexing and joining
// ops' results and PyTorch-style errors through the public API.

import { afterAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { arange, cat, noGrad, randn, setBackend, stack, tensor, where, zeros } from "../src/index.ts";
import { getI32, makeBackends, put, putMeta, randomF32, rng, scratch } from "./helpers/backends.ts";

const { wasm, js } = makeBackends();

/** Runs one kernel call on both backends and returns the named outputs of each, as raw bits. */
function onBoth(run: (be: Backend) => { out: number; n: number; ret?: number }): { wasm: Int32Array; js: Int32Array; rets: (number | undefined)[] } {
  const w = run(wasm);
  const j = run(js);
  return { wasm: getI32(wasm, w.out, w.n), js: getI32(js, j.out, j.n), rets: [w.ret, j.ret] };
}

function indices(n: number, size: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * size));
}

function maskOf(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
}

describe("indexing kernels: Wasm equals the JS oracle bit for bit", () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [2, 5, 3], [3, 7, 1], [1, 17, 9], [4, 3, 65]];

  it("f32_copy_strided writes a transposed, narrowed view into another strided block", () => {
    for (const [a, b] of [[3, 5], [17, 4], [1, 9], [64, 65]]) {
      const src = randomF32(a * b, a + b);
      const res = onBoth((be) => {
        const s = put(be, src);
        const d = scratch(be, a * b * 2);
        // src read transposed ([b, a], strides [1, b]) into every other column of a [b, 2a] block.
        be.kernels.f32_copy_strided(s, d, 2, putMeta(be, [b, a, 1, b, 2 * a, 2]));
        return { out: d, n: a * b * 2 };
      });
      expect(res.wasm).toEqual(res.js);
    }
  });

  it("f32_copy_strided moves int32 values whose bits are NaN patterns unchanged", () => {
    const src = Int32Array.of(-1, 0x7fa00001, -8388607, 5);
    const res = onBoth((be) => {
      const s = put(be, src);
      const d = scratch(be, 4);
      be.kernels.f32_copy_strided(s, d, 1, putMeta(be, [4, 1, 1]));
      return { out: d, n: 4 };
    });
    expect(Array.from(res.wasm)).toEqual(Array.from(src));
    expect(Array.from(res.js)).toEqual(Array.from(src));
  });

  it("index_select, index_add, gather and scatter_add agree over [outer, size, inner] shapes", () => {
    shapes.forEach(([outer, size, inner], si) => {
      const x = randomF32(outer * size * inner, si);
      const nidx = 2 * size + 1;
      const idx = indices(nidx, size, 100 + si);
      const sel = onBoth((be) => {
        const out = scratch(be, outer * nidx * inner);
        be.kernels.f32_index_select(put(be, x), put(be, idx), out, outer, size, inner, nidx);
        return { out, n: outer * nidx * inner };
      });
      expect(sel.wasm).toEqual(sel.js);
      const dy = randomF32(outer * nidx * inner, 200 + si);
      const add = onBoth((be) => {
        const dx = put(be, new Float32Array(outer * size * inner));
        be.kernels.f32_index_add(put(be, dy), put(be, idx), dx, outer, size, inner, nidx);
        return { out: dx, n: outer * size * inner };
      });
      expect(add.wasm).toEqual(add.js);
      const isize = size + 2;
      const gidx = indices(outer * isize * inner, size, 300 + si);
      const g = onBoth((be) => {
        const out = scratch(be, gidx.length);
        be.kernels.f32_gather(put(be, x), put(be, gidx), out, outer, size, inner, isize);
        return { out, n: gidx.length };
      });
      expect(g.wasm).toEqual(g.js);
      const gdy = randomF32(gidx.length, 400 + si);
      const sc = onBoth((be) => {
        const dx = put(be, new Float32Array(outer * size * inner));
        be.kernels.f32_scatter_add(put(be, gdy), put(be, gidx), dx, outer, size, inner, isize);
        return { out: dx, n: outer * size * inner };
      });
      expect(sc.wasm).toEqual(sc.js);
    });
  });

  it("where, masked_fill, count_nonzero, masked_select, masked_scatter and f32_to_i32 agree", () => {
    for (const n of [1, 3, 4, 17, 65, 257]) {
      const a = randomF32(n, n, -100, 100);
      const b = randomF32(n, n + 1);
      const m = maskOf(n, n + 2);
      const w = onBoth((be) => {
        const out = scratch(be, n);
        be.kernels.f32_where(put(be, m), put(be, a), put(be, b), out, n);
        return { out, n };
      });
      expect(w.wasm).toEqual(w.js);
      const f = onBoth((be) => {
        const out = scratch(be, n);
        be.kernels.f32_masked_fill(put(be, a), put(be, m), out, n, -0.5);
        return { out, n };
      });
      expect(f.wasm).toEqual(f.js);
      const count = m.reduce((s, v) => s + v, 0);
      const s = onBoth((be) => {
        const out = scratch(be, n);
        const ret = be.kernels.f32_masked_select(put(be, a), put(be, m), out, n);
        expect(be.kernels.f32_count_nonzero(put(be, m), n)).toBe(count);
        return { out, n: count, ret };
      });
      expect(s.wasm).toEqual(s.js);
      expect(s.rets).toEqual([count, count]);
      const sc = onBoth((be) => {
        const out = scratch(be, n);
        be.kernels.f32_masked_scatter(put(be, b), put(be, m), out, n);
        return { out, n };
      });
      expect(sc.wasm).toEqual(sc.js);
      const t = onBoth((be) => {
        const out = scratch(be, n);
        be.kernels.f32_to_i32(put(be, a), out, n);
        return { out, n };
      });
      expect(t.wasm).toEqual(t.js);
    }
  });

  it("i32_check_range finds the first index outside [0, size)", () => {
    for (const be of [wasm, js]) {
      const p = put(be, Int32Array.of(0, 2, 3, -1, 9));
      expect(be.kernels.i32_check_range(p, 5, 10)).toBe(3);
      expect(be.kernels.i32_check_range(p, 5, 3)).toBe(2);
      expect(be.kernels.i32_check_range(p, 3, 4)).toBe(-1);
    }
  });
});

for (const backend of ["wasm", "js"] as const) {
  describe(`the bool dtype (${backend} backend)`, () => {
    afterAll(() => setBackend("wasm"));
    const setup = () => setBackend(backend);

    it("comparisons return bool tensors that print as true / false", () => {
      setup();
      const x = tensor([1, 2, 3]);
      for (const b of [x.eq(2), x.ne(2), x.lt(2), x.le(2), x.gt(2), x.ge(tensor([3, 1, 3]))]) expect(b.dtype).toBe("bool");
      expect(String(x.gt(1))).toBe("tensor([false,true,true], dtype=bool)");
      expect(Array.from(x.gt(1).data())).toEqual([0, 1, 1]);
      expect(x.gt(1).data()).toBeInstanceOf(Uint8Array);
    });

    it("sum() counts true values as int32, float() converts, mean() refuses as PyTorch does", () => {
      setup();
      const b = tensor([[1, -2, 3], [-4, 5, 6]]).gt(0);
      expect(b.sum().dtype).toBe("int32");
      expect(b.sum().item()).toBe(4);
      expect(b.sum(1).toArray()).toEqual([2, 2]);
      expect(b.float().dtype).toBe("float32");
      expect(b.float().toArray()).toEqual([[1, 0, 1], [0, 1, 1]]);
      expect(b.float().mean().item()).toBeCloseTo(4 / 6, 6);
      expect(() => b.mean()).toThrow("mean(): could not infer output dtype");
    });

    it("accuracy the PyTorch way: argmax(1).eq(y).sum().item()", () => {
      setup();
      const logits = tensor([[0.1, 2], [3, 0], [0, 1]]);
      const y = tensor([1, 0, 0], { dtype: "int32" });
      expect(logits.argmax(1).eq(y).sum().item()).toBe(2);
    });

    it("bool tensors from JS booleans, zeros and fill, and .bool()", () => {
      setup();
      expect(tensor([[true, false]]).dtype).toBe("bool");
      expect(zeros([2], { dtype: "bool" }).fill_(5).toArray()).toEqual([1, 1]);
      expect(tensor([0, 0.5, -2]).bool().toArray()).toEqual([0, 1, 1]);
      expect(tensor([true, false]).mul(3).toArray()).toEqual([3, 0]);
    });

    it("a bool tensor cannot require grad", () => {
      setup();
      expect(() => tensor([true]).requiresGrad_()).toThrow("only float32 tensors can require gradients");
    });
  });

  describe(`indexing and joining (${backend} backend)`, () => {
    afterAll(() => setBackend("wasm"));
    const setup = () => setBackend(backend);
    const i32 = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });

    it("indexSelect and gather work on int32 and bool tensors too", () => {
      setup();
      const labels = i32([7, 8, 9]);
      expect(labels.indexSelect(0, i32([2, 2, 0])).toArray()).toEqual([9, 9, 7]);
      expect(labels.indexSelect(0, i32([2, 0])).dtype).toBe("int32");
      expect(tensor([true, false]).gather(0, i32([1, 0, 1])).toArray()).toEqual([0, 1, 0]);
    });

    it("gather picks each row's target score, as in a hand-written NLL", () => {
      setup();
      const logp = tensor([[-1, -2, -3], [-4, -5, -6]]);
      const y = i32([2, 0]);
      expect(logp.gather(1, y.unsqueeze(1)).squeeze(1).toArray()).toEqual([-3, -4]);
    });

    it("refuses an index out of range, naming it, and leaves memory alone", () => {
      setup();
      const x = zeros(3, 2);
      expect(() => x.indexSelect(0, i32([0, 3]))).toThrow("indexSelect(): index 3 is out of bounds for dimension 0 with size 3");
      expect(() => x.gather(1, i32([[0], [2], [1]]))).toThrow("gather(): index 2 is out of bounds for dimension 1 with size 2");
      expect(() => x.indexSelect(0, i32([-1]))).toThrow("index -1 is out of bounds");
      expect(() => x.indexSelect(0, tensor([0]))).toThrow("Expected dtype int32 for index, got float32");
    });

    it("maskedFill and maskedSelect take bool masks only", () => {
      setup();
      const x = tensor([1, -2, 3]);
      expect(x.maskedFill(x.lt(0), 0).toArray()).toEqual([1, 0, 3]);
      expect(x.maskedSelect(x.gt(0)).toArray()).toEqual([1, 3]);
      expect(x.maskedSelect(x.gt(5)).shape).toEqual([0]);
      expect(() => x.maskedFill(tensor([1, 0, 1]), 0)).toThrow("only supports boolean masks, but got mask with dtype float32");
      const labels = i32([1, 2, 3]);
      expect(labels.maskedFill(tensor([true, false, true]), -100).toArray()).toEqual([-100, 2, -100]);
      noGrad(() => x.maskedFill_(x.gt(2), 9));
      expect(x.toArray()).toEqual([1, -2, 9]);
    });

    it("where picks from a and b with broadcasting and keeps int32 when both are int32", () => {
      setup();
      const c = tensor([[true], [false]]);
      expect(where(c, tensor([1, 2]), tensor([10, 20])).toArray()).toEqual([[1, 2], [10, 20]]);
      expect(where(c, i32([1, 2]), i32([3, 4])).dtype).toBe("int32");
      expect(where(tensor([true, false]), 1, 0).toArray()).toEqual([1, 0]);
      expect(() => where(tensor([1, 0]), 1, 0)).toThrow("where only supports boolean masks");
    });

    it("cat and stack join along any dim and refuse mismatched shapes", () => {
      setup();
      const a = arange(6).float().view(2, 3);
      expect(cat([a, a.narrow(0, 0, 1)]).shape).toEqual([3, 3]);
      expect(cat([a, a], 1).toArray()).toEqual([[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]);
      expect(stack([a, a], 2).shape).toEqual([2, 3, 2]);
      expect(cat([i32([1]), i32([2])]).dtype).toBe("int32");
      expect(() => cat([a, zeros(2, 2)])).toThrow("Sizes of tensors must match except in dimension 0");
      expect(() => stack([a, a.t()])).toThrow("stack expects each tensor to be equal size");
      expect(() => cat([])).toThrow("expected a non-empty list of Tensors");
    });

    it("k-fold splits without toArray(): narrow and cat", () => {
      setup();
      const X = randn([10, 2]);
      const k = 5;
      const fold = 2;
      const size = 10 / k;
      const valid = X.narrow(0, fold * size, size);
      const train = cat([X.narrow(0, 0, fold * size), X.narrow(0, (fold + 1) * size, 10 - (fold + 1) * size)]);
      expect(valid.shape).toEqual([2, 2]);
      expect(train.shape).toEqual([8, 2]);
      expect(train.select(0, 4).toArray()).toEqual(X.select(0, 6).toArray());
    });
  });
}
