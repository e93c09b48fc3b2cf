// FashionMnistDataset's batches: what they hold (each index's image bytes
// × f32(1/255) and its label, whatever the backend or thread count), how bad
// indices fail, and the heap copy of the images and labels they are gathered
// from (made once per backend, given back by dispose()).

import { afterEach, describe, expect, it } from "vitest";
import { getBackend, setBackend, setNumThreads } from "../src/backend/index.ts";
import { FashionMnistDataset } from "../src/data/fashion-mnist.ts";
import { DataLoader } from "../src/data/loader.ts";
import { memoryStats } from "../src/index.ts";
import { manualSeed } from "../src/random.ts";
import type { Tensor } from "../src/tensor.ts";

const PIXELS = 784;
const SCALE = Math.fround(1 / 255);

/** n seeded images of bytes 0-255 (the last pixel of image 0 is 255) and labels 0-9. */
function syntheticDataset(n: number, seed: number): FashionMnistDataset {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
  const images = Uint8Array.from({ length: n * PIXELS }, next);
  images[PIXELS - 1] = 255;
  const labels = Int32Array.from({ length: n }, () => next() % 10);
  return new FashionMnistDataset(images, labels);
}

/** The batch at `indices` by definition: image bytes × f32(1/255), and labels, from the dataset's own arrays. */
function expectedBatch(ds: FashionMnistDataset, indices: ArrayLike<number>): [Float32Array, Int32Array] {
  const images = new Float32Array(indices.length * PIXELS);
  Array.from(indices).forEach((index, row) => {
    for (let p = 0; p < PIXELS; p++) images[row * PIXELS + p] = ds.images[index * PIXELS + p]! * SCALE;
  });
  return [images, Int32Array.from(indices, (i) => ds.labels[i]!)];
}

/** Records the indices a DataLoader asks for, batch by batch. */
function recording(ds: FashionMnistDataset): { ds: FashionMnistDataset; asked: Int32Array[] } {
  const asked: Int32Array[] = [];
  const getBatch = ds.getBatch.bind(ds);
  ds.getBatch = (indices: Int32Array) => {
    asked.push(indices.slice());
    return getBatch(indices);
  };
  return { ds, asked };
}

