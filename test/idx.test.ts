import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { checkFashionMnistPair, encodeIdx, gunzipIfNeeded, parseIdx, readIdx } from "../src/data/idx.ts";

/** An IDX header written by hand, so malformed variants are easy to build. */
function idxBytes(dims: number[], payload: number[] | Uint8Array, options: { magic?: number[]; type?: number } = {}) {
  const [zero0, zero1] = options.magic ?? [0, 0];
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header.set([zero0!, zero1!, options.type ?? 0x08, dims.length]);
  dims.forEach((size, axis) => view.setUint32(4 + 4 * axis, size, false));
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

function sequence(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 256);
}

function gzip(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes, { level: 9 }));
}

function fashionSplit(count: number, labelValues?: number[]) {
  const images = parseIdx(idxBytes([count, 28, 28], sequence(count * 28 * 28)), "images");
  const labels = parseIdx(idxBytes([count], labelValues ?? Array.from({ length: count }, (_, i) => i % 10)), "labels");
  return { images, labels };
}

describe("parseIdx on well-formed files", () => {
  it("reads dims and pixel bytes of a 3-d unsigned-byte file", () => {
    const pixels = sequence(2 * 3 * 4);
    const parsed = parseIdx(idxBytes([2, 3, 4], pixels), "images.idx");
    expect(parsed.dtype).toBe("uint8");
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect(Array.from(parsed.data)).toEqual(Array.from(pixels));
  });

  it("reads a 1-d label file", () => {
    const parsed = parseIdx(idxBytes([5], [3, 1, 4, 1, 5]));
    expect(parsed.dims).toEqual([5]);
    expect(Array.from(parsed.data)).toEqual([3, 1, 4, 1, 5]);
  });

  it("reads dimensions as big-endian 32-bit sizes", () => {
    const parsed = parseIdx(idxBytes([300, 1], sequence(300)));
    expect(parsed.dims).toEqual([300, 1]);
  });

  it("returns a view of the input bytes rather than a copy", () => {
    const file = idxBytes([4], [9, 8, 7, 6]);
    const parsed = parseIdx(file);
    expect(parsed.data.buffer).toBe(file.buffer);
    expect(parsed.data.byteOffset).toBe(8);
  });

  it("parses a file that sits at an offset inside a larger buffer", () => {
    const file = idxBytes([2, 2], [1, 2, 3, 4]);
    const padded = new Uint8Array(file.length + 7);
    padded.set(file, 3);
    const parsed = parseIdx(padded.subarray(3, 3 + file.length));
    expect(parsed.dims).toEqual([2, 2]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4]);
  });

  it("round-trips through encodeIdx", () => {
    const pixels = sequence(3 * 28 * 28);
    const parsed = parseIdx(encodeIdx([3, 28, 28], pixels));
    expect(parsed.dims).toEqual([3, 28, 28]);
    expect(parsed.data).toEqual(pixels);
  });
});

