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

import { MAX_DIMS } from "./backend/backend.ts";
import { describeForeignFile } from "./foreign-formats.ts";
import { describeLayers } from "./nn/layer-list.ts";
import { Module, type StateDict } from "./nn/module.ts";
import { Optimizer, type OptimizerStateDict } from "./optim.ts";
import { checkRngState, getRngState, setRngState } from "./random.ts";
import { empty, Tensor, type DType } from "./tensor.ts";

/** Every error loadSafetensors / readSafetensorsHeader throws for bad input; the message starts with "safetensors: ". */
export class SafetensorsError extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`safetensors: ${detail}`, options);
    this.name = "SafetensorsError";
  }
}

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

const U64_BYTES = 8;
const HEADER_ALIGNMENT = 8;
const METADATA_KEY = "__metadata__";
/** serde_json's recursion limit, which the reference reader runs under; a valid header needs 3. */
const MAX_HEADER_DEPTH = 128;

/** Bits per element of every dtype the format defines (sub-byte float formats included). */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32,
  I64: 64, U64: 64, F64: 64, C64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

const STORED_DTYPE: Partial<Record<DType, string>> = { float32: "F32", int32: "I32" };

/**
 * What each readable dtype becomes. I64 is read as int32 because PyTorch
 * writes integer tensors (labels, counters such as BatchNorm's
 * num_batches_tracked) as int64; the values are checked to fit, so nothing is
 * changed silently.
 */
const LOADED_DTYPE: Readonly<Record<string, DType>> = { F32: "float32", I32: "int32", I64: "int32" };

const SUPPORTED_HINT = "wasmgrad supports F32 and I32, and reads I64 as int32 when every value fits";

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
      throw new Error(`saveSafetensors: "${METADATA_KEY}" is reserved for the metadata and cannot name a tensor`);
    }
    if (seen.has(name)) throw new Error(`saveSafetensors: duplicate tensor name ${q(name)}`);
    seen.add(name);
    if (!(value instanceof Tensor)) {
      throw new TypeError(`saveSafetensors: value of ${q(name)} is not a Tensor (got ${describe(value)})`);
    }
    if (!Object.hasOwn(STORED_DTYPE, value.dtype)) {
      throw new TypeError(`saveSafetensors: tensor ${q(name)} has dtype ${String(value.dtype)}, which safetensors cannot store`);
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
    throw new Error(`saveSafetensors: cannot save tensor ${q(name)}: ${describeError(error)}`, { cause: error });
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
      throw new TypeError(`saveSafetensors: metadata values must be strings; ${q(key)} is ${describe(value)}`);
    }
    checkWellFormed(key, `metadata key ${JSON.stringify(key)}`, "saveSafetensors");
    checkWellFormed(value, `metadata value of ${q(key)}`, "saveSafetensors");
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(",")}}`;
}

/** JSON.stringify escapes a lone surrogate, but Rust's serde (the reference reader) refuses it: stop it at save time. */
function checkWellFormed(s: string, what: string, where: string): void {
  if (/\p{Cs}/u.test(s)) throw new Error(`${where}: ${what} contains a lone UTF-16 surrogate, which is not valid Unicode`);
}

// ---- reading -----------------------------------------------------------------

/**
 * Validates a safetensors file's header and layout without touching tensor
 * data: for inspecting a file (names, dtypes, shapes, metadata) before loading.
 * Throws SafetensorsError for anything the reference reader would refuse.
 */
export function readSafetensorsHeader(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): SafetensorsHeader {
  const input = asBytes(bytes);
  const fail: Fail = failer(options.name);
  if (!plausibleHeaderStart(input)) {
    const foreign = describeForeignFile(input);
    if (foreign) fail(foreign);
  }
  if (input.length < U64_BYTES) {
    fail(`file is ${input.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const lengthLow = view.getUint32(0, true);
  const lengthHigh = view.getUint32(4, true);
  const headerLength = lengthHigh * 2 ** 32 + lengthLow;
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (U64_BYTES + headerLength > input.length) {
    fail(`header length ${headerLength} runs past the end of the ${input.length}-byte file`);
  }
  const headerBytes = input.subarray(U64_BYTES, U64_BYTES + headerLength);
  if (headerBytes[0] !== 0x7b) fail("header does not start with '{'");

  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where JSON.parse refuses it as the reference does.
    // Browsers' TextDecoder refuses views of shared memory, hence the copy for those.
    const decodable = headerBytes.buffer instanceof ArrayBuffer ? headerBytes : headerBytes.slice();
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(decodable);
  } catch (error) {
    fail("header is not valid UTF-8", error);
  }
  const keyLiterals = scanHeader(text, fail);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(`header is not valid JSON: ${describeError(error)}`, error);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    fail(`header must be a JSON object, got ${Array.isArray(parsed) ? "an array" : describe(parsed)}`);
  }
  const header = parsed as Record<string, unknown>;
  const dataLength = input.length - U64_BYTES - headerLength;

  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsEntry[] = [];
  // JSON.parse makes "__proto__" an own data property, so no key reaches a
  // prototype; the keys are taken from the text because a JS object would list
  // integer-like names first, and would silently keep only the last of two equal ones.
  const seen = new Set<string>();
  for (const name of keyLiterals.map((literal) => JSON.parse(literal) as string)) {
    if (seen.has(name)) fail(`the header has the key ${q(name)} twice`);
    seen.add(name);
    const value = header[name];
    if (name === METADATA_KEY) metadata = parseMetadata(value, fail);
    else tensors.push(parseEntry(name, value, dataLength, fail));
  }

  // Storage order; the sort is stable, so empty tensors at one offset keep header order.
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous: SafetensorsEntry | null = null;
  for (const t of tensors) {
    const [begin, end] = t.dataOffsets;
    if (begin < covered) {
      fail(`tensor ${q(t.name)} (bytes ${begin}..${end}) overlaps tensor ${q(previous!.name)} (bytes ${previous!.dataOffsets[0]}..${covered})`);
    }
    if (begin > covered) {
      fail(`bytes ${covered}..${begin} of the data section belong to no tensor (a hole before tensor ${q(t.name)})`);
    }
    covered = end;
    previous = t;
  }
  if (covered !== dataLength) {
    fail(`the data section is ${dataLength} bytes but the tensors cover only ${covered} (trailing bytes belong to no tensor)`);
  }
  return { tensors, metadata, dataStart: U64_BYTES + headerLength };
}

