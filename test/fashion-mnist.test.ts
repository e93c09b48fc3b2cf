// fashionMnist: where it finds the files, what the dataset gives, and how a
// DataLoader batches it.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DataLoader, fashionMnist, FASHION_MNIST_CLASSES, textLabels } from "../src/data/index.ts";
import type { FashionMnistDataset } from "../src/data/fashion-mnist.ts";
import { readIdx } from "../src/data/idx.ts";
import { tensor } from "../src/tensor-creation.ts";

const SUBSET = fileURLToPath(new URL("../data/fashion-mnist-subset/", import.meta.url));
const SYSTEM = "/usr/share/datasets/fashion-mnist";

function labelCounts(ds: FashionMnistDataset): number[] {
  const counts = new Array<number>(FASHION_MNIST_CLASSES).fill(0);
  for (const label of ds.labels) counts[label]!++;
  return counts;
}

/** The pixel bytes of the subset's test images, read independently of fashionMnist. */
async function subsetTestPixels(): Promise<Uint8Array> {
  const bytes = await readFile(join(SUBSET, "t10k-images-idx3-ubyte.gz"));
  return (await readIdx(bytes, { maxBytes: 16 + 1000 * 28 * 28 })).data;
}

describe("fashionMnist on the bundled subset", () => {
  it("has 6000 training and 1000 test items, 600 and 100 per class", async () => {
    const train = await fashionMnist({ root: SUBSET, train: true });
    const test = await fashionMnist({ root: SUBSET, train: false });
    expect(train.length).toBe(6000);
    expect(test.length).toBe(1000);
    expect(labelCounts(train)).toEqual(new Array(10).fill(600));
    expect(labelCounts(test)).toEqual(new Array(10).fill(100));
  });

  it("gives item i as a float32 [1, 28, 28] image of bytes / 255 and an int32 label in [0, 10)", async () => {
    const test = await fashionMnist({ root: SUBSET, train: false });
    const pixels = await subsetTestPixels();
    const [image, label] = test.get(17);
    expect(image.shape).toEqual([1, 28, 28]);
    expect(image.dtype).toBe("float32");
    const values = image.data();
    // u8_to_f32 multiplies by f32(1/255), which can differ from p / 255 (torchvision's ToTensor) in the last bit.
    const scale = Math.fround(1 / 255);
    expect(Array.from(values)).toEqual(Array.from(pixels.subarray(17 * 784, 18 * 784), (p) => Math.fround(p * scale)));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(label.shape).toEqual([]);
    expect(label.dtype).toBe("int32");
    expect(label.item()).toBe(test.labels[17]);
    expect(label.item()).toBeGreaterThanOrEqual(0);
    expect(label.item()).toBeLessThan(10);
  });

  it("batches through a DataLoader: images [b, 1, 28, 28] and labels [b] matching the items", async () => {
    const test = await fashionMnist({ root: SUBSET, train: false });
    const pixels = await subsetTestPixels();
    const loader = new DataLoader(test, { batchSize: 256, shuffle: true });
    const sizes: number[] = [];
    const seen = new Set<number>();
    for (const [images, labels] of loader) {
      sizes.push(labels.shape[0]!);
      expect(images.shape).toEqual([labels.shape[0], 1, 28, 28]);
      expect(labels.dtype).toBe("int32");
      // Find each row's source image by its bytes; the label must be that image's.
      const values = images.data();
      const batchLabels = labels.data();
      for (const row of [0, batchLabels.length - 1]) {
        const bytes = Array.from(values.subarray(row * 784, (row + 1) * 784), (v) => Math.round(v * 255));
        const source = Array.from({ length: test.length }, (_, i) => i).find((i) =>
          bytes.every((b, p) => pixels[i * 784 + p] === b),
        );
        expect(source).toBeDefined();
        expect(batchLabels[row]).toBe(test.labels[source!]);
      }
      for (const value of batchLabels) seen.add(value);
    }
    expect(sizes).toEqual([256, 256, 256, 232]);
    expect(seen.size).toBe(10);
  });

  it("accepts the files' bytes directly", async () => {
    const test = await fashionMnist({
      train: false,
      files: {
        testImages: await readFile(join(SUBSET, "t10k-images-idx3-ubyte.gz")),
        testLabels: await readFile(join(SUBSET, "t10k-labels-idx1-ubyte.gz")),
      },
    });
    expect(test.length).toBe(1000);
    await expect(fashionMnist({ train: true, files: {} })).rejects.toThrow(/options\.files has no trainImages/);
  });

  it("fetches the files from a base URL", async () => {
    const server = createServer((request, response) => {
      const path = join(SUBSET, decodeURIComponent(new URL(request.url!, "http://x").pathname.replace(/^\/subset\//, "")));
      readFile(path).then(
        (bytes) => response.end(bytes),
        () => response.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const test = await fashionMnist({ train: false, url: `http://127.0.0.1:${port}/subset` });
      expect(test.length).toBe(1000);
      await expect(fashionMnist({ train: false, url: `http://127.0.0.1:${port}/nothing/` })).rejects.toThrow(
        /neither t10k-images-idx3-ubyte\.gz nor t10k-images-idx3-ubyte found/,
      );
    } finally {
      server.close();
    }
  });
});

describe("fashionMnist on the full data set", () => {
  const installed = existsSync(SYSTEM);
  it.skipIf(!installed)(
    `reads 60000 training and 10000 test items from ${SYSTEM}` +
      (installed ? "" : " (skipped: dataset-fashion-mnist is not installed)"),
    async () => {
      const train = await fashionMnist({ root: SYSTEM, train: true });
      const test = await fashionMnist({ root: SYSTEM, train: false });
      expect(train.length).toBe(60000);
      expect(test.length).toBe(10000);
      expect(labelCounts(train)).toEqual(new Array(10).fill(6000));
      const [images, labels] = train.getBatch(Int32Array.of(0, 59999));
      expect(images.shape).toEqual([2, 1, 28, 28]);
      expect(Array.from(labels.data())).toEqual([train.labels[0], train.labels[59999]]);
    },
  );
});

describe("fashionMnist errors", () => {
  let scratchDir: string | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
    scratchDir = undefined;
  });

  it("names the missing file of an explicit root instead of falling back", async () => {
    scratchDir = await mkdtemp(join(tmpdir(), "fashion-"));
    await writeFile(join(scratchDir, "train-images-idx3-ubyte.gz"), await readFile(join(SUBSET, "train-images-idx3-ubyte.gz")));
    await expect(fashionMnist({ root: scratchDir, train: true })).rejects.toThrow(
      /has no train-labels-idx1-ubyte or train-labels-idx1-ubyte\.gz/,
    );
    await expect(fashionMnist({ root: join(scratchDir, "absent"), train: false })).rejects.toThrow(/t10k-images-idx3-ubyte/);
  });

  it("treats $FASHION_MNIST_DIR as explicit too", async () => {
    scratchDir = await mkdtemp(join(tmpdir(), "fashion-"));
    vi.stubEnv("FASHION_MNIST_DIR", scratchDir);
    await expect(fashionMnist({ train: false })).rejects.toThrow(/\$FASHION_MNIST_DIR .* has no t10k-images-idx3-ubyte/);
  });

  it("rejects a file that is not Fashion-MNIST, naming it", async () => {
    scratchDir = await mkdtemp(join(tmpdir(), "fashion-"));
    await writeFile(join(scratchDir, "t10k-images-idx3-ubyte"), new Uint8Array([1, 2, 3, 4, 5]));
    await writeFile(join(scratchDir, "t10k-labels-idx1-ubyte.gz"), await readFile(join(SUBSET, "t10k-labels-idx1-ubyte.gz")));
    await expect(fashionMnist({ root: scratchDir, train: false })).rejects.toThrow(/bad IDX magic in .*t10k-images-idx3-ubyte/);
  });

  it("rejects more than one of files, url and root", async () => {
    await expect(fashionMnist({ root: SUBSET, url: "http://example.invalid/" })).rejects.toThrow(/at most one/);
  });
});

describe("fashionMnist's fallback to the bundled subset", () => {
  afterEach(() => {
    vi.doUnmock("node:fs/promises");
    vi.resetModules();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it("uses the subset when no data set is installed, and says so on stderr once", async () => {
    // Hide the system-wide copy, so the test behaves the same with or without it installed.
    vi.doMock("node:fs/promises", async (importOriginal) => {
      const fs = await importOriginal<typeof import("node:fs/promises")>();
      const hidden = (path: unknown) => String(path).startsWith(SYSTEM);
      return {
        ...fs,
        stat: (path: string) => (hidden(path) ? Promise.reject(new Error(`ENOENT: ${path}`)) : fs.stat(path)),
      };
    });
    vi.resetModules();
    vi.stubEnv("FASHION_MNIST_DIR", "");
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const fresh = await import("../src/data/fashion-mnist.ts");

    const test = await fresh.fashionMnist({ train: false });
    const train = await fresh.fashionMnist({ train: true });

    expect(test.length).toBe(1000);
    expect(train.length).toBe(6000);
    const notices = stderr.mock.calls.map(([text]) => String(text));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/bundled subset/);
    expect(notices[0]).toMatch(/apt-get install dataset-fashion-mnist/);
    expect(notices[0]).toMatch(/FASHION_MNIST_DIR/);
    expect(notices[0]!.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("textLabels", () => {
  it("names classes like d2l's get_fashion_mnist_labels, from numbers or a tensor", () => {
    expect(textLabels([0, 9, 5])).toEqual(["t-shirt", "ankle boot", "sandal"]);
    expect(textLabels(tensor(Int32Array.of(1, 2)))).toEqual(["trouser", "pullover"]);
    expect(() => textLabels([10])).toThrow(/not a Fashion-MNIST class index/);
  });
});
