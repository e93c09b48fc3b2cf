// Fashion-MNIST for the contenders that are not wasmgrad (wasmgrad loads it with
// its own data.fashionMnist): the IDX files read into uint8 images and labels.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface Split {
  /** n·784 bytes, image after image. */
  images: Uint8Array;
  labels: Int32Array;
  n: number;
}

function readFile(dir: string, name: string): Uint8Array {
  const plain = join(dir, name);
  if (existsSync(plain)) return readFileSync(plain);
  const gz = `${plain}.gz`;
  if (existsSync(gz)) return gunzipSync(readFileSync(gz));
  throw new Error(`${dir} has no ${name} or ${name}.gz`);
}

function header(bytes: Uint8Array, magic: number, name: string): DataView {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${name}: not an IDX file of the expected type (magic ${view.getUint32(0).toString(16)})`);
  return view;
}

export function readSplit(dir: string, train: boolean): Split {
  const prefix = train ? "train" : "t10k";
  const img = readFile(dir, `${prefix}-images-idx3-ubyte`);
  const lab = readFile(dir, `${prefix}-labels-idx1-ubyte`);
  const n = header(img, 0x803, "images").getUint32(4);
  if (header(lab, 0x801, "labels").getUint32(4) !== n) throw new Error(`${dir}: ${prefix} images and labels differ in count`);
  return { images: img.subarray(16, 16 + n * 784), labels: Int32Array.from(lab.subarray(8, 8 + n)), n };
}

/** Fisher–Yates with Math.random (the contenders that are not wasmgrad draw their own order). */
export function shuffled(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
