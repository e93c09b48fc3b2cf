// A backend = a heap, the allocator over it, and the kernels that address it.

import type { CachingAllocator } from "./allocator.ts";
import type { Heap } from "./heap.ts";
import type { Kernels } from "./kernels.ts";

export type BackendName = "wasm" | "js";

export interface Backend {
  readonly name: BackendName;
  readonly heap: Heap;
  readonly allocator: CachingAllocator;
  readonly kernels: Kernels;
  /** Scratch for f32_gemm's packing, allocated once per backend. */
  readonly gemmWorkspace: number;
  /** A small scratch block for shape / stride metadata passed to kernels. */
  readonly metaScratch: number;
  /** How the kernels run, for humans: "wasm-simd128", "wasm-simd128-relaxed" (relaxed SIMD), "js". */
  readonly description: string;
}

/** Bytes reserved for kernel metadata: 3 · 64 dims · 4 bytes, rounded up. */
export const META_SCRATCH_BYTES = 1024;
export const MAX_DIMS = 64;
