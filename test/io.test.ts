import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { nn, noGrad, tensor, Tensor, zeros } from "../src/index.ts";
import {
  loadFile, loadSafetensors, MAX_HEADER_BYTES, readSafetensorsHeader, saveFile, saveSafetensors, SafetensorsError,
} from "../src/io.ts";
import { liveStorageCount } from "../src/storage.ts";
import {
  buildWasmgradMlp, FIXTURE_DIR, firstTestImages, WASMGRAD_MLP_BATCH, WASMGRAD_MLP_METADATA,
} from "../tools/write-wasmgrad-safetensors.ts";

/** A safetensors file written by hand, so every field can be made wrong. */
function rawFile(header: string | Uint8Array | object, data: Uint8Array | number = 0, opts: { headerLength?: bigint } = {}): Uint8Array {
  const json =
    header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function f32(values: number[], shape?: number[]): Tensor {
  return tensor(Float32Array.from(values), { shape: shape ?? [values.length] });
}

function bits(t: Tensor): number[] {
  const d = t.data();
  return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
}

function headerText(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

/** The error a load throws, checked to be a SafetensorsError. */
function loadError(bytes: Uint8Array): SafetensorsError {
  try {
    loadSafetensors(bytes);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message.startsWith("safetensors: ")).toBe(true);
    return error as SafetensorsError;
  }
  return expect.fail("loadSafetensors accepted a malformed file");
}

const F32_ENTRY = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

describe("saveSafetensors / loadSafetensors", () => {
  it("round-trips float32 and int32 tensors bit for bit, with names, order, shapes and dtypes", () => {
    const sd = {
      "0.weight": f32([1.5, -0, NaN, Infinity, -Infinity, 1e-45], [2, 3]),
      "0.bias": f32([3.4028234663852886e38, -1.1754943508222875e-38]),
      labels: tensor(Int32Array.from([2147483647, -2147483648, 0, -1]), { dtype: "int32" }),
      scalar: f32([7], []),
      empty: f32([], [0, 3]),
    };
    const back = loadSafetensors(saveSafetensors(sd));
    expect(Object.keys(back), "names in the order saved").toEqual(Object.keys(sd));
    for (const [name, t] of Object.entries(sd)) {
      expect(back[name]!.shape, `${name} shape`).toEqual(t.shape);
      expect(back[name]!.dtype, `${name} dtype`).toBe(t.dtype);
      expect(bits(back[name]!), `${name} bits`).toEqual(bits(t));
    }
  });

  it("writes the format's layout: u64 little-endian header length, compact JSON padded with spaces to 8 bytes, data in the order given", () => {
    const bytes = saveSafetensors({ b: f32([1, 2]), a: tensor(Int32Array.from([3]), { dtype: "int32" }) }, { format: "pt" });
    const header =
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"a":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
    const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
    expect(headerText(bytes)).toBe(padded);
    expect((8 + padded.length) % 8, "data section 8-byte aligned").toBe(0);
    const data = bytes.subarray(8 + padded.length);
    expect(Array.from(new Float32Array(data.slice(0, 8).buffer))).toEqual([1, 2]);
    expect(Array.from(new Int32Array(data.slice(8, 12).buffer))).toEqual([3]);
    expect(bytes.length).toBe(8 + padded.length + 12);
  });

  it("returns the metadata strings and the storage order from readSafetensorsHeader, without loading data", () => {
    const bytes = saveSafetensors({ w: f32([1, 2, 3, 4], [2, 2]) }, { format: "pt", note: "ünïcödé ✓" });
    const header = readSafetensorsHeader(bytes);
    expect({ ...header.metadata }).toEqual({ format: "pt", note: "ünïcödé ✓" });
    expect(header.tensors).toEqual([{ name: "w", dtype: "F32", shape: [2, 2], dataOffsets: [0, 16] }]);
    expect(header.dataStart % 8).toBe(0);
    expect(readSafetensorsHeader(saveSafetensors({})).metadata, "no metadata given, none written").toBeNull();
  });

  it("keeps '__proto__', 'constructor' and 'toString' as ordinary tensor names, without touching any prototype", () => {
    const pairs: [string, Tensor][] = [["__proto__", f32([1])], ["constructor", f32([2])], ["toString", f32([3])]];
    const back = loadSafetensors(saveSafetensors(pairs));
    expect(Object.getPrototypeOf(back), "the state dict has no prototype to pollute").toBeNull();
    expect(Object.keys(back)).toEqual(["__proto__", "constructor", "toString"]);
    expect(back["__proto__"]!.item()).toBe(1);
    expect(back["constructor"]!.item()).toBe(2);
    expect(back["toString"]!.item()).toBe(3);
    expect(({} as Record<string, unknown>).shape, "Object.prototype untouched").toBeUndefined();
    expect(back["hasOwnProperty"], "absent names read as undefined, not as inherited members").toBeUndefined();
  });

  it("accepts a Map and [name, tensor] pairs (pairs keep integer-like names in the order given)", () => {
    const fromMap = readSafetensorsHeader(saveSafetensors(new Map([["x", f32([1])], ["y", f32([2])]])));
    expect(fromMap.tensors.map((t) => t.name)).toEqual(["x", "y"]);
    const fromPairs = readSafetensorsHeader(saveSafetensors([["b", f32([1])], ["10", f32([2])], ["2", f32([3])]]));
    expect(fromPairs.tensors.map((t) => t.name), "storage order").toEqual(["b", "10", "2"]);
  });

  it("keeps the header's order where a JS object would not: integer-like names, empty tensors sharing an offset", () => {
    const empty = () => f32([], [0]);
    const header = readSafetensorsHeader(saveSafetensors([["", empty()], ["0", empty()], ["b", f32([1])], ["1", empty()]]));
    expect(header.tensors.map((t) => t.name)).toEqual(["", "0", "b", "1"]);
  });

  it("reads from an ArrayBuffer, a view at an odd byte offset and a view of shared memory", () => {
    const bytes = saveSafetensors({ w: f32([1, 2, 3]) });
    expect(loadSafetensors(bytes.slice().buffer)["w"]!.toArray()).toEqual([1, 2, 3]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(loadSafetensors(shifted.subarray(3))["w"]!.toArray()).toEqual([1, 2, 3]);
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    expect(loadSafetensors(shared)["w"]!.toArray(), "shared memory, e.g. a wasm heap").toEqual([1, 2, 3]);
  });

  it("gives tensors that own their memory: independent of the file bytes and of the saved tensors", () => {
    const source = f32([1, 2]);
    const bytes = saveSafetensors({ w: source });
    const loaded = loadSafetensors(bytes)["w"]!;
    bytes.fill(0);
    noGrad(() => source.fill_(9));
    expect(loaded.toArray()).toEqual([1, 2]);
    expect(loaded.requiresGrad).toBe(false);
  });

  it("reads I64 tensors (PyTorch's integer default) as int32 when every value fits", () => {
    const data = new DataView(new ArrayBuffer(24));
    [5n, -1n, -2147483648n].forEach((v, i) => data.setBigInt64(8 * i, v, true));
    const file = rawFile({ n: { dtype: "I64", shape: [3], data_offsets: [0, 24] } }, new Uint8Array(data.buffer));
    const n = loadSafetensors(file)["n"]!;
    expect(n.dtype).toBe("int32");
    expect(n.toArray()).toEqual([5, -1, -2147483648]);
  });

  it("refuses an I64 value outside int32, naming the tensor, the value and its index", () => {
    const data = new DataView(new ArrayBuffer(16));
    data.setBigInt64(8, 2147483648n, true);
    const file = rawFile({ steps: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, new Uint8Array(data.buffer));
    expect(loadError(file).message).toMatch(/tensor 'steps' \(I64\) holds 2147483648 at flat index 1, outside int32/);
  });

  it.each([
    ["F64", 8], ["F16", 2], ["BF16", 2], ["U8", 1], ["BOOL", 1], ["I8", 1], ["U64", 8],
  ])("refuses dtype %s, naming the tensor and the dtypes wasmgrad reads", (dtype, size) => {
    const file = rawFile({ x: { dtype, shape: [2], data_offsets: [0, 2 * size] } }, 2 * size);
    expect(loadError(file).message).toBe(
      `safetensors: unsupported dtype ${dtype} for tensor 'x' (wasmgrad supports F32 and I32, and reads I64 as int32 when every value fits)`,
    );
    expect(readSafetensorsHeader(file).tensors[0]!.dtype, "the header itself is valid and can be inspected").toBe(dtype);
  });
});

describe("saveSafetensors refuses bad input", () => {
  it("a Module instead of its state dict", () => {
    expect(() => saveSafetensors(new nn.Linear(2, 2) as never)).toThrow(/got a Module: pass model\.stateDict\(\)/);
  });
  it("a single tensor, null or a number instead of a state dict", () => {
    expect(() => saveSafetensors(f32([1]) as never)).toThrow(/got a single Tensor/);
    expect(() => saveSafetensors(null as never)).toThrow(TypeError);
    expect(() => saveSafetensors(3 as never)).toThrow(/got number 3/);
  });
  it("values that are not tensors, naming the entry", () => {
    expect(() => saveSafetensors({ w: [1, 2] } as never)).toThrow("saveSafetensors: value of 'w' is not a Tensor (got an array of 2)");
    expect(() => saveSafetensors({ w: f32([1]).data() } as never)).toThrow(/value of 'w' is not a Tensor \(got a Float32Array\)/);
  });
  it("a tensor whose memory was reclaimed, naming it", () => {
    const gone = f32([1, 2]);
    gone.dispose();
    expect(() => saveSafetensors({ ok: f32([1]), gone })).toThrow(/cannot save tensor 'gone': wasmgrad: the float32 tensor of shape \[2\] made by tensor cannot be read: its memory was given back \(it was disposed\)/);
  });
  it("duplicate names and the reserved name __metadata__", () => {
    expect(() => saveSafetensors([["w", f32([1])], ["w", f32([2])]])).toThrow("saveSafetensors: duplicate tensor name 'w'");
    expect(() => saveSafetensors([["__metadata__", f32([1])]])).toThrow(/"__metadata__" is reserved/);
    expect(() => saveSafetensors([[1 as never, f32([1])]])).toThrow(/tensor names must be strings, got number 1/);
    expect(() => saveSafetensors([[f32([1])] as never])).toThrow(/entry 0 must be a \[name, tensor\] pair/);
  });
  it("metadata that is not string to string, and names the reference reader could not decode", () => {
    expect(() => saveSafetensors({}, { epoch: 3 } as never)).toThrow("saveSafetensors: metadata values must be strings; 'epoch' is number 3");
    expect(() => saveSafetensors({}, ["a"] as never)).toThrow(/metadata must be an object of strings/);
    expect(() => saveSafetensors({ "w\ud800": f32([1]) })).toThrow(/lone UTF-16 surrogate/);
  });
});

describe("loadSafetensors validates an untrusted file before allocating", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["shorter than the length field", new Uint8Array(5), /file is 5 bytes, too short for the 8-byte header length/],
    ["a header length past the end of the file", rawFile("{}", 0, { headerLength: 1000n }), /header length 1000 runs past the end of the 10-byte file/],
    ["a header length over the 100 MB cap", rawFile("{}", 0, { headerLength: 1n << 40n }), /header length 1099511627776 exceeds the limit of 100000000 bytes/],
    ["a header not starting with '{'", rawFile(' {"a":1}'), /header does not start with '\{'/],
    ["an array header", rawFile("[]"), /header does not start with '\{'/],
    ["invalid UTF-8", rawFile(new Uint8Array([0x7b, 0xff, 0x7d])), /header is not valid UTF-8/],
    ["invalid JSON", rawFile('{"a":'), /header is not valid JSON/],
    ["an entry that is not an object", rawFile({ w: 5 }), /tensor 'w': entry must be an object with dtype, shape and data_offsets, got number 5/],
    ["a missing dtype", rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w': dtype must be a string, got undefined/],
    ["an unknown dtype", rawFile({ w: { dtype: "F17", shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w': unknown dtype "F17"/],
    ["a negative dim", rawFile({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4), /tensor 'w': shape must hold non-negative integers; dim 0 is number -1/],
    ["a fractional dim", rawFile({ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 4] } }, 4), /shape must hold non-negative integers/],
    ["a dim past 2^53", rawFile({ w: { dtype: "F32", shape: [2 ** 53], data_offsets: [0, 4] } }, 4), /shape must hold non-negative integers/],
    ["a string dim", rawFile({ w: { dtype: "F32", shape: ["1"], data_offsets: [0, 4] } }, 4), /shape must hold non-negative integers; dim 0 is the string "1"/],
    ["a shape that is not an array", rawFile({ w: { dtype: "F32", shape: 1, data_offsets: [0, 4] } }, 4), /tensor 'w': shape must be an array, got number 1/],
    ["three data offsets", rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4, 8] } }, 4), /tensor 'w': data_offsets must be \[begin, end\], got an array of 3/],
    ["a negative offset", rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [-4, 0] } }, 4), /data_offsets must be non-negative integers, got \[number -4, number 0\]/],
    ["offsets that end before they begin", rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, 4), /tensor 'w': data_offsets \[4, 0\] end before they begin/],
    ["offsets past the data section", rawFile({ w: F32_ENTRY(0, 8) }, 4), /tensor 'w': data_offsets \[0, 8\] run past the end of the 4-byte data section/],
    ["a shape that does not match its bytes", rawFile({ w: F32_ENTRY(0, 8, [3]) }, 8), /tensor 'w': shape \[3\] of F32 does not match its 8 bytes/],
    ["a shape whose element count overflows", rawFile({ w: F32_ENTRY(0, 8, [2 ** 40, 2 ** 40, 2 ** 40]) }, 8), /does not match its 8 bytes/],
    ["overlapping tensors", rawFile({ a: F32_ENTRY(0, 8), b: F32_ENTRY(4, 12) }, 12), /tensor 'b' \(bytes 4\.\.12\) overlaps tensor 'a' \(bytes 0\.\.8\)/],
    ["a hole between tensors", rawFile({ a: F32_ENTRY(0, 4), b: F32_ENTRY(8, 12) }, 12), /bytes 4\.\.8 of the data section belong to no tensor \(a hole before tensor 'b'\)/],
    ["a data section not starting at 0", rawFile({ a: F32_ENTRY(4, 8) }, 8), /bytes 0\.\.4 of the data section belong to no tensor/],
    ["trailing bytes", rawFile({ a: F32_ENTRY(0, 4) }, 8), /the data section is 8 bytes but the tensors cover only 4/],
    ["a name given twice", rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /the header has the key 'a' twice/],
    ["__metadata__ given twice", rawFile('{"__metadata__":{},"__metadata__":{}}'), /the header has the key '__metadata__' twice/],
    ["__metadata__ that is not an object", rawFile({ __metadata__: "pt" }), /__metadata__ must be an object of strings, got the string "pt"/],
    ["a __metadata__ value that is not a string", rawFile({ __metadata__: { epoch: 3 } }), /__metadata__ values must be strings; 'epoch' is number 3/],
    ["nesting deeper than the reference parser allows", rawFile(`{"a":${"[".repeat(200)}${"]".repeat(200)}}`), /header nests deeper than 128 levels/],
    ["a huge name, quoted clipped", rawFile({ ["n".repeat(10_000)]: 1 }), /^safetensors: tensor 'n{80}…' \(10000 chars\): entry must be an object/],
    ["more dims than wasmgrad supports", rawFile({ w: F32_ENTRY(0, 4, Array(65).fill(1)) }, 4), /tensor 'w' has 65 dimensions; wasmgrad supports at most 64/],
  ];

  it.each(cases)("refuses %s, saying what is wrong", (_, bytes, message) => {
    expect(loadError(bytes).message).toMatch(message);
  });

  it("names the source in the message when given one", () => {
    expect(() => loadSafetensors(new Uint8Array(3), { name: "model.safetensors" })).toThrow(/ \(in model\.safetensors\)$/);
  });

  it("allocates no tensor when any entry is bad, even after valid ones", () => {
    const before = liveStorageCount();
    const file = rawFile({ ok: F32_ENTRY(0, 4), bad: { dtype: "F64", shape: [1], data_offsets: [4, 12] } }, 12);
    expect(loadError(file).message).toMatch(/unsupported dtype F64 for tensor 'bad'/);
    expect(liveStorageCount()).toBe(before);
  });

  it("accepts what the reference reader accepts: null metadata, extra entry fields, empty tensors at any offset", () => {
    const file = rawFile({
      __metadata__: null,
      a: { ...F32_ENTRY(0, 4), note: "ignored" },
      e: F32_ENTRY(4, 4, [0, 2]),
      b: F32_ENTRY(4, 8),
    }, 8);
    const sd = loadSafetensors(file);
    expect(Object.keys(sd)).toEqual(["a", "e", "b"]);
    expect(sd["e"]!.shape).toEqual([0, 2]);
    expect(readSafetensorsHeader(file).metadata).toBeNull();
  });

  it("exposes the header cap it enforces", () => {
    expect(MAX_HEADER_BYTES).toBe(100_000_000);
  });
});

