// Fashion-MNIST, as d2l's load_data_fashion_mnist uses it: 28×28 grayscale
// images in [0, 1] and class indices.
//
// Images stay uint8 in a JS array outside the backend heap (47 MB for the full
// training split instead of 188 MB as float32); a batch is converted only when
// taken: its rows are gathered into a u8 block of the heap and one u8_to_f32
// kernel call writes the float32 batch.

import { getBackend } from "../backend/index.ts";
import { describeError, IOError } from "../errors.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { checkIndex, rowRuns, type Dataset, type RowRun } from "./dataset.ts";
import { checkFashionMnistPair, FASHION_MNIST_CLASSES, FASHION_MNIST_SIDE, readIdx } from "./idx.ts";

/** Class names by label, as d2l's get_fashion_mnist_labels spells them. */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
];

/** The class names of labels (a tensor of class indices, or numbers), like d2l's get_fashion_mnist_labels. */
export function textLabels(labels: Tensor | ArrayLike<number>): string[] {
  const values = labels instanceof Tensor ? labels.data() : labels;
  return Array.from(values, (label) => {
    const name = FASHION_MNIST_CLASS_NAMES[label];
    if (name === undefined) {
      throw new RangeError(`textLabels: ${label} is not a Fashion-MNIST class index (0 to ${FASHION_MNIST_CLASSES - 1})`);
    }
    return name;
  });
}

/** The raw IDX files (gzipped or not), for environments without a file system. */
export interface FashionMnistFiles {
  trainImages?: Uint8Array;
  trainLabels?: Uint8Array;
  testImages?: Uint8Array;
  testLabels?: Uint8Array;
}

export interface FashionMnistOptions {
  /** The training split (default) or the test split. */
  train?: boolean;
  /** A directory holding the IDX files (Node). Missing files are an error, never a fallback. */
  root?: string;
  /** A base URL the IDX files are fetched from (`<url>/<name>.gz`, else `<url>/<name>`). */
  url?: string | URL;
  /** The IDX files themselves. */
  files?: FashionMnistFiles;
}

const PIXELS = FASHION_MNIST_SIDE * FASHION_MNIST_SIDE;
const IMAGE_SHAPE = [1, FASHION_MNIST_SIDE, FASHION_MNIST_SIDE] as const;
/** Larger than any Fashion-MNIST split: a bound on what a gzip file may inflate to. */
const MAX_ITEMS = 60000;
const SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";
// A directory, not an asset for bundlers to resolve (hence @vite-ignore): read from disk in Node.
const SUBSET_URL = new URL(/* @vite-ignore */ "../../data/fashion-mnist-subset/", import.meta.url);

interface IdxFile {
  name: string;
  key: keyof FashionMnistFiles;
  maxBytes: number;
}

const SPLITS: Record<"train" | "test", { images: IdxFile; labels: IdxFile }> = {
  train: {
    images: { name: "train-images-idx3-ubyte", key: "trainImages", maxBytes: 16 + MAX_ITEMS * PIXELS },
    labels: { name: "train-labels-idx1-ubyte", key: "trainLabels", maxBytes: 8 + MAX_ITEMS },
  },
  test: {
    images: { name: "t10k-images-idx3-ubyte", key: "testImages", maxBytes: 16 + MAX_ITEMS * PIXELS },
    labels: { name: "t10k-labels-idx1-ubyte", key: "testLabels", maxBytes: 8 + MAX_ITEMS },
  },
};

/** Where the files come from: `where` names it in messages, `read` gives a file's bytes and the name they came from. */
interface Source {
  where: string;
  read(file: IdxFile): Promise<{ bytes: Uint8Array; from: string }>;
}

let subsetNoticePrinted = false;

/**
 * Loads a Fashion-MNIST split. Unless `files`, `url` or `root` says where, it
 * reads the directory $FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist
 * (Debian's dataset-fashion-mnist), else the subset bundled with wasmgrad
 * (6000 training / 1000 test images), saying so once on stderr.
 */