describe("parseIdx rejects malformed headers before reading the data", () => {
  it("rejects a file shorter than the 4-byte magic", () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8]), "tiny.idx")).toThrow(
      "tiny.idx is too short for an IDX header: 3 bytes, need at least 4",
    );
  });

  it("rejects a bad magic number, naming the bytes found", () => {
    expect(() => parseIdx(idxBytes([1], [0], { magic: [0x12, 0x34] }), "bad.idx")).toThrow(
      "bad IDX magic in bad.idx: first two bytes are 0x12 0x34, expected 0x00 0x00",
    );
  });

  it("points out still-gzipped input when handed to the parser", () => {
    expect(() => parseIdx(gzip(idxBytes([1], [0])), "x.gz")).toThrow("it is gzip-compressed; decompress it first");
  });

  it("rejects element types other than unsigned byte, naming the type", () => {
    expect(() => parseIdx(idxBytes([1], [0, 0, 0, 0], { type: 0x0d }), "floats.idx")).toThrow(
      "unsupported IDX element type 0x0D in floats.idx (float32): only 0x08 (unsigned byte) is supported",
    );
  });

  it("rejects an element type code that IDX does not define", () => {
    expect(() => parseIdx(idxBytes([1], [0], { type: 0x07 }), "odd.idx")).toThrow(
      "unsupported IDX element type 0x07 in odd.idx (not a defined IDX type)",
    );
  });

  it("rejects zero dimensions", () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 0]), "nodims.idx")).toThrow(
      "IDX nodims.idx declares 0 dimensions; expected 1 to 4",
    );
  });

  it("rejects more than four dimensions", () => {
    expect(() => parseIdx(idxBytes([1, 1, 1, 1, 1], [0]), "deep.idx")).toThrow(
      "IDX deep.idx declares 5 dimensions; expected 1 to 4",
    );
  });

  it("rejects a header cut short of its declared dimension sizes", () => {
    const file = idxBytes([10, 28, 28], []).subarray(0, 10);
    expect(() => parseIdx(file, "short.idx")).toThrow(
      "IDX header of short.idx is truncated: 3 dimensions need a 16-byte header, file has 10 bytes",
    );
  });

  it("rejects a zero-sized dimension", () => {
    expect(() => parseIdx(idxBytes([4, 0, 28], []), "empty.idx")).toThrow(
      "IDX empty.idx has a zero-sized dimension 1 (dims [4, 0, 28])",
    );
  });
});

