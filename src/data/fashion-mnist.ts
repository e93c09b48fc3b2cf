// Fashion-MNIST, as d2l's load_data_fashion_mnist uses it: 28×28 grayscale
// images in [0, 1] and class indices.
//
// Images stay uint8 (47 MB for the full training split instead of 188 MB as
// float32) and are converted only when a batch is taken. At the first batch on
// a backend the images and labels are copied into its heap once, as one block
// the dataset owns (like the uint8 `data` tensor of torchvision's dataset):
// then a batch is one u8_gather_rows_to_f32 call, which threads split by rows,
// and one label gather, with no per-row work on the calling thread.

import type { Backend } from "../backend/backend.ts";
import { getBackend } from "../backend/index.ts";
import { describeError, IOError } from "../errors.ts";
import { beginOp, Storage } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { checkIndex, withIndexBlock, type Dataset } from "./dataset.ts";
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

/**
 * Fashion-MNIST images and labels; item i is [image float32 [1, 28, 28] in [0, 1], label int32 []].
 *
 * The first item or batch taken on a backend copies the images and labels into
 * that backend's heap (n·784 + 4n bytes, counted in memoryStats().liveBytes and
 * as one of its liveTensors); the copy lives as long as the dataset, or until
 * dispose(). Batches read the copy: a change to `images` or `labels` made after
 * the first batch shows only after dispose().
 */
export class FashionMnistDataset implements Dataset<[Tensor, Tensor]> {
  readonly length: number;
  /** The heap copy on each backend used so far: image bytes, then labels as int32. */
  private readonly heapCopies = new Map<Backend, Storage>();

  /** `images`: n·28·28 bytes, image after image, row-major; `labels`: n class indices. */
  constructor(readonly images: Uint8Array, readonly labels: Int32Array) {
    if (images.length !== labels.length * PIXELS) {
      throw new RangeError(`FashionMnistDataset: ${labels.length} labels need ${labels.length * PIXELS} image bytes, got ${images.length}`);
    }
    this.length = labels.length;
  }

  get(index: number): [Tensor, Tensor] {
    checkIndex(index, this.length);
    return this.gather([index], IMAGE_SHAPE, [], false);
  }

  getBatch(indices: Int32Array): [Tensor, Tensor] {
    // Every index is checked before anything is made: the kernels trust them.
    for (let k = 0; k < indices.length; k++) checkIndex(indices[k]!, this.length);
    const n = indices.length;
    return this.gather(indices, [n, ...IMAGE_SHAPE], [n], true);
  }

  /**
   * Gives back the heap copies of the images and labels now rather than when
   * the dataset is garbage collected. The dataset stays usable: the next item
   * or batch copies them again.
   */
  dispose(): void {
    for (const copy of this.heapCopies.values()) copy.release("its dataset was disposed");
    this.heapCopies.clear();
  }

  /** The address of this dataset's copy in `be`'s heap, made at the first call on that backend. */
  private heapCopy(be: Backend): number {
    const have = this.heapCopies.get(be);
    if (have?.isAlive) return have.ptr;
    beginOp("FashionMnistDataset (its heap copy)");
    // Owned: the step memory rule never reclaims it; the garbage collector does once the dataset is gone.
    const copy = new Storage(be, this.images.length + 4 * this.length, "owned");
    this.heapCopies.set(be, copy);
    const ptr = copy.ptr;
    // Views read after the allocation, which may have grown the heap. The image bytes are a
    // multiple of 16, so the labels after them are aligned for int32.
    be.heap.u8.set(this.images, ptr);
    be.heap.i32.set(this.labels, (ptr + this.images.length) >>> 2);
    return ptr;
  }

  /** The items at `indices` (checked by the caller), as an image and a label tensor of the given shapes. */
  private gather(
    indices: ArrayLike<number>, imageShape: readonly number[], labelShape: readonly number[], stepScoped: boolean,
  ): [Tensor, Tensor] {
    const be = getBackend();
    // An address, which stays valid when the heap grows (only views are replaced).
    const copy = this.heapCopy(be);
    beginOp(stepScoped ? "a DataLoader batch" : "a dataset item");
    const images = Tensor.empty(imageShape, "float32", be, stepScoped ? "step" : "temporary");
    const labels = Tensor.empty(labelShape, "int32", be, stepScoped ? "step" : "temporary");
    const count = indices.length;
    withIndexBlock(be, indices, (rows) => {
      be.kernels.u8_gather_rows_to_f32(copy, rows, images.ptr, 0, count, PIXELS, 1 / 255);
      // Labels are 4-byte elements, which f32_index_select moves bit for bit.
      be.kernels.f32_index_select(copy + this.images.length, rows, labels.ptr, 1, this.length, 1, count);
    });
    return [images, labels];
  }
}

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
