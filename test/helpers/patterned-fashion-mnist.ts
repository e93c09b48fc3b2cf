// A Fashion-MNIST-shaped data set (uint8 28×28 images, labels 0–9) filled with
// a fixed pattern: for the memory and thread checks, which need the real
// shapes and dtypes but no learning.

import type * as wasmgrad from "../../src/index.ts";

/**
 * n items: pixel i is (i·pixelStep) mod 256, label k is (k·labelStep) mod 10.
 * `data` is the library's data namespace, passed in because these tests import
 * a fresh copy of the library (vi.resetModules) and must use that copy's classes.
 */
export function patternedFashionMnist(
  data: typeof wasmgrad.data, n: number, pixelStep = 37, labelStep = 7,
): InstanceType<typeof wasmgrad.data.FashionMnistDataset> {
  return new data.FashionMnistDataset(
    Uint8Array.from({ length: n * 784 }, (_, i) => (i * pixelStep) % 256),
    Int32Array.from({ length: n }, (_, i) => (i * labelStep) % 10),
  );
}