/**
 * Reads safetensors bytes (e.g. written by PyTorch's `safetensors.torch.save_file`)
 * into a state dict `{ name: Tensor }` for `model.loadStateDict`. The whole
 * file is validated before any tensor is allocated. The result has no
 * prototype, so names such as "__proto__" or "constructor" are ordinary keys;
 * as in every JS object, integer-like names are listed first.
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): StateDict {
  const input = asBytes(bytes);
  const fail: Fail = failer(options.name);
  const header = readSafetensorsHeader(input, options);
  for (const t of header.tensors) {
    if (!Object.hasOwn(LOADED_DTYPE, t.dtype)) fail(`unsupported dtype ${t.dtype} for tensor ${q(t.name)} (${SUPPORTED_HINT})`);
    if (t.shape.length > MAX_DIMS) {
      fail(`tensor ${q(t.name)} has ${t.shape.length} dimensions; wasmgrad supports at most ${MAX_DIMS}`);
    }
    if (t.dtype === "I64") checkFitsInt32(input, header.dataStart, t, fail);
  }

  const stateDict: StateDict = Object.create(null);
  const made: Tensor[] = [];
  try {
    for (const t of header.tensors) {
      const tensor = empty(t.shape, { dtype: LOADED_DTYPE[t.dtype] });
      made.push(tensor);
      copyInto(tensor, input, header.dataStart, t);
      stateDict[t.name] = tensor;
    }
  } catch (error) {
    // Out of heap, most likely: free what was made instead of waiting for the GC.
    for (const tensor of made) tensor.dispose();
    if (error instanceof SafetensorsError) throw error;
    fail(`could not allocate the file's tensors: ${describeError(error)}`, error);
  }
  return stateDict;
}

function copyInto(tensor: Tensor, input: Uint8Array, dataStart: number, entry: SafetensorsEntry): void {
  const begin = dataStart + entry.dataOffsets[0];
  const end = dataStart + entry.dataOffsets[1];
  const heap = tensor.backend.heap;
  if (entry.dtype !== "I64") {
    heap.u8.set(input.subarray(begin, end), tensor.ptr);
    return;
  }
  // Little-endian int64 → its low word, which checkFitsInt32 showed is the whole value.
  const view = new DataView(input.buffer, input.byteOffset + begin, end - begin);
  const out = heap.i32;
  const at = tensor.ptr >>> 2;
  for (let i = 0, n = (end - begin) / 8; i < n; i++) out[at + i] = view.getInt32(8 * i, true);
}

function checkFitsInt32(input: Uint8Array, dataStart: number, entry: SafetensorsEntry, fail: Fail): void {
  const begin = dataStart + entry.dataOffsets[0];
  const length = entry.dataOffsets[1] - entry.dataOffsets[0];
  const view = new DataView(input.buffer, input.byteOffset + begin, length);
  for (let i = 0; i < length / 8; i++) {
    const low = view.getInt32(8 * i, true);
    const high = view.getInt32(8 * i + 4, true);
    if (high !== low >> 31) {
      fail(
        `tensor ${q(entry.name)} (I64) holds ${view.getBigInt64(8 * i, true)} at flat index ${i}, ` +
          "outside int32, wasmgrad's only integer dtype",
      );
    }
  }
}

/**
 * One pass over the header text before JSON.parse: refuses nesting deeper than
 * the reference's JSON parser allows (a 100 MB header of brackets would
 * otherwise cost seconds and gigabytes), and returns the top-level keys as
 * written, still JSON-quoted, in order.
 */
