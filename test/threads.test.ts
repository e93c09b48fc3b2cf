// Threads: setNumThreads(n) runs GEMMs (split by output tiles) and large
// elementwise calls (split by element ranges) on n threads over one shared Wasm
// memory, so every result is bitwise the same for every n. Also: validation, the one-time warning and one-thread fallback where
// shared memory is unavailable, worker clean-up (setNumThreads(1) ends them,
// and idle workers never keep a process alive), heap growth under running
// workers, and the browser rules (threads only in a Worker of a cross-origin
// isolated page) in headless Chromium.
//
// This machine may have few cores: the tests check results and that workers
// really computed tiles (workerTilesPosted), never speed.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { Backend } from "../src/backend/backend.ts";
import { BinaryOp, GemmEpilogue, GemmLayout, PointwiseOp, UnaryOp } from "../src/backend/kernels.ts";
import {
  MAX_THREADS, MIN_THREADED_WORK, SPLIT_KERNELS, threadSpin, workerTilesPosted, type SplitKernel,
} from "../src/backend/threads.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import {
  getNumThreads, manualSeed, nn, optim, randn, setNumThreads, setNumThreadsAsync, tensor,
} from "../src/index.ts";
import { getF32, put, randomF32, scratch } from "./helpers/backends.ts";
import { launchChromium, serveStatic, type StaticServer } from "./chromium.ts";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const LAYOUTS = [GemmLayout.NN, GemmLayout.NT, GemmLayout.TN];
const NAME = ["NN", "NT", "TN"];

afterEach(() => {
  setNumThreads(1);
  vi.restoreAllMocks();
});

function expectBitwiseEqual(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < w.length; i++) {
    if (g[i] !== w[i]) expect.fail(`${what}[${i}]: ${got[i]} (0x${g[i]!.toString(16)}) vs ${want[i]} (0x${w[i]!.toString(16)})`);
  }
}

interface Problem { layout: GemmLayout; m: number; n: number; k: number; alpha: number; beta: number; pad: number; epilogue?: GemmEpilogue }

/** One gemm on `be` with seeded operands (padded leading dimensions); returns all of C, padding included. */
function gemm(be: Backend, p: Problem): Float32Array {
  const aRows = p.layout === GemmLayout.TN ? p.k : p.m;
  const lda = (p.layout === GemmLayout.TN ? p.m : p.k) + p.pad;
  const bRows = p.layout === GemmLayout.NT ? p.n : p.k;
  const ldb = (p.layout === GemmLayout.NT ? p.k : p.n) + p.pad;
  const ldc = p.n + p.pad;
  const pa = put(be, randomF32(aRows * lda, 11));
  const pb = put(be, randomF32(bRows * ldb, 12));
  const c0 = p.beta ? randomF32(p.m * ldc, 13) : new Float32Array(p.m * ldc).fill(NaN);
  const pc = put(be, c0);
  be.kernels.f32_gemm(p.layout, p.m, p.n, p.k, p.alpha, pa, lda, pb, ldb, p.beta, pc, ldc, be.gemmWorkspace, p.epilogue);
  const out = getF32(be, pc, c0.length);
  for (const ptr of [pa, pb, pc]) be.allocator.free(ptr);
  return out;
}

describe("setNumThreads", () => {
  it("rejects anything but an integer from 1 to MAX_THREADS, with a clear message", async () => {
    for (const bad of [0, 1.5, -1, NaN, Infinity, MAX_THREADS + 1, "2", undefined, null]) {
      expect(() => setNumThreads(bad as number), String(bad)).toThrow(
        new RegExp(`setNumThreads\\(n\\): n must be an integer from 1 to ${MAX_THREADS}, got`),
      );
    }
    expect(() => setNumThreads(0)).toThrow(RangeError);
    expect(() => setNumThreads(1.5)).toThrow(/got 1\.5$/);
    expect(getNumThreads()).toBe(1);
    await expect(setNumThreadsAsync(0)).rejects.toThrow(RangeError);
  });

  it("starts the workers synchronously in Node, and setNumThreads(1) ends them and frees their workspaces", async () => {
    const be = createWasmBackend();
    const live0 = be.allocator.stats().liveBytes;
    setNumThreads(4);
    expect(getNumThreads()).toBe(4);
    const perWorker = (be.allocator.stats().liveBytes - live0) / 3;
    expect(perWorker).toBeGreaterThanOrEqual(be.kernels.f32_gemm_workspace_size());
    setNumThreads(2);
    expect(be.allocator.stats().liveBytes).toBe(live0 + perWorker);
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect(be.allocator.stats().liveBytes).toBe(live0);
    await expect(setNumThreadsAsync(3)).resolves.toBe(3);
  });
});

