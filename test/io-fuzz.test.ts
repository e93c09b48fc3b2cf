// Property-based tests of the safetensors reader and writer: random state
// dicts round-trip bit for bit, and no byte string, however built, makes the
// reader do anything but return a consistent state dict or throw a
// SafetensorsError (and allocate nothing when it throws).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "../src/index.ts";
import { loadSafetensors, readSafetensorsHeader, saveSafetensors, SafetensorsError } from "../src/io.ts";
import { liveStorageCount } from "../src/storage.ts";

const RUNS = 300;

// ---- generators ----------------------------------------------------------------

const F32_SPECIAL_BITS = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f7fffff, 0x00000001, 0x80800000];
const I32_EXTREMES = [-2147483648, 2147483647, 0, -1, 1];

/** Any 32-bit pattern, special floats and int32 extremes more often than chance would give. */
const word = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...F32_SPECIAL_BITS.map((b) => b | 0), ...I32_EXTREMES) },
);

const tensorName = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "", "0", "7", "1.weight", "a\"b\\c\n") },
).filter((name) => name !== "__metadata__");

interface Spec {
  name: string;
  dtype: "float32" | "int32";
  shape: number[];
  words: number[];
}

const spec: fc.Arbitrary<Spec> = fc
  .record({ name: tensorName, dtype: fc.constantFrom("float32" as const, "int32" as const), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }) })
  .chain((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return fc.array(word, { minLength: n, maxLength: n }).map((words) => ({ ...s, words }));
  });

const specs = fc.uniqueArray(spec, { selector: (s) => s.name, maxLength: 6 });
const metadata = fc.option(fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), fc.string({ unit: "binary", maxLength: 16 }), { maxKeys: 4 }), { nil: undefined });

function makeTensor(s: Spec): Tensor {
  const buffer = Int32Array.from(s.words).buffer;
  return s.dtype === "int32"
    ? tensor(new Int32Array(buffer), { shape: s.shape, dtype: "int32" })
    : tensor(new Float32Array(buffer), { shape: s.shape });
}

function wordsOf(t: Tensor): number[] {
  const d = t.data();
  return Array.from(new Int32Array(d.buffer, d.byteOffset, d.length));
}

function disposeAll(sd: Record<string, Tensor>): void {
  for (const name of Object.keys(sd)) sd[name]!.dispose();
}

/** A valid file from specs, for the mutation properties. */
function validFile(list: Spec[], meta?: Record<string, string>): Uint8Array {
  const tensors = list.map((s) => [s.name, makeTensor(s)] as [string, Tensor]);
  const bytes = saveSafetensors(tensors, meta);
  for (const [, t] of tensors) t.dispose();
  return bytes;
}

function withHeader(headerText: string, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function splitFile(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const { dataStart } = readSafetensorsHeader(bytes);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, dataStart))), data: bytes.subarray(dataStart) };
}

// ---- the property every input must satisfy -----------------------------------

const ITEM_BYTES: Record<string, number> = { F32: 4, I32: 4, I64: 8 };

/**
 * Loads bytes; either the state dict agrees with the header and the file's
 * bytes, or a SafetensorsError was thrown and nothing stayed allocated.
 */
function loadsConsistentlyOrRefuses(bytes: Uint8Array): "accepted" | "refused" {
  const before = liveStorageCount();
  let sd: Record<string, Tensor>;
  try {
    sd = loadSafetensors(bytes);
  } catch (error) {
    if (!(error instanceof SafetensorsError) || !error.message.startsWith("safetensors: ")) {
      throw new Error(`expected a SafetensorsError, got ${String(error)}`, { cause: error });
    }
    expect(liveStorageCount(), "a refused file leaves no tensor allocated").toBe(before);
    return "refused";
  }
  const header = readSafetensorsHeader(bytes);
  expect(Object.keys(sd).length).toBe(header.tensors.length);
  for (const entry of header.tensors) {
    const t = sd[entry.name];
    expect(t, entry.name).toBeDefined();
    expect(t!.shape).toEqual(entry.shape);
    const [begin, end] = entry.dataOffsets;
    expect(t!.numel() * ITEM_BYTES[entry.dtype]!).toBe(end - begin);
    if (entry.dtype !== "I64") {
      const stored = bytes.slice(header.dataStart + begin, header.dataStart + end);
      expect(wordsOf(t!)).toEqual(Array.from(new Int32Array(stored.buffer)));
    }
  }
  disposeAll(sd);
  return "accepted";
}

// ---- properties ----------------------------------------------------------------

describe("safetensors round trip (fast-check)", () => {
  it("returns every random state dict bit for bit: names, order, dtypes, shapes, NaN payloads, ±0, ±inf, int32 extremes", () => {
    fc.assert(
      fc.property(specs, metadata, (list, meta) => {
        const tensors = list.map((s) => [s.name, makeTensor(s)] as [string, Tensor]);
        const bytes = saveSafetensors(tensors, meta);
        const header = readSafetensorsHeader(bytes);
        expect(header.tensors.map((t) => t.name), "storage order is the order given").toEqual(list.map((s) => s.name));
        expect(header.dataStart % 8, "data section 8-byte aligned").toBe(0);
        expect(header.metadata === null ? undefined : { ...header.metadata }).toEqual(meta === undefined ? undefined : { ...meta });

        const sd = loadSafetensors(bytes);
        // What a JS object with these keys lists: integer-like names first, the rest in insertion order.
        const expectedKeys = Object.keys(Object.fromEntries(list.map((s) => [s.name, 0])));
        expect(Object.keys(sd)).toEqual(expectedKeys);
        for (const s of list) {
          const t = sd[s.name]!;
          expect(t.dtype).toBe(s.dtype);
          expect(t.shape).toEqual(s.shape);
          expect(wordsOf(t), s.name).toEqual(s.words);
        }
        expect(saveSafetensors(header.tensors.map((e) => [e.name, sd[e.name]!] as [string, Tensor]), meta), "re-saving is byte-identical").toEqual(bytes);
        disposeAll(sd);
        for (const [, t] of tensors) t.dispose();
      }),
      { numRuns: RUNS },
    );
  });
});

