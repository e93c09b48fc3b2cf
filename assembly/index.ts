// The module's exports: every kernel family. Kernels take pointers (byte offsets
// into the imported memory) and sizes; none allocates or keeps static data, so
// one module can be instantiated by several workers over one shared memory.
export * from "./elementwise-unary";
export * from "./elementwise-binary";
export * from "./elementwise-copy";
export * from "./reduce";
export * from "./random";
export * from "./dropout";
export * from "./loss";
export * from "./optim";
export * from "./indexing";
export * from "./pointwise";
export * from "./conv";
export * from "./pool";
export * from "./batchnorm";
// Last, so that its functions are last in the code section: the relaxed-SIMD
// build differs from the baseline one in GEMM alone (see tools/build-wasm.mjs).
export * from "./gemm";
