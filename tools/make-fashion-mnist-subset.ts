// Builds data/fashion-mnist-subset/: a small, class-balanced slice of
// Fashion-MNIST that ships with the repository, so examples and tests can train
// on real images without a download.
//
//   npx tsx tools/make-fashion-mnist-subset.ts [sourceDir]
//
// sourceDir defaults to Debian's dataset-fashion-mnist install. The selection
// is deterministic (first N of each class, original order kept) and gzip output
// carries no timestamp, so rerunning reproduces the same bytes.

import { readFileSync, writeFileSync, mkdirSync, statSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkFashionMnistPair, encodeIdx, readIdx, FASHION_MNIST_CLASSES, type IdxArray } from "../src/data/idx.ts";

const DEFAULT_SOURCE_DIR = "/usr/share/datasets/fashion-mnist";
const OUTPUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "data", "fashion-mnist-subset");
const MAX_FOLDER_BYTES = 4 * 1024 * 1024;
// The full training images inflate to ~47 MB; anything much bigger is not Fashion-MNIST.
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

interface SplitSpec {
  prefix: "train" | "t10k";
  perClass: number;
}

// 600 + 100 per class keeps the 6:1 train/test ratio of the full set.
const SPLITS: SplitSpec[] = [
  { prefix: "train", perClass: 600 },
  { prefix: "t10k", perClass: 100 },
];

interface Split {
  images: IdxArray;
  labels: IdxArray;
}

async function readSplit(sourceDir: string, prefix: string): Promise<Split> {
  const read = (file: string) =>
    readIdx(new Uint8Array(readFileSync(join(sourceDir, file))), { name: file, maxBytes: MAX_DECOMPRESSED_BYTES });
  const images = await read(`${prefix}-images-idx3-ubyte.gz`);
  const labels = await read(`${prefix}-labels-idx1-ubyte.gz`);
  checkFashionMnistPair(images, labels, prefix);
  return { images, labels };
}

/** Indices of the first `perClass` examples of every class, in file order. */
function balancedIndices(labels: Uint8Array, perClass: number, prefix: string): number[] {
  const taken = new Array<number>(FASHION_MNIST_CLASSES).fill(0);
  const picked: number[] = [];
  labels.forEach((label, index) => {
    if (taken[label]! < perClass) {
      taken[label]!++;
      picked.push(index);
    }
  });
  const short = taken.findIndex((count) => count < perClass);
  if (short !== -1) throw new Error(`${prefix} has only ${taken[short]} examples of class ${short}, need ${perClass}`);
  return picked;
}

function subset(split: Split, indices: number[]): Split {
  const [, height, width] = split.images.dims as [number, number, number];
  const imageBytes = height * width;
  const images = new Uint8Array(indices.length * imageBytes);
  const labels = new Uint8Array(indices.length);
  indices.forEach((source, target) => {
    images.set(split.images.data.subarray(source * imageBytes, (source + 1) * imageBytes), target * imageBytes);
    labels[target] = split.labels.data[source]!;
  });
  return {
    images: { dtype: "uint8", dims: [indices.length, height, width], data: images },
    labels: { dtype: "uint8", dims: [indices.length], data: labels },
  };
}

function writeGzippedIdx(file: string, array: IdxArray): void {
  writeFileSync(join(OUTPUT_DIR, file), gzipSync(encodeIdx(array.dims, array.data), { level: 9 }));
}

async function verifyWritten(prefix: string, expected: Split): Promise<void> {
  const reread = await readSplit(OUTPUT_DIR, prefix);
  const same = (a: IdxArray, b: IdxArray) =>
    a.dims.join() === b.dims.join() && Buffer.compare(Buffer.from(a.data), Buffer.from(b.data)) === 0;
  if (!same(reread.images, expected.images) || !same(reread.labels, expected.labels)) {
    throw new Error(`${prefix} files in ${OUTPUT_DIR} do not read back as written`);
  }
}

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((total, file) => total + statSync(join(dir, file)).size, 0);
}

async function main(): Promise<void> {
  const sourceDir = process.argv[2] ?? DEFAULT_SOURCE_DIR;
  mkdirSync(OUTPUT_DIR, { recursive: true });
  for (const { prefix, perClass } of SPLITS) {
    const full = await readSplit(sourceDir, prefix);
    const picked = subset(full, balancedIndices(full.labels.data, perClass, prefix));
    writeGzippedIdx(`${prefix}-images-idx3-ubyte.gz`, picked.images);
    writeGzippedIdx(`${prefix}-labels-idx1-ubyte.gz`, picked.labels);
    await verifyWritten(prefix, picked);
    console.log(`${prefix}: ${picked.labels.dims[0]} of ${full.labels.dims[0]} examples (${perClass} per class)`);
  }
  const total = folderBytes(OUTPUT_DIR);
  console.log(`${OUTPUT_DIR}: ${total} bytes`);
  if (total > MAX_FOLDER_BYTES) {
    throw new Error(`subset folder is ${total} bytes, over the ${MAX_FOLDER_BYTES}-byte budget; lower perClass`);
  }
}

await main();
