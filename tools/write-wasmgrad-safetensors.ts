// Writes the wasmgrad side of the PyTorch round trip (see tools/safetensors_roundtrip.py):
//
//   npx tsx tools/write-wasmgrad-safetensors.ts
//
// test/fixtures/safetensors/wasmgrad_mlp.safetensors   the d2l dropout MLP, seeded, as wasmgrad saves it
// test/fixtures/safetensors/wasmgrad_mlp_io.json       a fixed input and the model's eval-mode output
//
// then `/usr/bin/python3 tools/safetensors_roundtrip.py read-wasmgrad` loads the file into PyTorch and
// checks its output against this one. test/io.test.ts rebuilds the model with buildWasmgradMlp() and
// checks the current code still writes exactly the committed bytes, so what PyTorch verified is what
// wasmgrad writes today.

import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { manualSeed, nn, noGrad, tensor, type Tensor } from "../src/index.ts";
import { readIdx } from "../src/data/idx.ts";
import { saveSafetensors } from "../src/io.ts";

export const WASMGRAD_MLP_SEED = 0;
export const WASMGRAD_MLP_BATCH = 4;
/** No version numbers here: the file must stay byte-identical across releases unless the format changes. */
export const WASMGRAD_MLP_METADATA: Record<string, string> = {
  format: "pt",
  producer: "tools/write-wasmgrad-safetensors.ts",
  seed: String(WASMGRAD_MLP_SEED),
};

const ROOT = new URL("../", import.meta.url);
export const FIXTURE_DIR = new URL("test/fixtures/safetensors/", ROOT);

/** The MLP of d2l's dropout chapter, initialised from a fixed seed (PyTorch's default Linear init). */
export function buildWasmgradMlp(): nn.Sequential {
  manualSeed(WASMGRAD_MLP_SEED);
  return new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.5),
    new nn.Linear(256, 10),
  );
}

/** The first Fashion-MNIST test images of the bundled subset, in [0, 1], shape [n, 1, 28, 28]. */
export async function firstTestImages(count: number): Promise<Tensor> {
  const file = new URL("data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz", ROOT);
  const images = await readIdx(await readFile(file), { name: fileURLToPath(file), maxBytes: 16 + 10_000 * 28 * 28 });
  const [, rows, cols] = images.dims as [number, number, number];
  const pixels = images.data.subarray(0, count * rows * cols);
  return tensor(Float32Array.from(pixels, (p) => p / 255), { shape: [count, 1, rows, cols] });
}

function tensorJson(t: Tensor): { shape: number[]; data: number[] } {
  return { shape: [...t.shape], data: Array.from(t.data()) };
}

async function main(): Promise<void> {
  const net = buildWasmgradMlp().eval();
  const input = await firstTestImages(WASMGRAD_MLP_BATCH);
  const output = noGrad(() => net.forward(input));
  const bytes = saveSafetensors(net.stateDict(), WASMGRAD_MLP_METADATA);
  await writeFile(new URL("wasmgrad_mlp.safetensors", FIXTURE_DIR), bytes);
  const io = {
    generator: { script: "tools/write-wasmgrad-safetensors.ts", seed: WASMGRAD_MLP_SEED },
    model: "d2l dropout MLP: Flatten, Linear(784,256), ReLU, Dropout(0.2), Linear(256,256), ReLU, Dropout(0.5), Linear(256,10); eval mode",
    input: tensorJson(input),
    output: tensorJson(output),
  };
  await writeFile(new URL("wasmgrad_mlp_io.json", FIXTURE_DIR), `${JSON.stringify(io, null, 1)}\n`);
  console.log(`wrote test/fixtures/safetensors/wasmgrad_mlp.safetensors (${bytes.length} bytes) and wasmgrad_mlp_io.json`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