/** Where two arrays first differ (bit for bit, as numbers of the same type), or -1: cheaper than toEqual on 10^5 elements. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function bits(t: Tensor): Uint8Array {
  const values = t.data();
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

afterEach(() => {
  setNumThreads(1);
  setBackend("wasm");
});

describe("FashionMnistDataset batches", () => {
  it("a seeded shuffled DataLoader yields each asked index's image bytes × f32(1/255) and its label, bitwise alike on the Wasm backend at 1, 2 and 3 threads and on the JS backend", () => {
    const runs: Uint8Array[][] = [];
    for (const [backend, threads] of [["wasm", 1], ["wasm", 2], ["wasm", 3], ["js", 1]] as const) {
      setBackend(backend);
      setNumThreads(threads);
      const { ds, asked } = recording(syntheticDataset(700, 1));
      manualSeed(11);
      const batches: Uint8Array[] = [];
      for (const [images, labels] of new DataLoader(ds, { batchSize: 256, shuffle: true })) {
        const [wantImages, wantLabels] = expectedBatch(ds, asked[asked.length - 1]!);
        expect(images.shape).toEqual([wantLabels.length, 1, 28, 28]);
        expect(labels.shape).toEqual([wantLabels.length]);
        expect(firstDifference(images.data(), wantImages), `${backend} on ${threads} threads: images`).toBe(-1);
        expect(firstDifference(labels.data(), wantLabels), `${backend} on ${threads} threads: labels`).toBe(-1);
        batches.push(bits(images), bits(labels));
      }
      expect(asked.map((a) => a.length)).toEqual([256, 256, 188]);
      runs.push(batches);
    }
    for (const run of runs.slice(1)) {
      expect(run.length).toBe(runs[0]!.length);
      run.forEach((batch, k) => expect(firstDifference(batch, runs[0]![k]!)).toBe(-1));
    }
  });

  it("gives item i alone as its [1, 28, 28] image and 0-d label, the same as row i of a batch", () => {
    const ds = syntheticDataset(20, 2);
    const [image, label] = ds.get(13);
    const [batchImages, batchLabels] = ds.getBatch(Int32Array.of(4, 13));
    expect(image.shape).toEqual([1, 28, 28]);
    expect(label.shape).toEqual([]);
    expect(image.data()).toEqual(batchImages.data().subarray(PIXELS, 2 * PIXELS));
    expect(label.item()).toBe(batchLabels.data()[1]);
    expect(Math.max(...ds.get(0)[0].data())).toBe(1);
  });

  it("refuses an index out of range, negative or not an integer with PyTorch's RangeError, before reading or making anything", () => {
    const ds = syntheticDataset(30, 3);
    ds.getBatch(Int32Array.of(0)); // the heap copy, made once
    const before = memoryStats();
    expect(() => ds.getBatch(Int32Array.of(1, 30))).toThrow(new RangeError("index 30 is out of range for a dataset of 30 items"));
    expect(() => ds.getBatch(Int32Array.of(-1, 2))).toThrow(new RangeError("index -1 is out of range for a dataset of 30 items"));
    expect(() => ds.get(30)).toThrow(new RangeError("index 30 is out of range for a dataset of 30 items"));
    expect(() => ds.get(1.5)).toThrow(new RangeError("index 1.5 is out of range for a dataset of 30 items"));
    expect(() => ds.getBatch(Int32Array.of(2 ** 31 - 1))).toThrow(RangeError);
    expect(memoryStats()).toEqual(before);
  });
});

describe("FashionMnistDataset's heap copy", () => {
  it("is made once, at the first batch: its n·784 + 4n bytes stay live and later epochs hold memory flat", () => {
    const n = 600;
    const ds = syntheticDataset(n, 4);
    const loader = new DataLoader(ds, { batchSize: 100, shuffle: true });
    const before = memoryStats();
    ds.getBatch(Int32Array.of(0));
    const copied = memoryStats();
    expect(copied.liveBytes - before.liveBytes).toBeGreaterThanOrEqual(n * PIXELS + 4 * n);
    expect(copied.liveTensors - before.liveTensors).toBe(3); // the copy, and the batch's images and labels
    const afterEpoch: { liveBytes: number; liveTensors: number; highWater: number }[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      for (const [images] of loader) images.sum().item();
      const { liveBytes, liveTensors, highWater } = memoryStats();
      afterEpoch.push({ liveBytes, liveTensors, highWater });
    }
    expect(afterEpoch[3]).toEqual(afterEpoch[1]);
    expect(afterEpoch[2]).toEqual(afterEpoch[1]);
  });

  it("is one per dataset and per backend, and dispose() gives them all back; the next batch copies again", () => {
    const a = syntheticDataset(50, 5);
    const b = syntheticDataset(50, 6);
    const copyBytes = 50 * PIXELS + 4 * 50;
    const onWasm = memoryStats().liveBytes;
    const [wasmA] = a.getBatch(Int32Array.of(7));
    const [wasmB] = b.getBatch(Int32Array.of(7));
    expect(memoryStats().liveBytes - onWasm).toBeGreaterThanOrEqual(2 * copyBytes);
    setBackend("js");
    const onJs = memoryStats().liveBytes;
    const [jsA] = a.getBatch(Int32Array.of(7));
    expect(memoryStats().liveBytes - onJs).toBeGreaterThanOrEqual(copyBytes);
    expect(jsA.data()).toEqual(wasmA.data());
    expect(wasmB.data()).not.toEqual(wasmA.data());

    const jsHeld = memoryStats().liveBytes;
    a.dispose();
    expect(jsHeld - memoryStats().liveBytes).toBeGreaterThanOrEqual(copyBytes);
    expect(a.getBatch(Int32Array.of(7))[0].data()).toEqual(jsA.data());
    setBackend("wasm");
    expect(getBackend().name).toBe("wasm");
    expect(a.getBatch(Int32Array.of(7))[0].data()).toEqual(wasmA.data());
    expect(b.getBatch(Int32Array.of(7))[0].data()).toEqual(wasmB.data());
  });
});