describe("threaded GEMM", () => {
  const be = createWasmBackend();

  it("is bitwise identical on 1, 2, 3 and 4 threads: all layouts, odd shapes, alpha, beta, padded strides", () => {
    const shapes: [number, number, number][] = [
      [129, 67, 301], // odd everywhere: rows split (67 columns = 9 strips)
      [37, 515, 129], // wide: columns split, last strip of 3
      [600, 10, 257], // the 10-class layer shape, tall
      [64, 64, 128], // exactly MIN_THREADED_WORK: two tiles
      [1031, 9, 61], // n = 9: one full strip and a 1-column edge
      [5, 700, 200], // m = 5: rows cannot split, columns can
    ];
    for (const [m, n, k] of shapes) expect(m * n * k, `${m}×${n}×${k}`).toBeGreaterThanOrEqual(MIN_THREADED_WORK);
    const problems: Problem[] = LAYOUTS.flatMap((layout) => shapes.flatMap(([m, n, k]) =>
      ([[1, 0], [0.75, 0.5]] as const).map(([alpha, beta]) => ({ layout, m, n, k, alpha, beta, pad: 3 }))));
    setNumThreads(1);
    const want = problems.map((p) => gemm(be, p));
    for (const t of [2, 3, 4]) {
      setNumThreads(t);
      problems.forEach((p, i) => {
        const what = `${NAME[p.layout]} ${p.m}×${p.n}×${p.k} alpha ${p.alpha} beta ${p.beta} on ${t} threads`;
        const tiles = workerTilesPosted();
        const got = gemm(be, p);
        expect(workerTilesPosted(), `${what}: workers computed tiles`).toBeGreaterThan(tiles);
        expectBitwiseEqual(got, want[i]!, `${what} vs 1`);
      });
    }
  });

  it("applies the ReLU epilogue in every thread's tile: bitwise the one-thread plain product with ReLU after", () => {
    const problems: Problem[] = LAYOUTS.flatMap((layout) => ([[256, 256, 784], [129, 515, 67], [600, 10, 257]] as const)
      .map(([m, n, k]) => ({ layout, m, n, k, alpha: 1, beta: 1, pad: 3, epilogue: GemmEpilogue.Relu })));
    setNumThreads(1);
    const want = problems.map((p) => {
      const plain = gemm(be, { ...p, epilogue: GemmEpilogue.None });
      const pc = put(be, plain);
      const ldc = p.n + p.pad;
      for (let i = 0; i < p.m; i++) be.kernels.f32_unary(UnaryOp.Relu, pc + 4 * i * ldc, pc + 4 * i * ldc, p.n);
      const out = getF32(be, pc, plain.length);
      be.allocator.free(pc);
      return out;
    });
    for (const t of [1, 3, 4]) {
      setNumThreads(t);
      problems.forEach((p, i) => {
        const tiles = workerTilesPosted();
        const what = `${NAME[p.layout]} ${p.m}×${p.n}×${p.k} with ReLU on ${t} threads`;
        expectBitwiseEqual(gemm(be, p), want[i]!, what);
        if (t > 1) expect(workerTilesPosted(), `${what}: workers computed tiles`).toBeGreaterThan(tiles);
      });
    }
  });

  it("keeps small GEMMs on the calling thread", () => {
    setNumThreads(4);
    const tiles = workerTilesPosted();
    gemm(be, { layout: GemmLayout.NN, m: 32, n: 32, k: 32, alpha: 1, beta: 0, pad: 0 });
    gemm(be, { layout: GemmLayout.NT, m: 256, n: 1, k: 256, alpha: 1, beta: 0, pad: 0 });
    expect(workerTilesPosted()).toBe(tiles);
  });

  it("hands jobs to workers that are still spinning after their last one and to workers that have gone to sleep", () => {
    const p: Problem = { layout: GemmLayout.NN, m: 128, n: 96, k: 64, alpha: 1, beta: 0, pad: 0 };
    const want = gemm(be, p);
    const pause = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    for (const spin of [threadSpin.workerMicros, 0]) {
      const saved = { ...threadSpin };
      try {
        Object.assign(threadSpin, { workerMicros: spin, callerMicros: spin });
        setNumThreads(3); // workers take their spin when they start
        for (const gap of [0, 0.05, 2 * (saved.workerMicros / 1000) + 1]) {
          const tiles = workerTilesPosted();
          pause(gap);
          expectBitwiseEqual(gemm(be, p), want, `spin ${spin} µs, job ${gap} ms after the last`);
          expect(workerTilesPosted()).toBeGreaterThan(tiles);
        }
      } finally {
        setNumThreads(1);
        Object.assign(threadSpin, saved);
      }
    }
  });

  it("works on memory the heap grew into after the workers started (a GEMM and a split elementwise call)", () => {
    const fresh = createWasmBackend();
    setNumThreads(3);
    const before = fresh.heap.byteLength;
    const ballast = fresh.allocator.alloc(64 << 20); // grows the shared memory under the running workers
    expect(fresh.heap.byteLength).toBeGreaterThan(before + (60 << 20));
    const p: Problem = { layout: GemmLayout.NT, m: 300, n: 200, k: 300, alpha: 1, beta: 0, pad: 0 };
    const tiles = workerTilesPosted();
    const got = gemm(fresh, p);
    expect(workerTilesPosted()).toBeGreaterThan(tiles);
    // A split elementwise call on the grown memory too (its block lies in the grown part).
    const n = 1 << 16;
    const drawn = fresh.allocator.alloc(4 * n);
    expect(drawn).toBeGreaterThan(before);
    const ranges = workerTilesPosted();
    fresh.kernels.random_uniform(drawn, n, 5, 6, 7, 0, 1);
    expect(workerTilesPosted()).toBeGreaterThan(ranges);
    const drawnThreads = getF32(fresh, drawn, n);
    setNumThreads(1);
    expectBitwiseEqual(got, gemm(fresh, p), "after growth, 3 threads vs 1");
    fresh.kernels.random_uniform(drawn, n, 5, 6, 7, 0, 1);
    expectBitwiseEqual(drawnThreads, getF32(fresh, drawn, n), "random_uniform after growth, 3 threads vs 1");
    fresh.allocator.free(drawn);
    fresh.allocator.free(ballast);
  });
});