describe("parseIdx checks the data size against the header exactly", () => {
  it("rejects truncated data, naming expected and actual sizes", () => {
    expect(() => parseIdx(idxBytes([2, 28, 28], sequence(1000)), "cut.idx")).toThrow(
      "IDX cut.idx truncated: dims [2, 28, 28] need 1568 data bytes after the 16-byte header, found 1000",
    );
  });

  it("rejects trailing bytes after the data, naming expected and actual sizes", () => {
    expect(() => parseIdx(idxBytes([3], [1, 2, 3, 4]), "long.idx")).toThrow(
      "IDX long.idx has trailing bytes: dims [3] need 3 data bytes after the 8-byte header, found 4",
    );
  });

  it("rejects huge declared sizes without allocating them", () => {
    const file = idxBytes([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [1, 2]);
    expect(() => parseIdx(file, "huge.idx")).toThrow(/IDX huge\.idx truncated: .* found 2$/);
  });
});

describe("gunzipIfNeeded", () => {
  it("returns uncompressed input unchanged", async () => {
    const file = idxBytes([2], [1, 2]);
    expect(await gunzipIfNeeded(file, { maxBytes: file.length })).toBe(file);
  });

  it("decompresses gzip input to the original bytes", async () => {
    const file = idxBytes([50, 28, 28], sequence(50 * 28 * 28));
    expect(await gunzipIfNeeded(gzip(file), { maxBytes: file.length })).toEqual(file);
  });

  it("lets readIdx parse gzipped and plain files alike", async () => {
    const file = idxBytes([3, 2], [1, 2, 3, 4, 5, 6]);
    for (const bytes of [file, gzip(file)]) {
      const parsed = await readIdx(bytes, { name: "any.idx", maxBytes: file.length });
      expect(parsed.dims).toEqual([3, 2]);
      expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it("accepts output exactly at the size limit", async () => {
    const file = idxBytes([100], sequence(100));
    expect(await gunzipIfNeeded(gzip(file), { maxBytes: file.length })).toEqual(file);
  });

  it("rejects truncated gzip data, naming the source", async () => {
    const compressed = gzip(idxBytes([20, 28, 28], sequence(20 * 28 * 28)));
    const truncated = compressed.subarray(0, compressed.length >> 1);
    await expect(gunzipIfNeeded(truncated, { name: "cut.gz", maxBytes: 1 << 20 })).rejects.toThrow(/^invalid gzip data in cut\.gz: /);
  });

  it("rejects gzip data missing only its trailer", async () => {
    const compressed = gzip(idxBytes([10], sequence(10)));
    await expect(gunzipIfNeeded(compressed.subarray(0, compressed.length - 4), { name: "notrailer.gz", maxBytes: 1 << 20 })).rejects.toThrow(
      /^invalid gzip data in notrailer\.gz: /,
    );
  });

  it("rejects corrupt gzip data, naming the source", async () => {
    const corrupt = gzip(idxBytes([20, 28, 28], sequence(20 * 28 * 28)));
    for (let i = 10; i < 30; i++) corrupt[i]! ^= 0xa5;
    await expect(gunzipIfNeeded(corrupt, { name: "bad.gz", maxBytes: 1 << 20 })).rejects.toThrow(/^invalid gzip data in bad\.gz: /);
  });

  it("rejects gzip data whose checksum does not match", async () => {
    const compressed = gzip(idxBytes([10], sequence(10)));
    compressed[compressed.length - 8]! ^= 0xff;
    await expect(gunzipIfNeeded(compressed, { name: "crc.gz", maxBytes: 1 << 20 })).rejects.toThrow(/^invalid gzip data in crc\.gz: /);
  });

  it("refuses to run without maxBytes, which is all that bounds the output a size trailer asks for", async () => {
    // 120 bytes of gzip whose trailer claims 4 GiB: without a limit it would be presized to that.
    const lying = gzip(new Uint8Array(100));
    new DataView(lying.buffer, lying.byteOffset + lying.length - 4).setUint32(0, 0xffffffff, true);
    await expect(gunzipIfNeeded(lying, {} as never)).rejects.toThrow(
      "gunzipIfNeeded: maxBytes must be a non-negative integer (the largest output expected), got undefined",
    );
    await expect(readIdx(lying, { name: "x.gz" } as never)).rejects.toThrow(TypeError);
    await expect(gunzipIfNeeded(lying, { maxBytes: Infinity })).rejects.toThrow("got Infinity");
  });

  it("stops a decompression bomb at the size limit", async () => {
    const bomb = gzip(new Uint8Array(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    await expect(gunzipIfNeeded(bomb, { name: "bomb.gz", maxBytes: 1024 * 1024 })).rejects.toThrow(
      `decompressed size of bomb.gz exceeds the limit of 1048576 bytes (gzip input is ${bomb.length} bytes)`,
    );
  });
});

describe("checkFashionMnistPair", () => {
  it("accepts matching images [n, 28, 28] and labels [n], returning n", () => {
    const { images, labels } = fashionSplit(12);
    expect(checkFashionMnistPair(images, labels, "train")).toBe(12);
  });

  it("rejects images that are not 28x28", () => {
    const images = parseIdx(idxBytes([2, 28, 27], sequence(2 * 28 * 27)));
    const { labels } = fashionSplit(2);
    expect(() => checkFashionMnistPair(images, labels, "train")).toThrow(
      "train images have dims [2, 28, 27], expected [n, 28, 28]",
    );
  });

  it("rejects labels that are not a vector", () => {
    const { images } = fashionSplit(2);
    const labels = parseIdx(idxBytes([2, 1], [0, 1]));
    expect(() => checkFashionMnistPair(images, labels, "train")).toThrow("train labels have dims [2, 1], expected [n]");
  });

  it("rejects different image and label counts", () => {
    const { images } = fashionSplit(5);
    const { labels } = fashionSplit(4);
    expect(() => checkFashionMnistPair(images, labels, "t10k")).toThrow("t10k has 5 images but 4 labels");
  });

  it("rejects a label of 10 or more, naming its index and value", () => {
    const { images, labels } = fashionSplit(4, [0, 9, 10, 3]);
    expect(() => checkFashionMnistPair(images, labels, "t10k")).toThrow(
      "t10k label 2 is 10, expected a class index below 10",
    );
  });
});
