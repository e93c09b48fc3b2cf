// IDX files (the MNIST / Fashion-MNIST container), gzipped or not.
//
// The parser checks the header against the byte count before touching the
// payload, so a truncated or hostile file fails with a message naming the file
// and the sizes instead of producing a silently misshapen data set. Only what
// MNIST-style data uses (unsigned bytes, up to 4 dims) is supported.

import { describeError, FormatError } from "../errors.ts";

export interface IdxArray {
  dtype: "uint8";
  dims: number[];
  /** A view into the bytes given to parseIdx, not a copy. */
  data: Uint8Array;
}

export interface GunzipOptions {
  /** Names the source in error messages (a file name, a URL). */
  name?: string;
  /**
   * Abort once the decompressed output would exceed this many bytes: the
   * largest file the caller expects. Required, because a few KB of gzip can
   * expand to gigabytes and the size trailer that presizes the output is
   * whatever the file says.
   */
  maxBytes: number;
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const IDX_UNSIGNED_BYTE = 0x08;
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};
const MAX_IDX_DIMS = 4;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * Returns gzip input decompressed and anything else unchanged. Uses the web
 * standard DecompressionStream so Node and browsers share one code path.
 */
export async function gunzipIfNeeded(bytes: Uint8Array, options: GunzipOptions): Promise<Uint8Array> {
  const maxBytes = options?.maxBytes;
  if (typeof maxBytes !== "number" || !Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new TypeError(`gunzipIfNeeded: maxBytes must be a non-negative integer (the largest output expected), got ${String(maxBytes)}`);
  }
  if (!isGzip(bytes)) return bytes;
  const name = options.name ?? "input";

  const compressed = new ReadableStream<BufferSource>({
    start(controller) {
      // Streams take only ArrayBuffer-backed views; a SharedArrayBuffer view
      // (e.g. a wasm shared memory) is copied out first.
      controller.enqueue(bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice());
      controller.close();
    },
  });
  const reader = compressed.pipeThrough(new DecompressionStream("gzip")).getReader();
  // gzip's trailer holds the output size (mod 2^32): write into one buffer of that
  // size as chunks arrive, so 47 MB of images never exist twice (chunks + copy).
  // The hint is only trusted up to maxBytes; a lying trailer just means regrowing.
  const hinted = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4).getUint32(0, true) : 0;
  let out = new Uint8Array(Math.min(hinted, maxBytes));
  let total = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch (error) {
      throw new FormatError(`invalid gzip data in ${name}: ${describeError(error)}`, { cause: error });
    }
    if (result.done) break;
    const chunk = result.value;
    if (total + chunk.length > maxBytes) {
      // Cancelling stops the decompressor instead of letting it inflate the rest.
      await reader.cancel().catch(() => {});
      throw new FormatError(
        `decompressed size of ${name} exceeds the limit of ${maxBytes} bytes (gzip input is ${bytes.length} bytes)`,
      );
    }
    if (total + chunk.length > out.length) {
      const grown = new Uint8Array(Math.min(Math.max(2 * out.length, total + chunk.length), maxBytes));
      grown.set(out.subarray(0, total));
      out = grown;
    }
    out.set(chunk, total);
    total += chunk.length;
  }
  return total === out.length ? out : out.slice(0, total);
}