describe("threaded elementwise kernels: large calls split by element ranges", () => {
  const be = createWasmBackend();
  const blocks: number[] = [];
  const keep = (ptr: number) => (blocks.push(ptr), ptr);
  const freeAll = () => {
    for (const ptr of blocks.splice(0)) be.allocator.free(ptr);
  };
  const floats = (n: number, seed: number, low = -2, high = 2) => keep(put(be, randomF32(n, seed, low, high)));
  const bytes = (ptr: number, n: number) => be.heap.u8.slice(ptr, ptr + n);
  /** Each split kernel on seeded inputs; returns the bytes of everything it wrote. */
  const CASES: Record<SplitKernel, (n: number) => Uint8Array[]> = {
    f32_unary: (n) => [UnaryOp.Tanh, UnaryOp.Relu].map((op) => {
      const y = keep(scratch(be, n));
      be.kernels.f32_unary(op, floats(n, 1), y, n);
      return bytes(y, 4 * n);
    }),
    f32_unary_backward: (n) => [UnaryOp.Sigmoid, UnaryOp.Relu].map((op) => {
      const dx = keep(scratch(be, n));
      be.kernels.f32_unary_backward(op, floats(n, 2), floats(n, 3), floats(n, 4), dx, n);
      return bytes(dx, 4 * n);
    }),
    f32_binary: (n) => [BinaryOp.Add, BinaryOp.Div].map((op) => {
      const out = keep(scratch(be, n));
      be.kernels.f32_binary(op, floats(n, 5), floats(n, 6), out, n);
      return bytes(out, 4 * n);
    }),
    f32_binary_scalar: (n) => [0, 1].map((reversed) => {
      const out = keep(scratch(be, n));
      be.kernels.f32_binary_scalar(BinaryOp.Sub, floats(n, 7), 0.3, out, n, reversed);
      return bytes(out, 4 * n);
    }),
    f32_fill: (n) => {
      const out = keep(scratch(be, n));
      be.kernels.f32_fill(out, n, -1.5);
      return [bytes(out, 4 * n)];
    },
    u8_to_f32: (n) => {
      const src = keep(put(be, Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255)));
      const out = keep(scratch(be, n));
      be.kernels.u8_to_f32(src, out, n, 1 / 255);
      return [bytes(out, 4 * n)];
    },
    // A unit-split kernel: a unit is a row of 784 bytes, gathered from a block of 3× as many rows.
    u8_gather_rows_to_f32: (n) => {
      const rows = Math.ceil(n / 784);
      const images = 3 * rows + 1;
      const src = keep(put(be, Uint8Array.from({ length: images * 784 }, (_, i) => (i * 37) & 255)));
      const indices = keep(put(be, Int32Array.from({ length: rows }, (_, i) => (i * 7919) % images)));
      const out = keep(scratch(be, rows * 784));
      be.kernels.u8_gather_rows_to_f32(src, indices, out, 0, rows, 784, 1 / 255);
      return [bytes(out, 4 * rows * 784)];
    },
    // A unit-split kernel: a unit is a row of 100 elements, gathered from a block of 3× as many rows.
    f32_gather_rows: (n) => {
      const rows = Math.ceil(n / 100);
      const src = floats(3 * rows * 100, 43);
      const indices = keep(put(be, Int32Array.from({ length: rows }, (_, i) => (i * 7919) % (3 * rows))));
      const out = keep(scratch(be, rows * 100));
      be.kernels.f32_gather_rows(src, indices, out, 0, rows, 100);
      return [bytes(out, 4 * rows * 100)];
    },
    i32_to_f32: (n) => {
      const src = keep(put(be, Int32Array.from({ length: n }, (_, i) => (i * 7919) % 100003 - 50000)));
      const out = keep(scratch(be, n));
      be.kernels.i32_to_f32(src, out, n);
      return [bytes(out, 4 * n)];
    },
    random_uniform: (n) => {
      const out = keep(scratch(be, n));
      be.kernels.random_uniform(out, n, 0xcafe, 0xf00d, 2 ** 32 - 3, -1, 3);
      return [bytes(out, 4 * n)];
    },
    random_normal: (n) => {
      const out = keep(scratch(be, n));
      be.kernels.random_normal(out, n, 7, 8, 12345, 0.5, 2);
      return [bytes(out, 4 * n)];
    },
    f32_dropout: (n) => {
      const y = keep(scratch(be, n));
      const mask = keep(be.allocator.alloc(n));
      be.kernels.f32_dropout(floats(n, 9), y, mask, n, 0.3, 1, 2, 99);
      return [bytes(y, 4 * n), bytes(mask, n)];
    },
    f32_dropout_backward: (n) => {
      const mask = keep(put(be, Uint8Array.from({ length: n }, (_, i) => (i * 13) % 3 === 0 ? 0 : 1)));
      const dx = keep(scratch(be, n));
      be.kernels.f32_dropout_backward(floats(n, 10), mask, dx, n, 0.25);
      return [bytes(dx, 4 * n)];
    },
    f32_relu_dropout: (n) => {
      const y = keep(scratch(be, n));
      be.kernels.f32_relu_dropout(floats(n, 11), y, n, 0.5, 3, 4, 2 ** 40 + 1);
      return [bytes(y, 4 * n)];
    },
    f32_relu_dropout_backward: (n) => {
      const dx = keep(scratch(be, n));
      be.kernels.f32_relu_dropout_backward(floats(n, 12), floats(n, 13), dx, n, 0.2);
      return [bytes(dx, 4 * n)];
    },
    f32_sgd_step: (n) => {
      const param = floats(n, 14);
      const buf = floats(n, 15);
      be.kernels.f32_sgd_step(param, floats(n, 16), buf, n, 0.1, 0.9, 0.1, 1e-3, 1, 0, 1e-4, 0);
      return [bytes(param, 4 * n), bytes(buf, 4 * n)];
    },
    f32_adam_step: (n) => {
      const [param, m, v, vmax] = [17, 18, 19, 20].map((seed, i) => floats(n, seed, i >= 2 ? 0 : -2, 2));
      be.kernels.f32_adam_step(param!, floats(n, 21), m!, v!, vmax!, n, 1e-3, 0.9, 0.999, 1e-8, 1e-2, 7, 1, 1, 0);
      return [param!, m!, v!, vmax!].map((ptr) => bytes(ptr, 4 * n));
    },
    f32_rmsprop_step: (n) => {
      const [param, sq, ga, buf] = [22, 23, 24, 25].map((seed, i) => floats(n, seed, i === 1 ? 1 : -2, 2));
      be.kernels.f32_rmsprop_step(param!, floats(n, 26), sq!, ga!, buf!, n, 1e-2, 0.99, 1e-8, 1e-2, 0.9, 1, 0);
      return [param!, sq!, ga!, buf!].map((ptr) => bytes(ptr, 4 * n));
    },
    f32_adagrad_step: (n) => {
      const [param, sum] = [27, 28].map((seed, i) => floats(n, seed, i === 1 ? 0 : -2, 2));
      be.kernels.f32_adagrad_step(param!, floats(n, 29), sum!, n, 1e-2, 1e-10, 1e-3, 1);
      return [param!, sum!].map((ptr) => bytes(ptr, 4 * n));
    },
    f32_adadelta_step: (n) => {
      const [param, sq, acc] = [30, 31, 32].map((seed, i) => floats(n, seed, i === 0 ? -2 : 0, 2));
      be.kernels.f32_adadelta_step(param!, floats(n, 33), sq!, acc!, n, 1, 0.9, 1e-6, 1e-2, 0);
      return [param!, sq!, acc!].map((ptr) => bytes(ptr, 4 * n));
    },
    f32_pointwise: (n) => [PointwiseOp.Sin, PointwiseOp.Gelu, PointwiseOp.Clamp].map((op) => {
      const y = keep(scratch(be, n));
      be.kernels.f32_pointwise(op, floats(n, 22, -8, 8), y, n, -0.5, 0.75);
      return bytes(y, 4 * n);
    }),
    f32_pointwise_backward: (n) => [PointwiseOp.Cos, PointwiseOp.LeakyRelu].map((op) => {
      const dx = keep(scratch(be, n));
      be.kernels.f32_pointwise_backward(op, floats(n, 23, -8, 8), floats(n, 24), dx, n, 0.125, 0);
      return bytes(dx, 4 * n);
    }),
    // The unit-split kernels, on geometries with about n elements of work.
    // Cross-entropy: a row of 10 logits counts 640.
    f32_cross_entropy_rows: (n) => {
      const rows = Math.ceil(n / 640);
      const labels = keep(put(be, Int32Array.from({ length: rows }, (_, i) => (i * 7) % 10)));
      const [losses, lse] = [keep(scratch(be, rows)), keep(scratch(be, rows))];
      be.kernels.f32_cross_entropy_rows(floats(rows * 10, 40, -8, 8), labels, losses, lse, 0, rows, 10);
      return [bytes(losses, 4 * rows), bytes(lse, 4 * rows)];
    },
    f32_cross_entropy_backward_rows: (n) => [0, 1].map((stride) => {
      const rows = Math.ceil(n / 640);
      const labels = keep(put(be, Int32Array.from({ length: rows }, (_, i) => (i * 3) % 10)));
      const dx = keep(scratch(be, rows * 10));
      be.kernels.f32_cross_entropy_backward_rows(floats(rows * 10, 41, -8, 8), labels, floats(rows, 42), stride, dx, 0, rows, 10);
      return bytes(dx, 4 * rows * 10);
    }),
    f32_im2col: (n) => {
      const C = Math.ceil(n / (512 * 9)); // N = 2, 16×16, 3×3 pad 1: rows C·9 of 512
      const col = keep(scratch(be, C * 9 * 512));
      be.kernels.f32_im2col(floats(2 * C * 256, 22), col, 0, C * 9, 2, C, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, 16);
      return [bytes(col, 4 * C * 9 * 512)];
    },
    f32_col2im: (n) => {
      const C = Math.ceil(n / (2 * 2304)); // planes of 9·256 reads
      const dx = keep(scratch(be, 2 * C * 256));
      be.kernels.f32_col2im(floats(C * 9 * 512, 23), dx, 0, 2 * C, 2, C, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, 16);
      return [bytes(dx, 4 * 2 * C * 256)];
    },
    f32_swap_planes: (n) => [0, 1].map((hasBias) => {
      const B = Math.ceil(n / 300);
      const dst = keep(scratch(be, 3 * B * 100));
      be.kernels.f32_swap_planes(floats(3 * B * 100, 24), dst, floats(3, 25), 0, 3 * B, 3, B, 100, hasBias);
      return bytes(dst, 4 * 3 * B * 100);
    }),
    f32_max_pool2d: (n) => {
      const planes = Math.ceil(n / 80); // 8×8 → 4×4 (3×3, stride 2, pad 1)
      const y = keep(scratch(be, planes * 16));
      const idx = keep(scratch(be, planes * 16));
      be.kernels.f32_max_pool2d(floats(planes * 64, 26), y, idx, 0, planes, 8, 8, 4, 4, 3, 3, 2, 2, 1, 1);
      return [bytes(y, 4 * planes * 16), bytes(idx, 4 * planes * 16)];
    },
    f32_max_pool2d_backward: (n) => {
      const planes = Math.ceil(n / 80);
      const idx = keep(put(be, Int32Array.from({ length: planes * 16 }, (_, i) => (i * 29) % 64)));
      const dx = keep(scratch(be, planes * 64));
      be.kernels.f32_max_pool2d_backward(floats(planes * 16, 27), idx, dx, 0, planes, 64, 16);
      return [bytes(dx, 4 * planes * 64)];
    },
    f32_avg_pool2d: (n) => [0, 1].map((countIncludePad) => {
      const planes = Math.ceil(n / 80);
      const y = keep(scratch(be, planes * 16));
      be.kernels.f32_avg_pool2d(floats(planes * 64, 28), y, 0, planes, 8, 8, 4, 4, 3, 3, 2, 2, 1, 1, countIncludePad);
      return bytes(y, 4 * planes * 16);
    }),
    f32_avg_pool2d_backward: (n) => [0, 1].map((countIncludePad) => {
      const planes = Math.ceil(n / 80);
      const dx = keep(scratch(be, planes * 64));
      be.kernels.f32_avg_pool2d_backward(floats(planes * 16, 29), dx, 0, planes, 8, 8, 4, 4, 3, 3, 2, 2, 1, 1, countIncludePad);
      return bytes(dx, 4 * planes * 64);
    }),
    f32_batch_norm: (n) => [2, 0].flatMap((mode) => {
      const N = Math.ceil(n / (2 * 16 * 64)); // 16 channels of N·64, two passes each
      const [y, mean, invstd] = [keep(scratch(be, N * 16 * 64)), keep(scratch(be, 16)), keep(scratch(be, 16))];
      const [runMean, runVar] = [floats(16, 30), floats(16, 31, 0.5, 2)];
      be.kernels.f32_batch_norm(floats(N * 16 * 64, 32), y, floats(16, 33), floats(16, 34), mean, invstd, runMean, runVar, 0, 16, N, 16, 64, 1e-5, 0.1, mode, 1);
      return [y, mean, invstd, runMean, runVar].map((ptr) => bytes(ptr, ptr === y ? 4 * N * 16 * 64 : 64));
    }),
    f32_batch_norm_backward: (n) => {
      const N = Math.ceil(n / (2 * 16 * 64));
      const [dx, dw, db] = [keep(scratch(be, N * 16 * 64)), keep(scratch(be, 16)), keep(scratch(be, 16))];
      be.kernels.f32_batch_norm_backward(
        floats(N * 16 * 64, 35), floats(N * 16 * 64, 36), dx, floats(16, 37), floats(16, 38), floats(16, 39, 0.5, 2), dw, db,
        0, 16, N, 16, 64, 1, 1,
      );
      return [bytes(dx, 4 * N * 16 * 64), bytes(dw, 64), bytes(db, 64)];
    },
  };
  // Around the thresholds (2^14 elements a thread for random draws, 2^15 for
  // the optimizers, 2^16 for the rest), with ragged ends and odd counts.
  const SIZES = [(1 << 15) - 1, 1 << 15, (1 << 15) + 1, 65536 + 4097, 3 * 65536 + 1023, 4 * 65536 + 6 * 1024 + 5];

  it("covers every kernel the backend splits", () => {
    expect(Object.keys(CASES).sort()).toEqual([...SPLIT_KERNELS].sort());
  });

  it("gives bitwise the one-thread result on 2, 3 and 4 threads, each kernel at sizes around its split points", () => {
    const want = new Map<string, Uint8Array[]>();
    setNumThreads(1);
    for (const [name, run] of Object.entries(CASES)) {
      for (const n of SIZES) {
        want.set(`${name} n=${n}`, run(n));
        freeAll();
      }
    }
    for (const t of [2, 3, 4]) {
      setNumThreads(t);
      for (const [name, run] of Object.entries(CASES)) {
        for (const n of SIZES) {
          const what = `${name} n=${n} on ${t} threads`;
          const tiles = workerTilesPosted();
          const got = run(n);
          freeAll();
          // Past 2^17 elements every kernel's call is large enough to split.
          if (n > 1 << 17) expect(workerTilesPosted(), `${what}: workers took ranges`).toBeGreaterThan(tiles);
          got.forEach((g, i) => {
            const w = want.get(`${name} n=${n}`)![i]!;
            if (!g.every((b, j) => b === w[j])) expect.fail(`${what}: output ${i} differs from one thread's`);
          });
        }
      }
    }
  });

  it("keeps calls too small to pay on the calling thread, and every call on one thread when threads are off", () => {
    setNumThreads(4);
    let tiles = workerTilesPosted();
    for (const run of Object.values(CASES)) run((1 << 15) - 1);
    freeAll();
    expect(workerTilesPosted()).toBe(tiles);
    CASES.f32_relu_dropout(1 << 16);
    freeAll();
    expect(workerTilesPosted()).toBeGreaterThan(tiles);
    setNumThreads(1);
    tiles = workerTilesPosted();
    for (const run of Object.values(CASES)) run(4 * 65536);
    freeAll();
    expect(workerTilesPosted()).toBe(tiles);
  });
});

