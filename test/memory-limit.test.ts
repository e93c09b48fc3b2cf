// At the memory limit a tensor request throws a clear error, and every live
// tensor keeps its values: on both backends, at 4 GiB and at a user's limit.

import { describe, expect, it, vi } from "vitest";

/** A fresh copy of the library on `backend`: an empty heap, and a limit of its own. */
async function fresh(backend: "wasm" | "js") {
  vi.resetModules();
  const lib = await import("../src/index.ts");
  lib.setBackend(backend);
  return lib;
}

const MiB = 1 << 20;

describe("the memory limit, through tensors", () => {
  for (const backend of ["wasm", "js"] as const) {
    it(`${backend}: past 4 GiB a request throws, and a tensor made before keeps its values (the issue's case)`, async () => {
      const { tensor, empty, full, memoryStats, OutOfMemoryError } = await fresh(backend);
      const p = tensor([1, 2, 3, 4]);
      const big = empty([1e9]);
      const before = memoryStats();
      expect(() => full([2 ** 28], 7)).toThrow(OutOfMemoryError);
      expect(() => full([2 ** 28], 7)).toThrow(
        /out of memory: cannot allocate 1\.0 GiB \(1073741824 bytes\) for a tensor: 3\.\d GiB \(\d+ bytes\) is live \(2 tensors\), and the limit is 4\.0 GiB/,
      );
      expect(p.toArray()).toEqual([1, 2, 3, 4]);
      expect(memoryStats()).toEqual(before);
      expect(before.pooledBytes).toBeGreaterThanOrEqual(0);
      big.dispose();
      expect(full([4], 7).toArray()).toEqual([7, 7, 7, 7]);
      expect(p.toArray()).toEqual([1, 2, 3, 4]);
    });

    it(`${backend}: setMemoryLimit caps the heap; requests up to it succeed, the next one names the sizes and the cause`, async () => {
      const { tensor, empty, memoryStats, setMemoryLimit, randn } = await fresh(backend);
      setMemoryLimit(8 * MiB);
      const weights = randn([100]).keep();
      const values = Array.from(weights.data());
      const kept: ReturnType<typeof empty>[] = [];
      let error: Error | null = null;
      // A sequence of 1 MiB requests: the last that fits ends at most at the limit, the next throws.
      for (let i = 0; i < 16 && !error; i++) {
        try {
          kept.push(empty([MiB / 4]).keep());
        } catch (e) {
          error = e as Error;
        }
      }
      expect(kept.length).toBeGreaterThanOrEqual(6);
      expect(error?.message).toMatch(/cannot allocate 1\.0 MiB \(1048576 bytes\) for a tensor: .* is live \(\d+ tensors\), and the limit is 8\.0 MiB \(8388608 bytes\) \(setMemoryLimit\)\. The usual cause is tensors kept from every step/);
      const s = memoryStats();
      expect(s.heapBytes).toBeLessThanOrEqual(8 * MiB);
      expect(s.pooledBytes).toBeGreaterThanOrEqual(0);
      expect(Array.from(weights.data())).toEqual(values);
      kept.pop()!.dispose();
      expect(tensor([5, 6]).toArray()).toEqual([5, 6]);
      setMemoryLimit(2 ** 32);
    });
  }
});