/** Parses an IDX file (already decompressed). `name` labels error messages. */
export function parseIdx(bytes: Uint8Array, name = "input"): IdxArray {
  if (bytes.length < 4) {
    throw new FormatError(`${name} is too short for an IDX header: ${bytes.length} bytes, need at least 4`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hint = isGzip(bytes) ? " (it is gzip-compressed; decompress it first)" : "";
    throw new FormatError(
      `bad IDX magic in ${name}: first two bytes are ${hex(bytes[0]!)} ${hex(bytes[1]!)}, expected 0x00 0x00${hint}`,
    );
  }
  const elementType = bytes[2]!;
  if (elementType !== IDX_UNSIGNED_BYTE) {
    const typeName = IDX_TYPE_NAMES[elementType] ?? "not a defined IDX type";
    throw new FormatError(
      `unsupported IDX element type ${hex(elementType)} in ${name} (${typeName}): ` +
        `only ${hex(IDX_UNSIGNED_BYTE)} (unsigned byte) is supported`,
    );
  }
  const ndim = bytes[3]!;
  if (ndim < 1 || ndim > MAX_IDX_DIMS) {
    throw new FormatError(`IDX ${name} declares ${ndim} dimensions; expected 1 to ${MAX_IDX_DIMS}`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new FormatError(
      `IDX header of ${name} is truncated: ${ndim} dimensions need a ${headerBytes}-byte header, file has ${bytes.length} bytes`,
    );
  }

  const dims = readDims(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), ndim);
  const zeroAxis = dims.indexOf(0);
  if (zeroAxis !== -1) {
    throw new FormatError(`IDX ${name} has a zero-sized dimension ${zeroAxis} (dims [${dims.join(", ")}])`);
  }
  // Four dims of up to 2^32 can overflow exact integers, but any product past
  // 2^53 is far beyond the byte count anyway, so the comparison stays right.
  const expectedDataBytes = dims.reduce((product, size) => product * size, 1);
  const actualDataBytes = bytes.length - headerBytes;
  if (expectedDataBytes !== actualDataBytes) {
    const problem = actualDataBytes < expectedDataBytes ? "truncated" : "has trailing bytes";
    throw new FormatError(
      `IDX ${name} ${problem}: dims [${dims.join(", ")}] need ${expectedDataBytes} data bytes ` +
        `after the ${headerBytes}-byte header, found ${actualDataBytes}`,
    );
  }
  return { dtype: "uint8", dims, data: bytes.subarray(headerBytes) };
}

/** Decompresses (if gzipped) and parses one IDX file. */
export async function readIdx(bytes: Uint8Array, options: GunzipOptions): Promise<IdxArray> {
  return parseIdx(await gunzipIfNeeded(bytes, options), options.name);
}

/** Serializes unsigned-byte data as an (uncompressed) IDX file. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > MAX_IDX_DIMS) {
    throw new RangeError(`IDX supports 1 to ${MAX_IDX_DIMS} dimensions, got ${dims.length}`);
  }
  const expected = dims.reduce((product, size) => product * size, 1);
  if (expected !== data.length) {
    throw new RangeError(`dims [${dims.join(", ")}] need ${expected} bytes, data has ${data.length}`);
  }
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + data.length);
  const view = new DataView(out.buffer);
  out[2] = IDX_UNSIGNED_BYTE;
  out[3] = dims.length;
  dims.forEach((size, axis) => view.setUint32(4 + 4 * axis, size, false));
  out.set(data, headerBytes);
  return out;
}

export const FASHION_MNIST_CLASSES = 10;
export const FASHION_MNIST_SIDE = 28;

/**
 * Checks that parsed images and labels form one Fashion-MNIST (or MNIST) split:
 * images [n, 28, 28], labels [n], every label a class index. Returns n.
 */
export function checkFashionMnistPair(images: IdxArray, labels: IdxArray, name: string): number {
  const side = FASHION_MNIST_SIDE;
  if (images.dims.length !== 3 || images.dims[1] !== side || images.dims[2] !== side) {
    throw new FormatError(`${name} images have dims [${images.dims.join(", ")}], expected [n, ${side}, ${side}]`);
  }
  if (labels.dims.length !== 1) {
    throw new FormatError(`${name} labels have dims [${labels.dims.join(", ")}], expected [n]`);
  }
  const count = images.dims[0]!;
  if (labels.dims[0] !== count) {
    throw new FormatError(`${name} has ${count} images but ${labels.dims[0]} labels`);
  }
  const badIndex = labels.data.findIndex((label) => label >= FASHION_MNIST_CLASSES);
  if (badIndex !== -1) {
    throw new FormatError(
      `${name} label ${badIndex} is ${labels.data[badIndex]}, expected a class index below ${FASHION_MNIST_CLASSES}`,
    );
  }
  return count;
}

function readDims(view: DataView, ndim: number): number[] {
  return Array.from({ length: ndim }, (_, axis) => view.getUint32(4 + 4 * axis, false));
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}
