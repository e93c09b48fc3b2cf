import { describe, expect, it } from "vitest";
import { ALIGN, CachingAllocator, classSize, OutOfMemoryError, setMemoryLimit } from "../src/backend/allocator.ts";
import { ArrayHeap, MAX_HEAP_BYTES, WasmHeap } from "../src/backend/heap.ts";
import { rng } from "./helpers/backends.ts";

function freshAllocator(): { heap: ArrayHeap; alloc: CachingAllocator } {
  const heap = new ArrayHeap(65536);
  return { heap, alloc: new CachingAllocator(heap) };
}

describe("caching allocator", () => {
  it("hands out 64-byte aligned, non-overlapping blocks, never at address 0", () => {
    const { alloc } = freshAllocator();
    const blocks = [1, 3, 64, 65, 100, 4096, 5000, 70000].map((n) => ({ p: alloc.alloc(n), n }));
    for (const { p } of blocks) {
      expect(p % ALIGN).toBe(0);
      expect(p).toBeGreaterThan(0);
    }
    const sorted = [...blocks].sort((a, b) => a.p - b.p);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].p).toBeGreaterThanOrEqual(sorted[i - 1].p + sorted[i - 1].n);
  });

  it("rounds sizes to classes that waste at most 12.5% above 4 KiB", () => {
    for (let n = 1; n < 1 << 22; n = Math.ceil(n * 1.37)) {
      const c = classSize(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c % ALIGN).toBe(0);
      if (n > 4096) expect(c / n).toBeLessThanOrEqual(1.125 + 1e-9);
    }
  });

  it("reuses a freed block of the same size instead of growing", () => {
    const { alloc } = freshAllocator();
    const a = alloc.alloc(1000);
    alloc.alloc(64); // keep a neighbour so a is not the top block
    alloc.free(a);
    const before = alloc.stats().highWater;
    expect(alloc.alloc(1000)).toBe(a);
    expect(alloc.stats().highWater).toBe(before);
  });

  it("merges freed neighbours so a larger request fits without growing", () => {
    const { alloc } = freshAllocator();
    const a = alloc.alloc(4096);
    const b = alloc.alloc(4096);
    alloc.alloc(64);
    alloc.free(a);
    alloc.free(b);
    const hw = alloc.stats().highWater;
    expect(alloc.alloc(8192)).toBe(a);
    expect(alloc.stats().highWater).toBe(hw);
  });

  it("puts a block that outlives the step at the lowest free address that fits", () => {
    const { alloc } = freshAllocator();
    const low = alloc.alloc(8192);
    alloc.alloc(64);
    const high = alloc.alloc(4096);
    alloc.alloc(64);
    alloc.free(high);
    alloc.free(low);
    // A temporary takes the lowest block of the smallest class that fits; a long-lived one packs low.
    const temporary = alloc.alloc(1000);
    expect(temporary).toBe(high);
    alloc.free(temporary);
    expect(alloc.alloc(1000, true)).toBe(low);
    expect(alloc.alloc(3000, true)).toBe(low + classSize(1000));
  });

  it("serves a temporary from the lowest block of its class, whatever order the blocks were freed in", () => {
    const { alloc } = freshAllocator();
    const blocks = [0, 1, 2].map(() => {
      const p = alloc.alloc(4096);
      alloc.alloc(64);
      return p;
    });
    for (const p of [blocks[2], blocks[0], blocks[1]]) alloc.free(p);
    expect(blocks.map(() => alloc.alloc(4096))).toEqual(blocks);
  });

  it("keeps the high-water mark flat over 100k alloc/free cycles of mixed sizes", () => {
    const { alloc } = freshAllocator();
    const r = rng(7);
    const sizes = [16, 100, 784 * 4, 256 * 4, 256 * 784 * 4, 10 * 256 * 4, 1 << 16, 12345];
    const live: number[] = [];
    let hwAfterWarmup = 0;
    for (let i = 0; i < 100_000; i++) {
      if (live.length < 40 && (live.length === 0 || r() < 0.5)) live.push(alloc.alloc(sizes[Math.floor(r() * sizes.length)]));
      else alloc.free(live.splice(Math.floor(r() * live.length), 1)[0]);
      if (i === 20_000) hwAfterWarmup = alloc.stats().highWater;
    }
    expect(alloc.stats().highWater).toBe(hwAfterWarmup);
    for (const p of live) alloc.free(p);
    expect(alloc.stats().liveBytes).toBe(0);
  });

  it("reports live and pooled bytes", () => {
    const { alloc } = freshAllocator();
    const p = alloc.alloc(1000);
    const s = alloc.stats();
    expect(s.liveBytes).toBe(classSize(1000));
    expect(s.liveBlocks).toBe(1);
    expect(s.pooledBytes + s.liveBytes + ALIGN).toBe(s.heapBytes);
    alloc.free(p);
    expect(alloc.stats().liveBytes).toBe(0);
  });

  it("grows the heap when nothing fits and keeps the data already there", () => {
    const { heap, alloc } = freshAllocator();
    const p = alloc.alloc(16);
    heap.f32[p >> 2] = 42;
    alloc.alloc(10 << 20);
    expect(heap.byteLength).toBeGreaterThanOrEqual(10 << 20);
    expect(heap.f32[p >> 2]).toBe(42);
  });

  it("throws a RangeError naming the size for a request beyond 4 GiB, and stays usable", () => {
    const { alloc } = freshAllocator();
    const p = alloc.alloc(64);
    expect(() => alloc.alloc(5 * 2 ** 30)).toThrow(/cannot allocate 5\.0 GiB \(5368709120 bytes\).*limit is 4\.0 GiB .*WebAssembly's maximum/);
    expect(() => alloc.alloc(MAX_HEAP_BYTES)).toThrow(RangeError);
    expect(() => alloc.alloc(-1)).toThrow(/finite number/);
    expect(() => alloc.alloc(NaN)).toThrow(/finite number/);
    alloc.free(p);
    expect(alloc.alloc(64)).toBe(p);
  });

  it("turns a failed growth of a Wasm memory into a RangeError and corrupts nothing", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const heap = new WasmHeap(memory);
    const alloc = new CachingAllocator(heap);
    const p = alloc.alloc(64);
    heap.f32[p >> 2] = 7;
    expect(() => alloc.alloc(1 << 20)).toThrow(RangeError);
    expect(heap.f32[p >> 2]).toBe(7);
    const q = alloc.alloc(1000);
    expect(q).toBeGreaterThan(p);
  });
});

