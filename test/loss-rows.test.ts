// The row-range cross-entropy kernels threads split a batch with: any cut of a
// batch into row ranges gives bitwise the whole-batch kernels' output, on both
// backends and on any thread count.

import { afterAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { setNumThreads } from "../src/backend/threads.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import { nn, tensor } from "../src/index.ts";
import { expectClose, getF32, makeBackends, put, randomF32, scratch } from "./helpers/backends.ts";

const backends = makeBackends();

const labelsFor = (n: number, c: number) => Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % c);

/** The rows kernels over rows [0, n) cut at `cuts`; the losses, lse and both backwards (dloss stride 0 and 1), as bytes. */
function rowsRun(be: Backend, logits: Float32Array, labels: Int32Array, c: number, cuts: number[]): Float32Array[] {
  const n = labels.length;
  const [lp, yp] = [put(be, logits), put(be, labels)];
  const [lossp, lsep] = [scratch(be, n), scratch(be, n)];
  const dloss = put(be, randomF32(n, 5, 0.1, 2));
  const [d0, d1] = [scratch(be, n * c), scratch(be, n * c)];
  const edges = [0, ...cuts, n];
  for (let p = 0; p + 1 < edges.length; p++) {
    const [r0, rows] = [edges[p]!, edges[p + 1]! - edges[p]!];
    be.kernels.f32_cross_entropy_rows(lp, yp, lossp, lsep, r0, rows, c);
    be.kernels.f32_cross_entropy_backward_rows(lp, yp, dloss, 0, d0, r0, rows, c);
    be.kernels.f32_cross_entropy_backward_rows(lp, yp, dloss, 1, d1, r0, rows, c);
  }
  const out = [getF32(be, lossp, n), getF32(be, lsep, n), getF32(be, d0, n * c), getF32(be, d1, n * c)];
  for (const p of [lp, yp, lossp, lsep, dloss, d0, d1]) be.allocator.free(p);
  return out;
}

/** The whole-batch kernels on the same inputs. */
function wholeRun(be: Backend, logits: Float32Array, labels: Int32Array, c: number): Float32Array[] {
  const n = labels.length;
  const [lp, yp] = [put(be, logits), put(be, labels)];
  const [lossp, lsep] = [scratch(be, n), scratch(be, n)];
  const dloss = put(be, randomF32(n, 5, 0.1, 2));
  const [d0, d1] = [scratch(be, n * c), scratch(be, n * c)];
  expect(be.kernels.f32_cross_entropy(lp, yp, lossp, lsep, n, c)).toBe(-1);
  be.kernels.f32_cross_entropy_backward(lp, yp, lsep, dloss, 0, d0, n, c);
  be.kernels.f32_cross_entropy_backward(lp, yp, lsep, dloss, 1, d1, n, c);
  const out = [getF32(be, lossp, n), getF32(be, lsep, n), getF32(be, d0, n * c), getF32(be, d1, n * c)];
  for (const p of [lp, yp, lossp, lsep, dloss, d0, d1]) be.allocator.free(p);
  return out;
}

const bits = (xs: Float32Array[]) => xs.map((x) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length)));

describe.each([backends.wasm, backends.js].map((be) => [be.name, be] as const))("%s: cross-entropy over row ranges", (_name, be) => {
  it("gives bitwise the whole-batch kernels' losses, logsumexps and gradients, however the rows are cut", () => {
    for (const [n, c] of [[1, 1], [7, 3], [256, 10], [300, 17]] as const) {
      const logits = randomF32(n * c, n + c, -8, 8);
      const labels = labelsFor(n, c);
      const whole = bits(wholeRun(be, logits, labels, c));
      const cuts = [[], [1], [Math.floor(n / 3), Math.floor((2 * n) / 3)], [n - 1]].map((cs) => cs.filter((x) => x > 0 && x < n));
      for (const cut of cuts) expect(bits(rowsRun(be, logits, labels, c, cut)), `n=${n} c=${c} cut at ${cut}`).toEqual(whole);
    }
  });
});

it("gives the same losses and gradients on the Wasm backend as on the JS oracle", () => {
  const [n, c] = [256, 10];
  const logits = randomF32(n * c, 11, -8, 8);
  const labels = labelsFor(n, c);
  const [wasm, js] = [backends.wasm, backends.js].map((be) => rowsRun(be, logits, labels, c, [100]));
  wasm!.forEach((w, i) => expectClose(w, js![i]!, 1e-6, 1e-6));
});

describe("cross-entropy split over threads", () => {
  const be = createWasmBackend();
  afterAll(() => setNumThreads(1));

  it("gives bitwise the one-thread result on 2 and 3 threads, for batches around the split point", () => {
    // A row of c = 10 counts 640 elements of work: 2 threads split from 205 rows on.
    for (const n of [100, 205, 256, 1000, 1003]) {
      const logits = randomF32(n * 10, n, -8, 8);
      const labels = labelsFor(n, 10);
      setNumThreads(1);
      const one = bits(rowsRun(be, logits, labels, 10, []));
      for (const t of [2, 3]) {
        setNumThreads(t);
        expect(bits(rowsRun(be, logits, labels, 10, [])), `n=${n} on ${t} threads`).toEqual(one);
      }
    }
  });

  it("still names the first out-of-range label, before any row is computed", () => {
    setNumThreads(2);
    const logits = tensor(Array.from({ length: 300 }, () => Array.from({ length: 10 }, (_, j) => j)));
    const labels = tensor(Array.from({ length: 300 }, (_, i) => (i === 250 ? 10 : i % 10)), { dtype: "int32" });
    expect(() => nn.functional.crossEntropy(logits, labels)).toThrow("Target 10 is out of bounds (crossEntropy with 10 classes, at batch index 250).");
  });
});
