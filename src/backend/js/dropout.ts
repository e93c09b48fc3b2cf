import type { Heap } from "../heap.ts";
import type { DropoutKernels } from "../kernels.ts";

export function jsDropoutKernels(heap: Heap): DropoutKernels {
  void heap;
  return {} as DropoutKernels;
}
