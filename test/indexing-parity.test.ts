// Views, indexing, joining and comparisons against PyTorch 1.13, from the
// committed fixture test/fixtures/torch/indexing.json
// (tools/make_indexing_fixtures.py): each case's output, dtype and the
// gradient of sum(out · r) for every input, on both backends. Outputs and
// gradients are float32 computations of the same formulas, so they agree to
// rounding (rtol 1e-5); comparisons and counts exactly.

import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { cat, nn, noGrad, setBackend, stack, tensor, where, zeros, type Tensor } from "../src/index.ts";
import { expectClose } from "./helpers/backends.ts";

interface Arr { shape: number[]; data: number[] }
interface Case { inputs: Arr[]; out: Arr; dtype: string; r?: Arr; grads?: (Arr | null)[] }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/torch/indexing.json", import.meta.url), "utf8")) as {
  cases: Record<string, Case>;
  in_place: { w: Arr; x: Arr };
};

const F = nn.functional;
const i32 = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const MASK34 = () => tensor([[true, false, true, false], [false, false, true, true], [true, true, false, false]]);

/** The wasmgrad spelling of each fixture's PyTorch expression. */
const BUILD: Record<string, (...t: Tensor[]) => Tensor> = {
  matmul_nt: (a, b) => a.matmul(b.t()),
  matmul_tn: (a, b) => a.t().matmul(b),
  matmul_tt: (a, b) => a.t().matmul(b.t()),
  linear_transposed_weight: (x, w, b) => F.linear(x, w.t(), b),
  permute_reverse: (a) => a.permute(2, 1, 0).mul(2),
  narrow_times_selected_column: (a) => a.narrow(1, 1, 3).mul(a.select(1, 0).unsqueeze(1)),
  expand_row: (a) => a.expand(3, 4).mul(tensor([[1], [2], [3]])),
  transposed_view_exp_sum: (a) => a.t().exp().sum(0),
  reshape_of_transpose: (a) => a.t().reshape(-1),
  index_select_rows: (a) => a.indexSelect(0, i32([2, 0, 2])),
  index_select_cols: (a) => a.indexSelect(1, i32([3, 1])),
  gather_dim1: (a) => a.gather(1, i32([[1], [3], [1]])),
  gather_dim0_smaller_index: (a) => a.gather(0, i32([[2, 2], [0, 2]])),
  masked_fill: (a) => a.maskedFill(MASK34(), -1),
  masked_select: (a) => a.maskedSelect(MASK34()),
  where_broadcast: (a, b) => where(MASK34(), a, b),
  where_relu: (a) => where(a.gt(0), a, 0),
  cat_dim1_with_view: (a, b) => cat([a, b.t()], -1),
  stack_dim1: (a, b) => stack([a, b], 1),
  split_and_rejoin: (a) => { const [p, q, r] = a.split(2, 1); return cat([r, q.mul(2), p.mul(3)], 1); },
  chunk_product: (a) => { const [p, q] = a.chunk(2); return p.mul(q); },
  comparisons_gt: (a, b) => a.gt(b),
  comparisons_le_count: (a) => a.le(0).sum(1),
};

/** PyTorch's dtypes as wasmgrad has them (int64 counts are int32 here). */
const DTYPE: Record<string, string> = { float32: "float32", bool: "bool", int64: "int32" };

for (const backend of ["wasm", "js"] as const) {
  describe(`views, indexing and comparisons match PyTorch 1.13 (${backend} backend)`, () => {
    afterAll(() => setBackend("wasm"));

    it("covers every fixture case", () => {
      expect(Object.keys(BUILD).sort()).toEqual(Object.keys(fixture.cases).sort());
    });

    for (const [name, c] of Object.entries(fixture.cases)) {
      it(name, () => {
        setBackend(backend);
        const xs = c.inputs.map((a) => tensor(Float32Array.from(a.data), { shape: a.shape, requiresGrad: true }));
        const out = BUILD[name](...xs);
        expect(out.dtype).toBe(DTYPE[c.dtype]);
        expect(out.shape).toEqual(c.out.shape);
        expectClose(Array.from(out.data()), c.out.data, 1e-5, 1e-6, `${name} output`);
        if (!c.r) return;
        out.mul(tensor(Float32Array.from(c.r.data), { shape: c.r.shape })).sum().backward();
        c.grads!.forEach((g, i) => {
          if (g === null) return expect(xs[i].grad).toBeNull();
          expectClose(Array.from(xs[i].grad!.data()), g.data, 1e-5, 1e-6, `${name} grad ${i}`);
        });
      });
    }

    it("writes through views change the base exactly as PyTorch's do", () => {
      setBackend(backend);
      const w = tensor([0, 1, 2, 3, 4, 5]).view(2, 3);
      noGrad(() => w.t().mul_(10));
      w.t().select(0, 1).fill_(-1);
      expect(Array.from(w.data())).toEqual(fixture.in_place.w.data);
      const x = zeros(3, 4);
      x.select(1, 0).fill_(7);
      x.narrow(1, 1, 2).add_(1);
      expect(Array.from(x.data())).toEqual(fixture.in_place.x.data);
    });
  });
}
