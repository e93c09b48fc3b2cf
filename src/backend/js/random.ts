import type { Heap } from "../heap.ts";
import type { RandomKernels } from "../kernels.ts";

export function jsRandomKernels(heap: Heap): RandomKernels {
  void heap;
  return {} as RandomKernels;
}