function scanHeader(json: string, fail: Fail): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < json.length && json.charCodeAt(i) !== 0x22; i++) {
        if (json.charCodeAt(i) === 0x5c /* \\ */) i++; // an escaped quote does not end the string
      }
      if (depth === 1 && expectKey) keys.push(json.slice(start, i + 1));
      expectKey = false;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > MAX_HEADER_DEPTH) fail(`header nests deeper than ${MAX_HEADER_DEPTH} levels`);
      expectKey = depth === 1 && c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

function parseMetadata(value: unknown, fail: Fail): Record<string, string> | null {
  // The reference reads `__metadata__` as Option<HashMap<String, String>>, so null means none.
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(`__metadata__ must be an object of strings, got ${Array.isArray(value) ? "an array" : describe(value)}`);
  }
  const out: Record<string, string> = Object.create(null);
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v !== "string") fail(`__metadata__ values must be strings; ${q(key)} is ${describe(v)}`);
    out[key] = v;
  }
  return out;
}

function parseEntry(name: string, value: unknown, dataLength: number, fail: Fail): SafetensorsEntry {
  const what = `tensor ${q(name)}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(`${what}: entry must be an object with dtype, shape and data_offsets, got ${Array.isArray(value) ? "an array" : describe(value)}`);
  }
  const entry = value as Record<string, unknown>;
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!Object.hasOwn(entry, "dtype") || typeof dtype !== "string") fail(`${what}: dtype must be a string, got ${describe(dtype)}`);
  const bits = Object.hasOwn(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype]! : fail(`${what}: unknown dtype ${JSON.stringify(dtype.slice(0, 40))}`);
  if (!Object.hasOwn(entry, "shape") || !Array.isArray(shape)) fail(`${what}: shape must be an array, got ${describe(shape)}`);
  shape.forEach((d: unknown, axis: number) => {
    if (!isSize(d)) fail(`${what}: shape must hold non-negative integers; dim ${axis} is ${describe(d)}`);
  });
  if (!Object.hasOwn(entry, "data_offsets") || !Array.isArray(offsets) || offsets.length !== 2) {
    fail(`${what}: data_offsets must be [begin, end], got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as unknown[];
  if (!isSize(begin) || !isSize(end)) {
    fail(`${what}: data_offsets must be non-negative integers, got [${describe(begin)}, ${describe(end)}]`);
  }
  if (begin > end) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    fail(`${what}: data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data section`);
  }
  const dims = shape as number[];
  const byteLength = end - begin;
  if (!sizeMatches(dims, bits, byteLength)) {
    fail(`${what}: shape ${shapeText(dims)} of ${dtype} does not match its ${byteLength} bytes (data_offsets [${begin}, ${end}])`);
  }
  return { name, dtype, shape: [...dims], dataOffsets: [begin, end] };
}

