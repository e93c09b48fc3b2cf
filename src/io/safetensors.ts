// Safetensors: the model-file format PyTorch users exchange (Hugging Face's
// `safetensors` package: `safetensors.torch.save_file` / `load_file`), read and
// written here so a state dict moves between wasmgrad and PyTorch without pickle.
//
// Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON
//   { "__metadata__": { string: string }, "name": { "dtype", "shape", "data_offsets": [begin, end] }, … }
// padded with spaces to a multiple of 8, then the tensors' little-endian bytes,
// offsets counted from the end of the header.
//
// Files are untrusted input: readSafetensorsHeader checks the whole layout
// (sizes, offsets, coverage, dtypes, metadata) against the byte count before
// loadSafetensors allocates a single tensor, so a hostile file costs at most
// its own size in memory and fails with a SafetensorsError that says what is
// wrong and with which tensor. The layout rules are the reference crate's
// (header ≤ 100 MB, JSON nesting ≤ 128, tensors tiling the data section with
// no hole or overlap); wasmgrad adds its own (no key twice, F32 / I32 / I64
// that fits int32, ≤ 64 dims).

//
// This file: the format's types and limits, and the writer; safetensors-read.ts reads.

import { Module, type StateDict } from "../nn/module.ts";
import { Tensor, type DType } from "../tensor.ts";
import { SafetensorsError } from "../errors.ts";
import { describe, describeError, quoted } from "./messages.ts";

/** Every error loadSafetensors / readSafetensorsHeader throws for bad input; the message starts with "safetensors: ". */
export { SafetensorsError } from "../errors.ts";

/** One tensor's entry in a file header, after validation. */
export interface SafetensorsEntry {
  name: string;
  /** The format's dtype name: "F32", "I32", "F16", … */
  dtype: string;
  shape: number[];
  /** [begin, end) in bytes, counted from the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** In storage order (by data offset), which is the order the writer gave them. */
  tensors: SafetensorsEntry[];
  /** The `__metadata__` strings, or null when the file has none. */
  metadata: Record<string, string> | null;
  /** Byte offset of the data section in the file: 8 + the header length. */
  dataStart: number;
}

/** What saveSafetensors accepts: a state dict, a Map, or [name, tensor] pairs (the one form that keeps integer-like names in order). */
export type StateDictInput = StateDict | ReadonlyMap<string, Tensor> | readonly (readonly [string, Tensor])[];

export interface LoadOptions {
  /** Names the source (a file path, a URL) in error messages. */
  name?: string;
}

/** The reference crate's MAX_HEADER_SIZE: larger headers are refused before they are decoded. */
export const MAX_HEADER_BYTES = 100_000_000;

export const U64_BYTES = 8;
export const HEADER_ALIGNMENT = 8;
export const METADATA_KEY = "__metadata__";
/** serde_json's recursion limit, which the reference reader runs under; a valid header needs 3. */
export const MAX_HEADER_DEPTH = 128;

/** Bits per element of every dtype the format defines (sub-byte float formats included). */
export const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32,
  I64: 64, U64: 64, F64: 64, C64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

export const STORED_DTYPE: Partial<Record<DType, string>> = { float32: "F32", int32: "I32" };

/**
 * What each readable dtype becomes. I64 is read as int32 because PyTorch
 * writes integer tensors (labels, counters such as BatchNorm's
 * num_batches_tracked) as int64; the values are checked to fit, so nothing is
 * changed silently.
 */
export const LOADED_DTYPE: Readonly<Record<string, DType>> = { F32: "float32", I32: "int32", I64: "int32" };

export const SUPPORTED_HINT = "wasmgrad supports F32 and I32, and reads I64 as int32 when every value fits";

// ---- writing -----------------------------------------------------------------

/**
 * Serializes a state dict (e.g. `model.stateDict()`) as safetensors bytes that
 * PyTorch's `safetensors.torch.load_file` / `load` reads. Tensors are stored in
 * the order given; `metadata` becomes the header's `__metadata__` (strings only).
 */
