// Reading safetensors bytes: the header checked whole against the byte count
// before a tensor is allocated (see safetensors.ts for the layout and rules).

import { MAX_DIMS } from "../backend/backend.ts";
import { describeForeignFile } from "../foreign-formats.ts";
import { type StateDict } from "../nn/module.ts";
import { Tensor } from "../tensor.ts";
import { empty } from "../tensor-creation.ts";
import { describe, describeError, quoted, shapeText } from "./messages.ts";
import { DTYPE_BITS, LOADED_DTYPE, MAX_HEADER_BYTES, MAX_HEADER_DEPTH, METADATA_KEY, SafetensorsError, SUPPORTED_HINT, U64_BYTES, type LoadOptions, type SafetensorsEntry, type SafetensorsHeader } from "./safetensors.ts";

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
    if (seen.has(name)) fail(`the header has the key ${quoted(name)} twice`);
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
      fail(`tensor ${quoted(t.name)} (bytes ${begin}..${end}) overlaps tensor ${quoted(previous!.name)} (bytes ${previous!.dataOffsets[0]}..${covered})`);
    }
    if (begin > covered) {
      fail(`bytes ${covered}..${begin} of the data section belong to no tensor (a hole before tensor ${quoted(t.name)})`);
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
    if (!Object.hasOwn(LOADED_DTYPE, t.dtype)) fail(`unsupported dtype ${t.dtype} for tensor ${quoted(t.name)} (${SUPPORTED_HINT})`);
    if (t.shape.length > MAX_DIMS) {
      fail(`tensor ${quoted(t.name)} has ${t.shape.length} dimensions; wasmgrad supports at most ${MAX_DIMS}`);
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
        `tensor ${quoted(entry.name)} (I64) holds ${view.getBigInt64(8 * i, true)} at flat index ${i}, ` +
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
    if (typeof v !== "string") fail(`__metadata__ values must be strings; ${quoted(key)} is ${describe(v)}`);
    out[key] = v;
  }
  return out;
}

function parseEntry(name: string, value: unknown, dataLength: number, fail: Fail): SafetensorsEntry {
  const what = `tensor ${quoted(name)}`;
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

export type Fail = (detail: string, cause?: unknown) => never;

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
