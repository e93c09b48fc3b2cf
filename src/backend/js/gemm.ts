import type { Heap } from "../heap.ts";
import type { GemmKernels } from "../kernels.ts";

export function jsGemmKernels(heap: Heap): GemmKernels {
  void heap;
  return {} as GemmKernels;
}