describe("training across thread counts", () => {
  /**
   * A few SGD-with-momentum steps of d2l's dropout MLP (784-256-256-10, batch
   * 256: its GEMMs are threaded, and its ReLU + dropout, random input and first
   * layer's SGD step large enough to split) on random data; returns every
   * parameter's bits.
   */
  function trainMlp(threads: number): Float32Array[] {
    setNumThreads(threads);
    manualSeed(0);
    const net = new nn.Sequential(
      new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2),
      new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.5),
      new nn.Linear(256, 10));
    const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
    const lossFn = new nn.CrossEntropyLoss();
    net.train();
    for (let step = 0; step < 4; step++) {
      const X = randn([256, 784]);
      const y = tensor(Array.from({ length: 256 }, (_, i) => (i * 7 + step) % 10), { dtype: "int32" });
      const loss = lossFn.forward(net.forward(X), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      X.dispose();
      y.dispose();
    }
    return net.parameters().map((p) => Float32Array.from(p.data() as Float32Array));
  }

  it("gives bitwise the same parameters on 1, 2 and 3 threads", () => {
    const tiles = workerTilesPosted();
    const one = trainMlp(1);
    expect(workerTilesPosted()).toBe(tiles);
    for (const t of [2, 3]) {
      const before = workerTilesPosted();
      const got = trainMlp(t);
      expect(workerTilesPosted(), `${t} threads: workers computed tiles`).toBeGreaterThan(before);
      got.forEach((p, i) => expectBitwiseEqual(p, one[i]!, `parameter ${i} after training on ${t} threads vs 1`));
    }
  });

  it("matmul through the tensor API too", () => {
    manualSeed(1);
    const a = randn([150, 333]);
    const b = randn([333, 77]);
    setNumThreads(1);
    const c1 = Float32Array.from(a.matmul(b).data() as Float32Array);
    setNumThreads(3);
    const c3 = Float32Array.from(a.matmul(b).data() as Float32Array);
    expectBitwiseEqual(c3, c1, "matmul on 3 threads vs 1");
    expect(tensor([1]).item()).toBe(1);
  });
});

