import type { Heap } from "../heap.ts";
import type { ReduceKernels } from "../kernels.ts";

export function jsReduceKernels(heap: Heap): ReduceKernels {
  void heap;
  return {} as ReduceKernels;
}