describe("safetensors reader on hostile input (fast-check)", () => {
  it("refuses random bytes with a SafetensorsError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => void loadsConsistentlyOrRefuses(bytes)), { numRuns: RUNS });
  });

  it("handles random JSON headers with a correct length prefix", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.uint8Array({ maxLength: 64 }), (header, data) => {
        loadsConsistentlyOrRefuses(withHeader(JSON.stringify(header) ?? "", data));
      }),
      { numRuns: RUNS },
    );
  });

  it("handles random headers that look like safetensors ones: plausible dtypes, shapes and offsets", () => {
    const entry = fc.record(
      {
        dtype: fc.constantFrom("F32", "I32", "I64", "F64", "F16", "BOOL", "U8", "f32", ""),
        shape: fc.array(fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constantFrom(2 ** 53, 2 ** 31, 0.5)), { maxLength: 3 }),
        data_offsets: fc.array(fc.integer({ min: -1, max: 40 }), { minLength: 1, maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(fc.dictionary(tensorName, entry, { maxKeys: 4 }), fc.uint8Array({ maxLength: 40 }), (header, data) => {
        outcomes.add(loadsConsistentlyOrRefuses(withHeader(JSON.stringify(header), data)));
      }),
      { numRuns: RUNS },
    );
    expect(outcomes.has("refused")).toBe(true);
  });

  it("handles bit flips, truncations, extensions and length rewrites of valid files", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant("length" as const), value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
      fc.record({ kind: fc.constant("length±" as const), delta: fc.integer({ min: -9, max: 9 }) }),
    );
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(specs, mutation, (list, m) => {
        const bytes = validFile(list).slice();
        let mutated: Uint8Array = bytes;
        const view = new DataView(bytes.buffer);
        switch (m.kind) {
          case "flip":
            for (const at of m.at) bytes[at % bytes.length]! ^= 1 << m.bit;
            break;
          case "truncate":
            mutated = bytes.subarray(0, m.at % bytes.length);
            break;
          case "extend":
            mutated = new Uint8Array([...bytes, ...m.extra]);
            break;
          case "length":
            view.setBigUint64(0, m.value, true);
            break;
          case "length±":
            view.setBigUint64(0, BigInt(Math.max(0, Number(view.getBigUint64(0, true)) + m.delta)), true);
            break;
        }
        outcomes.add(loadsConsistentlyOrRefuses(mutated));
      }),
      { numRuns: RUNS },
    );
    expect([...outcomes].sort(), "the mutations reach both outcomes").toEqual(["accepted", "refused"]);
  });

  it("handles edits of one header field of a valid file (the data left as it was)", () => {
    const field = fc.constantFrom("dtype", "shape", "data_offsets", "shape[i]", "data_offsets[i]", "delete", "entry", "rename", "metadata");
    const replacement = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.integer({ min: -2, max: 64 }),
      fc.constantFrom(2 ** 53, 2 ** 53 - 1, 2 ** 32, -0, 1e400, 0.5, "F32", "I32", "I64", "F64", [0, 0], [], null),
    );
    const nonEmpty = specs.filter((l) => l.length > 0);
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(nonEmpty, fc.nat(), field, replacement, fc.nat(), (list, which, edit, value, index) => {
        const { header, data } = splitFile(validFile(list, { format: "pt" }));
        const names = Object.keys(header).filter((k) => k !== "__metadata__");
        const name = names[which % names.length]!;
        const entry = header[name] as Record<string, unknown>;
        switch (edit) {
          case "dtype":
          case "shape":
          case "data_offsets":
            entry[edit] = value;
            break;
          case "shape[i]":
          case "data_offsets[i]": {
            const array = entry[edit.slice(0, -3)] as unknown[];
            if (array.length) array[index % array.length] = value;
            else array.push(value);
            break;
          }
          case "delete":
            delete entry[["dtype", "shape", "data_offsets"][index % 3]!];
            break;
          case "entry":
            header[name] = value;
            break;
          case "rename":
            Object.defineProperty(header, typeof value === "string" ? value : JSON.stringify(value) ?? "x", { value: entry, enumerable: true, configurable: true, writable: true });
            delete header[name];
            break;
          case "metadata":
            header["__metadata__"] = value;
            break;
        }
        outcomes.add(loadsConsistentlyOrRefuses(withHeader(JSON.stringify(header), data)));
      }),
      { numRuns: RUNS },
    );
    expect([...outcomes].sort(), "the edits reach both outcomes").toEqual(["accepted", "refused"]);
  });
});