describe("fallback to one thread", () => {
  it("a backend over a plain (unshared) memory warns once, naming why, and computes the same", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const plain = createWasmBackend(new WebAssembly.Memory({ initial: 16, maximum: 65536 }));
    const shared = createWasmBackend();
    const p: Problem = { layout: GemmLayout.NN, m: 100, n: 90, k: 200, alpha: 1, beta: 0, pad: 1 };
    const want = gemm(shared, p);
    setNumThreads(2);
    setNumThreads(3);
    const tiles = workerTilesPosted();
    const got = gemm(plain, p);
    gemm(plain, p);
    expect(workerTilesPosted()).toBe(tiles);
    expectBitwiseEqual(got, want, "plain memory with setNumThreads(3) vs shared on 1 thread");
    const ours = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith("wasmgrad:"));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/memory is not shared.*runs on 1 thread/);
  });

  /** Runs an ES module snippet with tsx in a fresh Node process. */
  async function node(code: string, preamble = ""): Promise<{ stdout: string; stderr: string; ms: number }> {
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-threads-"));
    try {
      const file = join(dir, "main.mts");
      writeFileSync(file, `${preamble}\nconst w = await import(${JSON.stringify(join(repo, "src/index.ts"))});\n${code}\n`);
      const t0 = performance.now();
      const r = await run(process.execPath, ["--import", "tsx", file], { cwd: repo, timeout: 30_000 });
      return { ...r, ms: performance.now() - t0 };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("without SharedArrayBuffer: one warning saying so, one thread, same numbers", async () => {
    const matmul = `
      w.manualSeed(3);
      const a = w.randn([200, 300]), b = w.randn([300, 100]);
      const c = Array.from(a.matmul(b).data().subarray(0, 50));`;
    const { stdout, stderr } = await node(
      `${matmul}
      w.setNumThreads(4); w.setNumThreads(2);
      const d = Array.from(a.matmul(b).data().subarray(0, 50));
      console.log(JSON.stringify({ threads: w.getNumThreads(), same: JSON.stringify(c) === JSON.stringify(d), c }));`,
      "delete globalThis.SharedArrayBuffer;",
    );
    const r = JSON.parse(stdout);
    expect(r).toMatchObject({ threads: 1, same: true });
    const warnings = stderr.split("\n").filter((l) => l.startsWith("wasmgrad:"));
    expect(warnings).toEqual(["wasmgrad: setNumThreads(4): SharedArrayBuffer is not available in this JavaScript environment; wasmgrad runs on 1 thread."]);
    // And the same numbers as with shared memory and threads.
    const threaded = await node(`${matmul}
      w.setNumThreads(3);
      const d = Array.from(a.matmul(b).data().subarray(0, 50));
      console.log(JSON.stringify({ threads: w.getNumThreads(), d }));`);
    expect(JSON.parse(threaded.stdout)).toEqual({ threads: 3, d: r.c });
    expect(threaded.stderr).toBe("");
  });

  it("idle workers do not keep a Node process alive", async () => {
    // Never calls setNumThreads(1): the process must still exit by itself, at once.
    const { stdout, ms } = await node(`
      w.setNumThreads(4);
      const a = w.randn([256, 256]);
      const s = a.matmul(a).sum().item();
      console.log(JSON.stringify({ threads: w.getNumThreads(), finite: Number.isFinite(s) }));`);
    expect(JSON.parse(stdout)).toEqual({ threads: 4, finite: true });
    expect(ms).toBeLessThan(20_000);
  });
});

