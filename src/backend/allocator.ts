// A caching allocator over a backend's heap.
//
// Blocks are 64-byte aligned and rounded to size classes (64-byte steps up to
// 4 KiB, then eight steps per power of two, so at most 12.5% is rounded away).
// Freed blocks are kept in per-class free lists and merged with free
// neighbours; a request takes a block of its class, else splits a larger one,
// else extends the end of the used region, and only then grows the heap.
// A training loop asks for the same sizes every step, so after the first step
// every request is served from the lists and the heap stops growing.
//
// A block that will outlive the step (a parameter's first .grad, optimizer
// state) takes the lowest free address that fits instead. Such blocks are made
// during the first steps, among the step's temporaries: scattered wherever
// their class lists point, each splits for good a hole the temporaries reuse;
// gathered in the lowest holes, they split fewer. It shows when an evaluation
// pass runs between epochs: its last batches are still alive, elsewhere,
// during the next training step, which then needs large holes. d2l's MLP with
// 8 eval batches every 20 steps: highWater 8.49 MiB before, 7.99 MiB (the peak
// of live bytes) with this.
//
// The bookkeeping lives in JS maps, not in the heap: a kernel that writes out
// of bounds can corrupt data, but never the allocator.

import { formatBytes, MAX_HEAP_BYTES, PAGE_BYTES, type Heap } from "./heap.ts";
import { InternalError } from "../errors.ts";

export const ALIGN = 64;
/** The first ALIGN bytes are never handed out, so no valid pointer is 0. */
const BASE = ALIGN;
const SMALL_LIMIT = 4096;
const SMALL_CLASSES = SMALL_LIMIT / ALIGN;
const STEPS_PER_DOUBLING = 8;

/** The size a request of `bytes` is served with. */
export function classSize(bytes: number): number {
  const s = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (s <= SMALL_LIMIT) return s;
  const step = 2 ** Math.floor(Math.log2(s)) / STEPS_PER_DOUBLING;
  return Math.ceil(s / step) * step;
}

/** Index of the largest class whose size is ≤ `bytes` (bytes is a multiple of ALIGN, ≥ ALIGN). */
function floorClass(bytes: number): number {
  if (bytes <= SMALL_LIMIT) return bytes / ALIGN - 1;
  const e = Math.floor(Math.log2(bytes));
  const p = 2 ** e;
  const sub = Math.floor((bytes - p) / (p / STEPS_PER_DOUBLING));
  return SMALL_CLASSES - 1 + (e - Math.log2(SMALL_LIMIT)) * STEPS_PER_DOUBLING + sub;
}

let memoryLimit = MAX_HEAP_BYTES;
let countLiveTensors: () => number = () => NaN;

/**
 * Caps every backend's heap at `bytes` (rounded down to whole 64 KiB pages;
 * at most 4 GiB, the WebAssembly limit): a browser tab can stop well before
 * the tab itself would be killed. A request that would pass it throws.
 */
export function setMemoryLimit(bytes: number): void {
  if (typeof bytes !== "number" || !(bytes >= PAGE_BYTES) || !Number.isFinite(bytes)) {
    throw new RangeError(`setMemoryLimit: expected a number of bytes ≥ ${PAGE_BYTES} (one page), got ${String(bytes)}`);
  }
  memoryLimit = Math.min(MAX_HEAP_BYTES, Math.floor(bytes / PAGE_BYTES) * PAGE_BYTES);
}

/** The current cap on a heap's size, in bytes. */
export function getMemoryLimit(): number {
  return memoryLimit;
}

/** storage.ts tells the allocator how to count live tensors, for the out-of-memory message. */
export function setLiveTensorCounter(count: () => number): void {
  countLiveTensors = count;
}

/** Thrown when a request does not fit under the memory limit; nothing was allocated and no tensor was touched. */
export class OutOfMemoryError extends RangeError {
  constructor(readonly requestedBytes: number, readonly liveBytes: number, readonly limitBytes: number, why = "") {
    const tensors = countLiveTensors();
    super(
      `wasmgrad: out of memory: cannot allocate ${formatBytes(requestedBytes)} for a tensor: ` +
        `${formatBytes(liveBytes)} ${Number.isNaN(tensors) ? "is live" : `is live (${tensors} tensors)`}, ` +
        `and the limit is ${formatBytes(limitBytes)}${limitBytes === MAX_HEAP_BYTES ? ", WebAssembly's maximum" : " (setMemoryLimit)"}${why}. The usual cause is tensors kept from every step ` +
        "(a list of results, keep() or clone() in a loop): copy values out with .item() instead, dispose() what you " +
        "no longer need, or use smaller batches. memoryStats() shows what is live.",
    );
    this.name = "OutOfMemoryError";
  }
}

export interface AllocatorStats {
  /** Bytes in blocks handed out and not yet freed (rounded to their class). */
  liveBytes: number;
  /** Bytes the heap holds that are not live: reusable without growing. */
  pooledBytes: number;
  /** The highest address ever used: flat once a loop reaches its steady state. */
  highWater: number;
  /** Size of the heap itself. */
  heapBytes: number;
  liveBlocks: number;
}

export class CachingAllocator {
  private readonly freeLists: Set<number>[] = [];
  private readonly freeSizeAt = new Map<number, number>();
  private readonly freeStartByEnd = new Map<number, number>();
  private readonly liveSizeAt = new Map<number, number>();
  private top = BASE;
  private highWater = BASE;
  private liveBytes = 0;