export async function fashionMnist(options: FashionMnistOptions = {}): Promise<FashionMnistDataset> {
  const split = (options.train ?? true) ? "train" : "test";
  const { images: imageFile, labels: labelFile } = SPLITS[split];
  const source = await locate(options, [imageFile, labelFile]);
  const [imageBytes, labelBytes] = await allInOrder([source.read(imageFile), source.read(labelFile)]);
  const [images, labels] = await allInOrder([
    readIdx(imageBytes.bytes, { name: imageBytes.from, maxBytes: imageFile.maxBytes }),
    readIdx(labelBytes.bytes, { name: labelBytes.from, maxBytes: labelFile.maxBytes }),
  ]);
  checkFashionMnistPair(images, labels, `the Fashion-MNIST ${split} split in ${source.where}`);
  return new FashionMnistDataset(images.data, new Int32Array(labels.data));
}

/** Fashion-MNIST images and labels; item i is [image float32 [1, 28, 28] in [0, 1], label int32 []]. */
export class FashionMnistDataset implements Dataset<[Tensor, Tensor]> {
  readonly length: number;

  /** `images`: n·28·28 bytes, image after image, row-major; `labels`: n class indices. */
  constructor(readonly images: Uint8Array, readonly labels: Int32Array) {
    if (images.length !== labels.length * PIXELS) {
      throw new RangeError(`FashionMnistDataset: ${labels.length} labels need ${labels.length * PIXELS} image bytes, got ${images.length}`);
    }
    this.length = labels.length;
  }

  get(index: number): [Tensor, Tensor] {
    checkIndex(index, this.length);
    return this.gather([[index, index + 1]], IMAGE_SHAPE, [], false);
  }

  getBatch(indices: Int32Array): [Tensor, Tensor] {
    const n = indices.length;
    return this.gather(rowRuns(indices, this.length), [n, ...IMAGE_SHAPE], [n], true);
  }

  private gather(
    runs: readonly RowRun[], imageShape: readonly number[], labelShape: readonly number[], stepScoped: boolean,
  ): [Tensor, Tensor] {
    const be = getBackend();
    beginOp(stepScoped ? "a DataLoader batch" : "a dataset item");
    const images = Tensor.empty(imageShape, "float32", be, stepScoped ? "step" : "temporary");
    const labels = Tensor.empty(labelShape, "int32", be, stepScoped ? "step" : "temporary");
    const count = labels.numel();
    const staging = be.allocator.alloc(count * PIXELS);
    try {
      // Views read after the allocations above, which may have grown the heap.
      const bytes = be.heap.u8;
      const ints = be.heap.i32;
      let row = 0;
      const labelBase = labels.ptr >>> 2;
      if (runs.length > 1) touchRows(this.images, runs);
      for (const [start, end] of runs) {
        bytes.set(this.images.subarray(start * PIXELS, end * PIXELS), staging + row * PIXELS);
        // A shuffled batch is 256 runs of one row: a view per label would cost more than the copy.
        for (let r = start; r < end; r++) ints[labelBase + row + r - start] = this.labels[r]!;
        row += end - start;
      }
      be.kernels.u8_to_f32(staging, images.ptr, count * PIXELS, 1 / 255);
    } finally {
      be.allocator.free(staging);
    }
    return [images, labels];
  }
}

/**
 * Reads one byte of every cache line of the rows: a shuffled batch's rows lie
 * scattered over the dataset, and these loads, independent of each other,
 * let the CPU overlap the rows' cache misses; the copies then hit the cache.
 */
function touchRows(images: Uint8Array, runs: readonly RowRun[]): void {
  let sum = 0;
  for (const [start, end] of runs) {
    for (let i = start * PIXELS, stop = end * PIXELS; i < stop; i += 64) sum += images[i]!;
  }
  touched = sum;
}
/** Keeps touchRows' loads from being dropped as dead code. */
let touched = 0;