describe("saveFile / loadFile (Node)", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("write a file loadFile reads back, and name the file in errors", async () => {
    dir = await mkdtemp(join(tmpdir(), "wasmgrad-io-"));
    const path = join(dir, "w.safetensors");
    await saveFile(path, { w: f32([1, 2, 3], [3, 1]) }, { format: "pt" });
    expect(readSafetensorsHeader(await readFile(path)).metadata?.format).toBe("pt");
    const sd = await loadFile(path);
    expect(sd["w"]!.toArray()).toEqual([[1], [2], [3]]);
    const broken = join(dir, "broken.safetensors");
    await writeFile(broken, new Uint8Array(4));
    await expect(loadFile(broken)).rejects.toThrow(`(in ${broken})`);
  });
});

describe("interchange with PyTorch (fixtures from tools/safetensors_roundtrip.py)", () => {
  const fixture = (name: string) => new URL(name, FIXTURE_DIR);
  const readJson = async (name: string) => JSON.parse(await readFile(fixture(name), "utf8"));
  const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    expect(a.length).toBe(b.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    return max;
  };

  it("loads PyTorch's d2l MLP strictly and reproduces its eval-mode output to 1e-5", async () => {
    const sd = await loadFile(fileURLToPath(fixture("torch_mlp.safetensors")));
    expect(Object.keys(sd), "PyTorch's names, in PyTorch's order").toEqual(["1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias"]);
    const io = await readJson("torch_mlp_io.json");
    const net = buildWasmgradMlp();
    net.loadStateDict(sd, { strict: true });
    net.eval();
    const input = tensor(Float32Array.from(io.input.data), { shape: io.input.shape });
    const output = noGrad(() => net.forward(input));
    expect(output.shape).toEqual(io.output.shape);
    const diff = maxAbsDiff(output.data(), io.output.data);
    expect(diff, `max |wasmgrad - torch| = ${diff}`).toBeLessThanOrEqual(1e-5);
  });

  it("reads a file the reference safetensors writer made: int64 as int32, empty, 0-d, -0, ±inf, '__proto__'", async () => {
    const bytes = await readFile(fixture("reference_writer.safetensors"));
    const sd = loadSafetensors(bytes);
    expect(Object.keys(sd).sort()).toEqual(["__proto__", "counts", "empty", "labels", "scalar", "weight"]);
    expect({ ...readSafetensorsHeader(bytes).metadata }).toEqual({ format: "pt" });
    expect(sd["labels"]!.dtype).toBe("int32");
    expect(sd["labels"]!.toArray()).toEqual([0, 9, -1, 2147483647, -2147483648]);
    expect(sd["counts"]!.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(sd["empty"]!.shape).toEqual([0, 4]);
    expect(sd["scalar"]!.shape).toEqual([]);
    expect(sd["scalar"]!.item()).toBe(2.5);
    expect(sd["__proto__"]!.toArray()).toEqual([1]);
    expect(Array.from(sd["weight"]!.data())).toEqual([1.5, -0, Infinity, -Infinity, 3.4028234663852886e38, 1e-45].map(Math.fround));
    expect(Object.is(sd["weight"]!.data()[1], -0), "-0 keeps its sign").toBe(true);
  });

  it("still writes, for the seeded model, exactly the file PyTorch verified", async () => {
    const committed = new Uint8Array(await readFile(fixture("wasmgrad_mlp.safetensors")));
    // Serialization alone first, independent of how the model is initialised.
    const resaved = saveSafetensors(loadSafetensors(committed), readSafetensorsHeader(committed).metadata ?? undefined);
    expect(Buffer.compare(resaved, committed), "re-saving the committed tensors changes the bytes: the writer changed").toBe(0);
    const fresh = saveSafetensors(buildWasmgradMlp().stateDict(), WASMGRAD_MLP_METADATA);
    expect(
      Buffer.compare(fresh, committed),
      "the seeded model's parameters changed (init or RNG): rerun tools/write-wasmgrad-safetensors.ts and the PyTorch check",
    ).toBe(0);
  });

  it("recorded that PyTorch loaded that file with strict=True and matched wasmgrad's output to 1e-5", async () => {
    const verdict = await readJson("torch_read_wasmgrad.json");
    const committed = await readFile(fixture("wasmgrad_mlp.safetensors"));
    expect(verdict.sha256, "the verdict is about the committed file").toBe(createHash("sha256").update(committed).digest("hex"));
    expect(verdict.load_state_dict).toBe("strict=True");
    expect(verdict.matched).toBe(true);
    expect(verdict.max_abs_diff).toBeLessThanOrEqual(1e-5);
  });

  it("computes today the output recorded with wasmgrad's file", async () => {
    const io = await readJson("wasmgrad_mlp_io.json");
    const net = buildWasmgradMlp().eval();
    const input = await firstTestImages(WASMGRAD_MLP_BATCH);
    expect(Array.from(input.data())).toEqual(io.input.data);
    const diff = maxAbsDiff(noGrad(() => net.forward(input)).data(), io.output.data);
    expect(diff, `max |now - recorded| = ${diff}`).toBeLessThanOrEqual(1e-5);
  });

  it("loads its own state dict back into a fresh model", () => {
    const net = buildWasmgradMlp();
    const other = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2),
      new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(256, 10));
    noGrad(() => other.parameters().forEach((p) => p.copy_(zeros(p.shape))));
    other.loadStateDict(loadSafetensors(saveSafetensors(net.stateDict())));
    for (const [name, p] of other.namedParameters()) expect(bits(p), name).toEqual(bits(net.stateDict()[name]!));
  });
});