  constructor(private readonly heap: Heap) {}

  /**
   * Returns a 64-byte aligned pointer to at least `bytes` bytes (contents undefined).
   * `longLived`: the block will outlive the current step (see the placement rule above).
   */
  alloc(bytes: number, longLived = false): number {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new RangeError(`wasmgrad: cannot allocate ${bytes} bytes: the size must be a finite number ≥ 0`);
    }
    if (bytes > memoryLimit - BASE) throw new OutOfMemoryError(bytes, this.liveBytes, memoryLimit);
    const size = classSize(bytes);
    const ptr = (longLived ? this.takeLowest(size) : this.takeFree(size)) ?? this.extend(size, bytes);
    this.liveSizeAt.set(ptr, size);
    this.liveBytes += size;
    return ptr;
  }

  free(ptr: number): void {
    const size = this.liveSizeAt.get(ptr);
    if (size === undefined) throw new InternalError(`free of unknown pointer ${ptr}`);
    this.liveSizeAt.delete(ptr);
    this.liveBytes -= size;
    let start = ptr;
    let end = ptr + size;
    const before = this.freeStartByEnd.get(start);
    if (before !== undefined) {
      this.unlinkFree(before);
      start = before;
    }
    const afterSize = this.freeSizeAt.get(end);
    if (afterSize !== undefined) {
      this.unlinkFree(end);
      end += afterSize;
    }
    if (end === this.top) this.top = start;
    else this.linkFree(start, end - start);
  }

  /** Size of the block at ptr (its class size), or undefined if ptr is not live. */
  sizeOf(ptr: number): number | undefined {
    return this.liveSizeAt.get(ptr);
  }

  stats(): AllocatorStats {
    const heapBytes = this.heap.byteLength;
    return {
      liveBytes: this.liveBytes,
      pooledBytes: heapBytes - BASE - this.liveBytes,
      highWater: this.highWater,
      heapBytes,
      liveBlocks: this.liveSizeAt.size,
    };
  }

  private takeFree(size: number): number | undefined {
    // A block in class ≥ ceil-class(size) is at least `size` long. Lists hold
    // blocks by the floor of their size, so start one class up unless exact.
    let cls = floorClass(size);
    for (; cls < this.freeLists.length; cls++) {
      const list = this.freeLists[cls];
      if (list === undefined || list.size === 0) continue;
      // The lowest fitting block of the class, not the first listed: the choice then
      // depends on the layout alone, not on the order of past frees, so a loop's
      // layout repeats instead of drifting upwards over thousands of steps.
      let best = -1;
      let bestSize = Infinity;
      for (const ptr of list) {
        const have = this.freeSizeAt.get(ptr)!;
        if (have >= size && (have < bestSize || (have === bestSize && ptr < best))) {
          best = ptr;
          bestSize = have;
        }
      }
      if (best === -1) continue; // only possible in the request's own floor class
      const have = this.freeSizeAt.get(best)!;
      this.unlinkFree(best);
      if (have > size) this.linkFree(best + size, have - size);
      return best;
    }
    return undefined;
  }

  /** Scans every free block: a training loop makes its long-lived blocks in its first steps, off the hot path. */
  private takeLowest(size: number): number | undefined {
    let ptr: number | undefined;
    for (const [p, have] of this.freeSizeAt) if (have >= size && (ptr === undefined || p < ptr)) ptr = p;
    if (ptr === undefined) return undefined;
    const have = this.freeSizeAt.get(ptr)!;
    this.unlinkFree(ptr);
    if (have > size) this.linkFree(ptr + size, have - size);
    return ptr;
  }

  private extend(size: number, requested: number): number {
    // A free block that ends at the top can be grown in place.
    const tail = this.freeStartByEnd.get(this.top);
    const start = tail ?? this.top;
    const end = start + size;
    // Checked before anything changes: a block past the limit would wrap around the 32-bit address space.
    if (end > memoryLimit) throw new OutOfMemoryError(requested, this.liveBytes, memoryLimit);
    if (end > this.heap.byteLength) {
      const have = this.heap.byteLength;
      const wanted = Math.min(memoryLimit, Math.max(end, have + Math.min(have, 64 << 20)));
      try {
        this.heap.growTo(wanted);
      } catch {
        try {
          this.heap.growTo(end); // retry without headroom
        } catch (e) {
          throw new OutOfMemoryError(requested, this.liveBytes, memoryLimit, ` (the engine refused to grow the heap: ${(e as Error).message})`);
        }
      }
    }
    if (tail !== undefined) this.unlinkFree(tail);
    this.top = end;
    if (end > this.highWater) this.highWater = end;
    return start;
  }

  private linkFree(ptr: number, size: number): void {
    const cls = floorClass(size);
    while (this.freeLists.length <= cls) this.freeLists.push(new Set());
    this.freeLists[cls].add(ptr);
    this.freeSizeAt.set(ptr, size);
    this.freeStartByEnd.set(ptr + size, ptr);
  }

  private unlinkFree(ptr: number): void {
    const size = this.freeSizeAt.get(ptr)!;
    this.freeLists[floorClass(size)].delete(ptr);
    this.freeSizeAt.delete(ptr);
    this.freeStartByEnd.delete(ptr + size);
  }
}
