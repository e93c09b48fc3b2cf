// Files that are not safetensors (tools/make_foreign_files.py made them with
// PyTorch 1.13 and NumPy): loading one says what it is and how to write
// safetensors from PyTorch or NumPy, rather than misreading its first bytes as
// a header length.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { io, nn } from "../src/index.ts";
import { loadCheckpoint } from "../src/io.ts";

const file = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/foreign/${name}`, import.meta.url)));

const CASES: [string, string][] = [
  ["state_dict.pt", "safetensors: this is a PyTorch checkpoint (torch.save, a zip of pickles), not a safetensors file"],
  ["legacy.pt", "safetensors: this is a PyTorch file in the legacy pickle format (torch.save with _use_new_zipfile_serialization=False)"],
  ["scripted.pt", "safetensors: this is a TorchScript archive (torch.jit.save), not a safetensors file"],
  ["array.npy", "safetensors: this is a NumPy .npy array, not a safetensors file"],
  ["arrays.npz", "safetensors: this is a NumPy .npz archive, not a safetensors file"],
  ["plain.pkl", "safetensors: this is a Python pickle (protocol 4), not a safetensors file"],
];

describe("loading a file that is not safetensors", () => {
  it.each(CASES)("%s: says what the file is", (name, message) => {
    expect(() => io.loadSafetensors(file(name), { name })).toThrow(message);
    expect(() => io.loadSafetensors(file(name), { name })).toThrow(`(in ${name})`);
  });

  it.each(CASES.filter(([n]) => n.endsWith(".pt") || n.endsWith(".pkl")))("%s: says how to save safetensors from PyTorch", (name) => {
    expect(() => io.loadSafetensors(file(name))).toThrow(
      'in PyTorch: from safetensors.torch import save_file; save_file(model.state_dict(), "model.safetensors")',
    );
  });

  it("says how to convert NumPy files", () => {
    expect(() => io.loadSafetensors(file("array.npy"))).toThrow('from safetensors.numpy import save_file; save_file({"x": numpy.load("file.npy")}, "file.safetensors")');
    expect(() => io.loadSafetensors(file("arrays.npz"))).toThrow('save_file(dict(numpy.load("file.npz")), "file.safetensors")');
  });

  it("says the same from readSafetensorsHeader and loadCheckpoint", () => {
    expect(() => io.readSafetensorsHeader(file("state_dict.pt"))).toThrow("this is a PyTorch checkpoint");
    const model = new nn.Sequential(new nn.Linear(3, 2));
    expect(() => loadCheckpoint(file("state_dict.pt"), { model })).toThrow("this is a PyTorch checkpoint");
  });

  it("names gzip data and JSON text", () => {
    expect(() => io.loadSafetensors(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]))).toThrow("safetensors: this is gzip-compressed data, not a safetensors file: decompress it first");
    expect(() => io.loadSafetensors(new TextEncoder().encode('{"weight": [1, 2]}'))).toThrow("this is text starting with '{' (JSON?)");
  });

  it("still loads a safetensors file whose first bytes are a pickle's (a header of 640 bytes: 0x80 0x02 …)", () => {
    const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'.padEnd(640, " ");
    const bytes = new Uint8Array(8 + 640 + 8);
    new DataView(bytes.buffer).setUint32(0, 640, true);
    bytes.set(new TextEncoder().encode(json), 8);
    expect([bytes[0], bytes[1]]).toEqual([0x80, 0x02]);
    expect(Array.from(io.loadSafetensors(bytes).w.data())).toEqual([0, 0]);
  });
});