describe("in a browser (headless Chromium)", () => {
  let site = "";
  const servers: StaticServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  /** The page tries threads on its main thread; its Worker tries setNumThreadsAsync(3) and compares a GEMM and a split random draw bitwise. */
  async function build(): Promise<string> {
    site = mkdtempSync(join(tmpdir(), "wasmgrad-threads-web-"));
    const lib = JSON.stringify(join(repo, "src/index.ts"));
    const internals = JSON.stringify(join(repo, "src/backend/threads.ts"));
    const probe = `
      import { getNumThreads, manualSeed, rand, randn, ready, setNumThreads, setNumThreadsAsync } from ${lib};
      import { workerTilesPosted } from ${internals};
      export async function probe() {
        await ready();
        manualSeed(0);
        const a = randn([120, 333]), b = randn([333, 90]);
        const one = a.matmul(b).data().slice();
        manualSeed(1);
        const drawnOne = rand([300, 300]).data().slice(); // 90 000 uniforms: split over 3 threads
        const threads = await setNumThreadsAsync(3);
        const tiles = workerTilesPosted();
        const three = a.matmul(b).data().slice();
        const gemmTiles = workerTilesPosted() - tiles;
        manualSeed(1);
        const drawnThree = rand([300, 300]).data().slice();
        const equal = (x, y) => x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
        const same = equal(one, three) && equal(drawnOne, drawnThree);
        const ranges = workerTilesPosted() - tiles - gemmTiles;
        setNumThreads(1);
        return { threads, tilesPosted: gemmTiles, rangesPosted: ranges, same, after: getNumThreads() };
      }`;
    writeFileSync(join(site, "probe.js"), probe);
    writeFileSync(join(site, "worker-src.js"), `import { probe } from "./probe.js";\nprobe().then((r) => postMessage(r), (e) => postMessage({ error: String(e && e.stack || e) }));\n`);
    writeFileSync(join(site, "main-src.js"), `
      import { probe } from "./probe.js";
      const worker = new Worker("./worker.js", { type: "module" });
      worker.onmessage = async (e) => {
        const main = await probe().catch((err) => ({ error: String(err) }));
        document.getElementById("out").textContent = JSON.stringify({ worker: e.data, main, isolated: self.crossOriginIsolated });
        document.body.dataset.state = "done";
      };`);
    writeFileSync(join(site, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><body><pre id="out"></pre><script type="module" src="./main.js"></script>`);
    await esbuild.build({
      entryPoints: { main: join(site, "main-src.js"), worker: join(site, "worker-src.js") },
      bundle: true, format: "esm", platform: "browser", outdir: site, logLevel: "silent",
    });
    return site;
  }

  it("threads run in a Worker of an isolated page (bitwise the same), fall back with one warning on its main thread and on a page that is not isolated", async () => {
    await build();
    const browser = await launchChromium();
    try {
      const results: Record<string, { text: string; warnings: string[] }> = {};
      for (const isolated of [true, false]) {
        const server = await serveStatic(site, isolated);
        servers.push(server);
        const page = await browser.context.newPage();
        const warnings: string[] = [];
        page.on("console", (m) => { if (m.type() === "warning" || m.type() === "error") warnings.push(m.text()); });
        await page.goto(server.url);
        await page.waitForSelector("body[data-state=done]", { timeout: 30_000 });
        results[String(isolated)] = { text: (await page.textContent("#out"))!, warnings };
        await page.close();
      }
      const iso = JSON.parse(results.true!.text);
      expect(iso.isolated).toBe(true);
      expect(iso.worker).toEqual({ threads: 3, tilesPosted: expect.any(Number), rangesPosted: expect.any(Number), same: true, after: 1 });
      expect(iso.worker.tilesPosted).toBeGreaterThan(0);
      expect(iso.worker.rangesPosted).toBeGreaterThan(0);
      expect(iso.main).toMatchObject({ threads: 1, tilesPosted: 0, rangesPosted: 0, same: true });
      expect(results.true!.warnings, JSON.stringify(results.true!.warnings)).toHaveLength(1);
      expect(results.true!.warnings[0]).toMatch(/Atomics\.wait is not allowed on a browser page's main thread: run wasmgrad in a Web Worker/);

      const plain = JSON.parse(results.false!.text);
      expect(plain.isolated).toBe(false);
      expect(plain.worker).toMatchObject({ threads: 1, tilesPosted: 0, rangesPosted: 0, same: true });
      expect(plain.main).toMatchObject({ threads: 1, tilesPosted: 0, rangesPosted: 0, same: true });
      // Once per JavaScript realm (the page and its worker each load wasmgrad), naming both headers.
      expect(results.false!.warnings).toHaveLength(2);
      for (const w of results.false!.warnings) {
        expect(w).toMatch(/not cross-origin isolated/);
        expect(w).toContain("Cross-Origin-Opener-Policy: same-origin");
        expect(w).toContain("Cross-Origin-Embedder-Policy: require-corp");
      }
    } finally {
      await browser.close();
    }
  }, 90_000);
});