/** numel(shape) · bits == 8 · byteLength, without trusting the product to be exact. */
function sizeMatches(shape: readonly number[], bits: number, byteLength: number): boolean {
  if (shape.includes(0)) return byteLength === 0;
  const targetBits = byteLength * 8;
  let product = bits;
  for (const d of shape) {
    product *= d;
    // Past the target the product only grows (no dim is 0), so stop before it stops being exact.
    if (product > targetBits) return false;
  }
  return product === targetBits;
}

function isSize(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

type Fail = (detail: string, cause?: unknown) => never;

/** Does the file start as a safetensors file can: a header length that fits, then '{'? Only files that do not are checked for other formats. */
function plausibleHeaderStart(input: Uint8Array): boolean {
  if (input.length < U64_BYTES + 1) return false;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const headerLength = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  return headerLength <= MAX_HEADER_BYTES && U64_BYTES + headerLength <= input.length && input[U64_BYTES] === 0x7b;
}

function failer(name: string | undefined): Fail {
  const where = name === undefined ? "" : ` (in ${name})`;
  return (detail, cause) => {
    throw new SafetensorsError(detail + where, cause === undefined ? undefined : { cause });
  };
}

function asBytes(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  // Any view or buffer, also from another realm (a worker, a test environment), where instanceof fails.
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = Object.prototype.toString.call(bytes);
  if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") return new Uint8Array(bytes as ArrayBuffer);
  throw new TypeError(`safetensors: expected a Uint8Array or ArrayBuffer, got ${describe(bytes)}`);
}

// ---- files (Node) ------------------------------------------------------------

/** Writes `stateDict` to a .safetensors file (Node only). */
export async function saveFile(path: string, stateDict: StateDictInput, metadata?: Record<string, string>): Promise<void> {
  const bytes = saveSafetensors(stateDict, metadata);
  const fs = await nodeFs();
  await fs.writeFile(path, bytes);
}

/** Reads a .safetensors file into a state dict (Node only); errors name the file. */
export async function loadFile(path: string): Promise<StateDict> {
  const fs = await nodeFs();
  return loadSafetensors(await fs.readFile(path), { name: path });
}

/**
 * node:fs/promises, imported when a file function runs, under a computed name:
 * browser bundlers (Vite, esbuild --platform=browser) then neither resolve it nor warn.
 */
function nodeFs(): Promise<typeof import("node:fs/promises")> {
  const specifier = "node:fs/promises";
  return import(/* @vite-ignore */ specifier);
}

// ---- messages ----------------------------------------------------------------

function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x === "string") return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") return `${typeof x} ${String(x)}`;
  if (typeof x === "object") {
    const kind = Object.getPrototypeOf(x)?.constructor?.name;
    return kind && kind !== "Object" ? `a ${kind}` : "an object";
  }
  return typeof x;
}

/** A name quoted for a message, clipped: a hostile file can hold a name of megabytes. */
function q(name: string): string {
  return name.length > 80 ? `'${name.slice(0, 80)}…' (${name.length} chars)` : `'${name}'`;
}

