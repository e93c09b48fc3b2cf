// wasmgrad: PyTorch-like tensors, autograd, nn, optim and data on a WebAssembly SIMD core.

import { getBackend } from "./backend/index.ts";
import { liveStorageCount } from "./storage.ts";

export { Tensor } from "./tensor.ts";
export { tensor, empty, zeros, ones, full, zerosLike, onesLike, randn, rand, arange } from "./tensor-creation.ts";
export { cat, stack, where } from "./ops/indexing.ts";
export type { DType, TensorOptions, NestedArray, NestedInput } from "./tensor.ts";
export type { VarOptions } from "./statistics.ts";
export { linspace, eye, oneHot } from "./math.ts";
export { ValuesIndices } from "./values-indices.ts";
export { noGrad, enableGrad, isGradEnabled, setDetectAnomaly, isAnomalyEnabled, detectAnomaly, AnomalyError } from "./autograd.ts";
export { manualSeed, getRngState, setRngState } from "./random.ts";
export type { RngState } from "./random.ts";
export { setBackend, getBackend, ready } from "./backend/index.ts";
export { setNumThreads, setNumThreadsAsync, getNumThreads } from "./backend/index.ts";
export type { BackendName } from "./backend/backend.ts";
export { ReclaimedTensorError } from "./storage.ts";
export { setMemoryLimit, getMemoryLimit, OutOfMemoryError } from "./backend/allocator.ts";
export { AutogradError, FormatError, IOError, InternalError, KeyError, SafetensorsError, UsageError } from "./errors.ts";
export * as nn from "./nn/index.ts";
export * as optim from "./optim.ts";
export * as data from "./data/index.ts";
export * as io from "./io.ts";

export interface MemoryStats {
  /** Bytes held by live tensors (rounded to allocator size classes). */
  liveBytes: number;
  /** Bytes the heap holds for reuse. */
  pooledBytes: number;
  /** The highest heap address ever used: flat once a training loop is in its steady state. */
  highWater: number;
  /** Size of the heap. */
  heapBytes: number;
  /** Tensor storages alive (views share one). */
  liveTensors: number;
}

/** Memory of the current backend's heap. */
export function memoryStats(): MemoryStats {
  const s = getBackend().allocator.stats();
  return { liveBytes: s.liveBytes, pooledBytes: s.pooledBytes, highWater: s.highWater, heapBytes: s.heapBytes, liveTensors: liveStorageCount() };
}
