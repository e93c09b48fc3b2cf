import type { Heap } from "../heap.ts";
import type { OptimKernels } from "../kernels.ts";

export function jsOptimKernels(heap: Heap): OptimKernels {
  void heap;
  return {} as OptimKernels;
}