function shapeText(shape: readonly number[]): string {
  return shape.length > 8 ? `[${shape.slice(0, 8).join(", ")}, …] (${shape.length} dims)` : `[${shape.join(", ")}]`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- checkpoints -------------------------------------------------------------
//
// A checkpoint is one safetensors file holding everything a training run needs
// to continue bit for bit: the model's parameters ("model.1.weight"), the
// optimizer's state tensors ("optim.state.0.momentumBuffer"), and as
// `__metadata__` strings the optimizer's hyperparameters and step counts
// ("optimizer", JSON), the random generator's position ("rng", JSON; dropout
// masks and DataLoader shuffles draw from it) and your own strings ("user.*").
// PyTorch's safetensors reads it like any other file, and
// tools/pytorch_handover.py continues the run in torch.nn + torch.optim: for
// that the metadata also names each optimizer parameter's model parameter
// ("paramNames" in "optimizer") and lists the layers ("layers", JSON). Both
// were added without a format change: older files lack them and still load.

/** What saveCheckpoint stores and loadCheckpoint restores. */
export interface CheckpointParts {
  model: Module;
  optimizer?: Optimizer<object, object>;
}

const CHECKPOINT_FORMAT = "wasmgrad-checkpoint/1";
const MODEL_PREFIX = "model.";
const OPTIM_PREFIX = "optim.state.";
const USER_PREFIX = "user.";

/** The optimizer's stateDict() without its tensors: what the "optimizer" metadata string holds. */
interface OptimizerMetadata {
  kind: string;
  paramGroups: OptimizerStateDict["paramGroups"];
  state: Record<string, Record<string, number>>;
  /** The model's name for parameter index i ("1.weight"), null for one outside the model; absent in older files. */
  paramNames?: (string | null)[];
}

/**
 * Serializes model + optimizer + random-generator state into one safetensors
 * file (bytes). Call it between steps, e.g. at the end of an epoch: a new
 * epoch's DataLoader draws its order from the restored generator, so resuming
 * gives the run the checkpoint interrupted, bit for bit. `metadata` keeps
 * strings of your own (the epoch, say), given back by loadCheckpoint.
 */
export function saveCheckpoint(parts: CheckpointParts & { metadata?: Record<string, string> }): Uint8Array {
  const { model, optimizer, metadata = {} } = checkParts(parts, "saveCheckpoint");
  const tensors: [string, Tensor][] = Object.entries(model.stateDict()).map(([k, t]) => [MODEL_PREFIX + k, t]);
  const meta: Record<string, string> = {
    format: CHECKPOINT_FORMAT, rng: JSON.stringify(getRngState()), layers: JSON.stringify(describeLayers(model)),
  };
  if (optimizer) {
    const sd = optimizer.stateDict();
    const scalars: OptimizerMetadata["state"] = {};
    for (const [index, state] of Object.entries(sd.state)) {
      for (const [key, value] of Object.entries(state)) {
        if (value instanceof Tensor) tensors.push([`${OPTIM_PREFIX}${index}.${key}`, value]);
        else (scalars[index] ??= {})[key] = value;
      }
    }
    const paramNames = optimizerParamNames(model, optimizer);
    meta.optimizer = JSON.stringify({ kind: optimizer.kind, paramGroups: sd.paramGroups, state: scalars, paramNames } satisfies OptimizerMetadata);
  }
  if (metadata === null || typeof metadata !== "object") {
    throw new TypeError(`saveCheckpoint: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) meta[USER_PREFIX + key] = value;
  return saveSafetensors(tensors, meta);
}

/**
 * Restores a saveCheckpoint file into `model` (strictly: every parameter, no
 * other), `optimizer` (when given; a checkpoint without optimizer state is
 * refused then) and the global random generator. Everything is checked before
 * anything changes. Returns the metadata strings given to saveCheckpoint.
 */
export function loadCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  parts: CheckpointParts,
  options: LoadOptions = {},
): { metadata: Record<string, string> } {
  const { model, optimizer } = checkParts(parts, "loadCheckpoint");
  const where = `loadCheckpoint${options.name === undefined ? "" : ` (${options.name})`}`;
  const fail = (detail: string): never => {
    throw new Error(`${where}: ${detail}`);
  };
  const meta = readSafetensorsHeader(bytes, options).metadata ?? {};
  if (meta.format !== CHECKPOINT_FORMAT) {
    fail(
      `not a wasmgrad checkpoint (its metadata has no format "${CHECKPOINT_FORMAT}"); ` +
        "for a plain state dict use model.loadStateDict(io.loadSafetensors(bytes))",
    );
  }
  const rng = checkRngState(parseJson(meta.rng, "rng", fail), `${where}: rng`);

  const loaded = loadSafetensors(bytes, options);
  try {
    const modelState: StateDict = Object.create(null);
    const optimTensors = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(loaded)) {
      if (name.startsWith(MODEL_PREFIX)) modelState[name.slice(MODEL_PREFIX.length)] = t;
      else if (name.startsWith(OPTIM_PREFIX)) optimTensors.set(name.slice(OPTIM_PREFIX.length), t);
      else fail(`unexpected tensor ${q(name)}: checkpoint tensors are named "${MODEL_PREFIX}…" or "${OPTIM_PREFIX}…"`);
    }

    model.checkStateDict(modelState);
    let optimState: OptimizerStateDict | null = null;
    if (optimizer) {
      if (meta.optimizer === undefined) fail("the checkpoint holds no optimizer state, but an optimizer was given to restore");
      const saved = parseJson(meta.optimizer, "optimizer", fail) as OptimizerMetadata;
      if (saved?.kind !== optimizer.kind) {
        fail(`the checkpoint holds ${String(saved?.kind)} state, but the optimizer given is ${optimizer.kind}`);
      }
      checkParamNames(saved.paramNames, optimizerParamNames(model, optimizer), fail);
      const state: OptimizerStateDict["state"] = {};
      for (const [index, scalars] of Object.entries(saved.state ?? {})) state[Number(index)] = { ...scalars };
      for (const [name, t] of optimTensors) {
        const dot = name.indexOf(".");
        (state[Number(name.slice(0, dot))] ??= {})[name.slice(dot + 1)] = t;
      }
      optimState = { state, paramGroups: saved.paramGroups };
      optimizer.checkStateDict(optimState);
    }
    // Both were checked above: a bad checkpoint has thrown before the model, the optimizer or the generator changed.
    model.loadStateDict(modelState);
    if (optimizer && optimState) optimizer.loadStateDict(optimState);
    setRngState(rng);
  } finally {
    for (const t of Object.values(loaded)) t.dispose();
  }
  const user: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (key.startsWith(USER_PREFIX)) user[key.slice(USER_PREFIX.length)] = value;
  return { metadata: user };
}

/** Each optimizer parameter's name in the model, by index (the order of stateDict().paramGroups). */
function optimizerParamNames(model: Module, optimizer: Optimizer<object, object>): (string | null)[] {
  const names = new Map(model.namedParameters().map(([name, p]) => [p, name]));
  return optimizer.paramGroups.flatMap((g) => g.params.map((p) => names.get(p) ?? null));
}

/**
 * A checkpoint written by PyTorch (or by code that grouped the parameters
 * differently) would otherwise load one parameter's momentum into another of
 * the same shape without a word.
 */
function checkParamNames(saved: unknown, own: (string | null)[], fail: (detail: string) => never): void {
  if (saved === undefined) return;
  if (!Array.isArray(saved) || saved.length !== own.length) {
    fail(`the optimizer state names ${Array.isArray(saved) ? saved.length : describe(saved)} parameters, the optimizer given has ${own.length}`);
  }
  own.forEach((name, i) => {
    const theirs: unknown = saved[i];
    if (theirs !== null && name !== null && theirs !== name) {
      fail(`optimizer parameter ${i} is the model's ${q(String(theirs))} in the checkpoint, but ${q(name)} in the optimizer given (are the parameter groups in the same order?)`);
    }
  });
}

function checkParts<P extends CheckpointParts>(parts: P, where: string): P {
  if (parts === null || typeof parts !== "object" || !(parts.model instanceof Module)) {
    throw new TypeError(`${where}: expected { model, optimizer? } with an nn.Module as model, got ${describe(parts?.model ?? parts)}`);
  }
  if (parts.optimizer !== undefined && !(parts.optimizer instanceof Optimizer)) {
    throw new TypeError(`${where}: optimizer must be an optim.SGD, Adam or AdamW, got ${describe(parts.optimizer)}`);
  }
  return parts;
}

function parseJson(text: string | undefined, key: string, fail: (detail: string) => never): unknown {
  if (text === undefined) fail(`the metadata has no "${key}" entry`);
  try {
    return JSON.parse(text!);
  } catch (error) {
    return fail(`the metadata's "${key}" entry is not valid JSON: ${describeError(error)}`);
  }
}
