// A Fashion-MNIST-shaped data set (uint8 28×28 images, labels 0–9) filled with
// a fixed pattern, and a training loop over it in a fresh copy of the library:
// for the memory and thread checks, which need the real shapes and dtypes but
// no learning.

import { vi } from "vitest";
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

export interface FreshLoop {
  /** Two training batches (one `trainEpoch` with maxBatches 2). */
  train(): Promise<unknown>;
  /** One evaluation pass over the test loader. */
  evaluate(): unknown;
  /** The fresh copy's memoryStats. */
  memoryStats: typeof wasmgrad.memoryStats;
}

/**
 * A fresh copy of the library (vi.resetModules: the heap starts empty whatever
 * ran before in the file, so its layout is this loop's own), and in it the
 * training.ts model `model` with SGD and cross-entropy over patterned data:
 * a shuffled train loader and an evaluation loader, both of `batchSize`.
 */
export async function freshTrainingLoop(options: {
  model: "lenet" | "mlp"; seed: number; trainItems: number; testItems: number; batchSize: number; lr: number;
}): Promise<FreshLoop> {
  vi.resetModules();
  const { data, manualSeed, memoryStats, nn, optim } = await import("../../src/index.ts");
  const { buildLenet, buildMlp, evaluateAccuracy, trainEpoch } = await import("../../src/training.ts");
  manualSeed(options.seed);
  const trainLoader = new data.DataLoader(patternedFashionMnist(data, options.trainItems), { batchSize: options.batchSize, shuffle: true });
  const testLoader = new data.DataLoader(patternedFashionMnist(data, options.testItems), { batchSize: options.batchSize });
  const net = options.model === "lenet" ? buildLenet() : buildMlp();
  const opt = new optim.SGD(net.parameters(), { lr: options.lr });
  const lossFn = new nn.CrossEntropyLoss();
  return {
    train: () => trainEpoch(net, trainLoader, opt, lossFn, { maxBatches: 2 }),
    evaluate: () => evaluateAccuracy(net, testLoader),
    memoryStats,
  };
}
