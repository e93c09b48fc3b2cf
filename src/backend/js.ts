// The JS backend: every kernel of kernels.ts in plain TypeScript over an
// ArrayBuffer heap. It is the oracle the Wasm kernels are tested against and
// the "JS" side of the Wasm-vs-JS benchmarks, so it favours clarity, but it
// computes in f32 like the Wasm kernels (Math.fround) where that matters.

import { CachingAllocator } from "./allocator.ts";
import { META_SCRATCH_BYTES, type Backend } from "./backend.ts";
import { ArrayHeap } from "./heap.ts";
import type { Kernels } from "./kernels.ts";
import { jsGemmKernels } from "./js/gemm.ts";
import { jsElementwiseUnaryKernels } from "./js/elementwise-unary.ts";
import { jsElementwiseBinaryKernels } from "./js/elementwise-binary.ts";
import { jsElementwiseCopyKernels } from "./js/elementwise-copy.ts";
import { jsReduceKernels } from "./js/reduce.ts";
import { jsRandomKernels } from "./js/random.ts";
import { jsDropoutKernels } from "./js/dropout.ts";
import { jsLossKernels } from "./js/loss.ts";
import { jsLossRowKernels } from "./js/loss-rows.ts";
import { jsOptimKernels } from "./js/optim.ts";
import { jsIndexingKernels } from "./js/indexing.ts";
import { jsPointwiseKernels } from "./js/pointwise.ts";
import { jsConvKernels } from "./js/conv.ts";
import { jsPoolKernels } from "./js/pool.ts";
import { jsBatchNormKernels } from "./js/batchnorm.ts";

export function createJsBackend(): Backend {
  const heap = new ArrayHeap(16 * 65536);
  const allocator = new CachingAllocator(heap);
  const kernels: Kernels = {
    ...jsGemmKernels(heap),
    ...jsElementwiseUnaryKernels(heap),
    ...jsElementwiseBinaryKernels(heap),
    ...jsElementwiseCopyKernels(heap),
    ...jsReduceKernels(heap),
    ...jsRandomKernels(heap),
    ...jsDropoutKernels(heap),
    ...jsLossKernels(heap),
    ...jsLossRowKernels(heap),
    ...jsOptimKernels(heap),
    ...jsIndexingKernels(heap),
    ...jsPointwiseKernels(heap),
    ...jsConvKernels(heap),
    ...jsPoolKernels(heap),
    ...jsBatchNormKernels(heap),
  };
  return {
    name: "js",
    heap,
    allocator,
    kernels,
    gemmWorkspace: allocator.alloc(kernels.f32_gemm_workspace_size()),
    metaScratch: allocator.alloc(META_SCRATCH_BYTES),
    description: "js",
  };
}