describe("the memory limit", () => {
  const MiB = 1 << 20;
  /** Class sizes that fill a 1 MiB heap to 4 032 bytes short of its end (the first 64 bytes are never handed out). */
  const FILL = [512, 256, 128, 64, 32, 16, 8, 4].map((k) => k << 10);
  const heaps = {
    js: () => new ArrayHeap(65536),
    wasm: () => new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 65536 })),
  };

  function withLimit(bytes: number, fn: () => void): void {
    setMemoryLimit(bytes);
    try {
      fn();
    } finally {
      setMemoryLimit(MAX_HEAP_BYTES);
    }
  }

  for (const [name, makeHeap] of Object.entries(heaps)) {
    it(`${name}: serves a block that ends exactly at the limit and refuses one byte more, changing nothing`, () => {
      withLimit(MiB, () => {
        const alloc = new CachingAllocator(makeHeap());
        for (const n of FILL) alloc.alloc(n);
        expect(MiB - alloc.stats().highWater).toBe(4032);
        expect(() => alloc.alloc(4033)).toThrow(OutOfMemoryError);
        const before = alloc.stats();
        expect(() => alloc.alloc(4033)).toThrow(/cannot allocate 3\.9 KiB \(4033 bytes\) for a tensor: 1020\.0 KiB \(1044480 bytes\) is live.*limit is 1\.0 MiB/);
        expect(alloc.stats()).toEqual(before);
        const last = alloc.alloc(4032);
        expect(last + 4032).toBe(MiB);
        expect(alloc.stats().heapBytes).toBe(MiB);
        expect(() => alloc.alloc(1)).toThrow(OutOfMemoryError);
        alloc.free(last);
        expect(alloc.alloc(1)).toBe(last);
      });
    });

    it(`${name}: refuses each request of a random sequence that would pass the limit, and no live block is touched`, () => {
      withLimit(4 * MiB, () => {
        const heap = makeHeap();
        const alloc = new CachingAllocator(heap);
        const r = rng(7);
        const live = new Map<number, { n: number; tag: number }>();
        let refused = 0;
        for (let i = 0; i < 3000; i++) {
          if (live.size > 0 && r() < 0.35) {
            const ptr = [...live.keys()][Math.floor(r() * live.size)];
            alloc.free(ptr);
            live.delete(ptr);
            continue;
          }
          const n = 4 + Math.floor(r() ** 3 * 600_000);
          const before = alloc.stats();
          let ptr: number;
          try {
            ptr = alloc.alloc(n);
          } catch (e) {
            expect(e).toBeInstanceOf(OutOfMemoryError);
            expect(alloc.stats()).toEqual(before);
            refused++;
            continue;
          }
          expect(ptr + n).toBeLessThanOrEqual(4 * MiB);
          heap.i32.fill(i, ptr >>> 2, (ptr + n) >>> 2);
          live.set(ptr, { n, tag: i });
        }
        expect(refused).toBeGreaterThan(10);
        for (const [ptr, { n, tag }] of live) expect(heap.i32.subarray(ptr >>> 2, (ptr + n) >>> 2).every((v) => v === tag)).toBe(true);
        const s = alloc.stats();
        expect(s.heapBytes).toBeLessThanOrEqual(4 * MiB);
        expect(s.pooledBytes).toBeGreaterThanOrEqual(0);
        expect(s.liveBytes + s.pooledBytes + ALIGN).toBe(s.heapBytes);
        expect(s.liveBlocks).toBe(live.size);
      });
    });
  }

  it("refuses a limit below one page or not a number", () => {
    expect(() => setMemoryLimit(1000)).toThrow(/setMemoryLimit: expected a number of bytes ≥ 65536/);
    expect(() => setMemoryLimit(NaN)).toThrow(RangeError);
  });
});
