import type { Heap } from "../heap.ts";
import type { ElementwiseKernels } from "../kernels.ts";

export function jsElementwiseKernels(heap: Heap): ElementwiseKernels {
  void heap;
  return {} as ElementwiseKernels;
}