export function saveSafetensors(stateDict: StateDictInput, metadata?: Record<string, string>): Uint8Array {
  const entries = namedTensors(stateDict);
  const headerParts: string[] = [];
  if (metadata !== undefined) headerParts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata)}`);

  const byteLengths: number[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const byteLength = tensorBytes(name, t).length;
    // Written by hand rather than through an object, so the order given is the
    // order stored and a name such as "__proto__" is just a string.
    const info = { dtype: STORED_DTYPE[t.dtype]!, shape: [...t.shape], data_offsets: [offset, offset + byteLength] };
    headerParts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    byteLengths.push(byteLength);
    offset += byteLength;
  }

  const json = new TextEncoder().encode(`{${headerParts.join(",")}}`);
  // Space padding, as the reference writer does, keeps the data section 8-byte aligned.
  const headerLength = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const out = new Uint8Array(U64_BYTES + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, U64_BYTES);
  out.fill(0x20, U64_BYTES + json.length, U64_BYTES + headerLength);
  // Copied only after every input was checked, so a bad entry leaves nothing half-written.
  let at = U64_BYTES + headerLength;
  entries.forEach(([name, t], i) => {
    out.set(tensorBytes(name, t), at);
    at += byteLengths[i]!;
  });
  return out;
}

function namedTensors(stateDict: StateDictInput): [string, Tensor][] {
  if (stateDict instanceof Module) {
    throw new TypeError("saveSafetensors: expected a state dict, got a Module: pass model.stateDict()");
  }
  if (stateDict instanceof Tensor) {
    throw new TypeError("saveSafetensors: expected a state dict ({ name: tensor }), got a single Tensor");
  }
  if (stateDict === null || typeof stateDict !== "object") {
    throw new TypeError(`saveSafetensors: expected a state dict ({ name: tensor }), got ${describe(stateDict)}`);
  }
  let pairs: [unknown, unknown][];
  if (stateDict instanceof Map) pairs = [...stateDict];
  else if (Array.isArray(stateDict)) {
    pairs = stateDict.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TypeError(`saveSafetensors: entry ${i} must be a [name, tensor] pair, got ${describe(pair)}`);
      }
      return [pair[0], pair[1]];
    });
  } else pairs = Object.keys(stateDict).map((k) => [k, (stateDict as Record<string, unknown>)[k]]);

  const seen = new Set<string>();
  const out: [string, Tensor][] = [];
  for (const [name, value] of pairs) {
    if (typeof name !== "string") throw new TypeError(`saveSafetensors: tensor names must be strings, got ${describe(name)}`);
    checkWellFormed(name, `tensor name ${JSON.stringify(name)}`, "saveSafetensors");
    if (name === METADATA_KEY) {
      throw new SafetensorsError(`"${METADATA_KEY}" is reserved for the metadata and cannot name a tensor`, { where: "saveSafetensors" });
    }
    if (seen.has(name)) throw new SafetensorsError(`duplicate tensor name ${quoted(name)}`, { where: "saveSafetensors" });
    seen.add(name);
    if (!(value instanceof Tensor)) {
      throw new TypeError(`saveSafetensors: value of ${quoted(name)} is not a Tensor (got ${describe(value)})`);
    }
    if (!Object.hasOwn(STORED_DTYPE, value.dtype)) {
      throw new TypeError(`saveSafetensors: tensor ${quoted(name)} has dtype ${String(value.dtype)}, which safetensors cannot store`);
    }
    out.push([name, value]);
  }
  return out;
}

/** A view of the tensor's bytes in its backend's heap (little-endian, like the format: Wasm memory is). */
function tensorBytes(name: string, t: Tensor): Uint8Array {
  let ptr: number;
  try {
    // A strided view (w.t()) is saved as the values it shows, in row-major order.
    if (!t.isContiguous()) t = t.detach().contiguous();
    ptr = t.ptr;
  } catch (error) {
    throw new TypeError(`saveSafetensors: cannot save tensor ${quoted(name)}: ${describeError(error)}`, { cause: error });
  }
  return t.backend.heap.u8.subarray(ptr, ptr + t.numel() * 4);
}

function metadataJson(metadata: Record<string, string>): string {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata) || metadata instanceof Map) {
    throw new TypeError(`saveSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  const parts: string[] = [];
  for (const key of Object.keys(metadata)) {
    const value: unknown = metadata[key];
    if (typeof value !== "string") {
      throw new TypeError(`saveSafetensors: metadata values must be strings; ${quoted(key)} is ${describe(value)}`);
    }
    checkWellFormed(key, `metadata key ${JSON.stringify(key)}`, "saveSafetensors");
    checkWellFormed(value, `metadata value of ${quoted(key)}`, "saveSafetensors");
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(",")}}`;
}

/** JSON.stringify escapes a lone surrogate, but Rust's serde (the reference reader) refuses it: stop it at save time. */
export function checkWellFormed(s: string, what: string, where: string): void {
  if (/\p{Cs}/u.test(s)) throw new SafetensorsError(`${what} contains a lone UTF-16 surrogate, which is not valid Unicode`, { where });
}