async function locate(options: FashionMnistOptions, files: IdxFile[]): Promise<Source> {
  const given = (["files", "url", "root"] as const).filter((key) => options[key] !== undefined);
  if (given.length > 1) throw new TypeError(`fashionMnist: give at most one of files, url and root, not ${given.join(" and ")}`);
  if (options.files) return fromFiles(options.files);
  if (options.url !== undefined) return fromUrl(options.url);
  if (options.root !== undefined) return fromDirectory(options.root, "root", files);
  if (!isNode()) return fromUrl(SUBSET_URL);

  const envDir = process.env.FASHION_MNIST_DIR;
  if (envDir) return fromDirectory(envDir, "$FASHION_MNIST_DIR", files);
  const system = await fromDirectory(SYSTEM_DIR, SYSTEM_DIR, files).catch((error: unknown) => {
    if (error instanceof MissingFileError) return null;
    throw error;
  });
  if (system) return system;
  if (!subsetNoticePrinted) {
    subsetNoticePrinted = true;
    process.stderr.write(
      `wasmgrad: Fashion-MNIST not found in $FASHION_MNIST_DIR or ${SYSTEM_DIR}; using the bundled subset ` +
        "(6000 training / 1000 test images). For the full set: apt-get install dataset-fashion-mnist, " +
        "or set FASHION_MNIST_DIR to a directory with the four IDX files.\n",
    );
  }
  const { fileURLToPath } = await nodeImport<typeof import("node:url")>("url");
  return fromDirectory(fileURLToPath(SUBSET_URL), "the bundled subset", files);
}

/**
 * A Node built-in, imported only when Node code paths run, under a computed name:
 * browser bundlers (Vite, esbuild --platform=browser) then neither resolve it nor warn.
 */
function nodeImport<T>(name: string): Promise<T> {
  const specifier = `node:${name}`;
  return import(/* @vite-ignore */ specifier);
}

function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}

/**
 * Promise.all, but when several fail the error is the first one's in the list,
 * not whichever failed first: images before labels, whatever the network did.
 */
async function allInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A file missing from a directory: an IOError that locate() can tell from the others, to fall back to the subset. */
class MissingFileError extends IOError {}

function fromFiles(given: FashionMnistFiles): Source {
  return {
    where: "options.files",
    async read(file) {
      const bytes = given[file.key];
      if (!bytes) throw new TypeError(`fashionMnist: options.files has no ${file.key} (the ${file.name} file)`);
      return { bytes, from: `options.files.${file.key}` };
    },
  };
}

function fromUrl(url: string | URL): Source {
  const base = new URL(url, globalThis.location?.href);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return {
    where: base.href,
    async read(file) {
      for (const name of [`${file.name}.gz`, file.name]) {
        const address = new URL(name, base);
        const response = await fetch(address).catch((error: unknown) => {
          throw new IOError(`fashionMnist: fetching ${address} failed: ${describeError(error)}`, { cause: error });
        });
        if (response.status === 404) continue;
        if (!response.ok) throw new IOError(`fashionMnist: fetching ${address} failed: HTTP ${response.status} ${response.statusText}`);
        return { bytes: new Uint8Array(await response.arrayBuffer()), from: address.href };
      }
      throw new IOError(`fashionMnist: neither ${file.name}.gz nor ${file.name} found at ${base.href}`);
    },
  };
}

/**
 * A directory with the split's files, uncompressed or gzipped. Checks they all
 * exist before anything is read, so a missing one fails fast and by name.
 */
async function fromDirectory(dir: string, described: string, files: IdxFile[]): Promise<Source> {
  const { readFile, stat } = await nodeImport<typeof import("node:fs/promises")>("fs/promises");
  const { join } = await nodeImport<typeof import("node:path")>("path");
  const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);
  const paths = new Map<IdxFile, string>();
  for (const file of files) {
    const candidates = [join(dir, file.name), join(dir, `${file.name}.gz`)];
    const found = await Promise.all(candidates.map(isFile));
    const path = candidates.find((_, k) => found[k]);
    if (path === undefined) {
      const what = described === dir ? dir : `${described} (${dir})`;
      throw new MissingFileError(`fashionMnist: ${what} has no ${file.name} or ${file.name}.gz`);
    }
    paths.set(file, path);
  }
  return {
    where: dir,
    async read(file) {
      const path = paths.get(file)!;
      const bytes = await readFile(path).catch((error: unknown) => {
        throw new IOError(`fashionMnist: could not read ${path}: ${describeError(error)}`, { cause: error });
      });
      return { bytes, from: path };
    },
  };
}
