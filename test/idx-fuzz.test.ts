// Property-based tests of the IDX reader (src/data/idx.ts) on untrusted input:
// whatever the bytes, gzipped or not, parseIdx / readIdx either return dims
// and data that agree with each other and with the header, or throw an Error
// whose message is one of the reader's own and names the file.

import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeIdx, parseIdx, readIdx, type IdxArray } from "../src/data/idx.ts";

const RUNS = 300;
const NAME = "fuzz.idx";

/** Every message the reader writes for bad input, as it starts. */
const KNOWN_ERRORS = [
  /^fuzz\.idx is too short for an IDX header: \d+ bytes/,
  /^bad IDX magic in fuzz\.idx: first two bytes are 0x[0-9A-F]{2} 0x[0-9A-F]{2}, expected 0x00 0x00/,
  /^unsupported IDX element type 0x[0-9A-F]{2} in fuzz\.idx \(/,
  /^IDX fuzz\.idx declares \d+ dimensions; expected 1 to 4$/,
  /^IDX header of fuzz\.idx is truncated: /,
  /^IDX fuzz\.idx has a zero-sized dimension \d/,
  // Past 1e21 the byte count prints as an inexact float ("need 4.722369016144821e+21 data bytes"): still a refusal.
  /^IDX fuzz\.idx (truncated|has trailing bytes): dims \[[\d, ]+\] need [\d.e+]+ data bytes/,
  /^invalid gzip data in fuzz\.idx: /,
  /^decompressed size of fuzz\.idx exceeds the limit of \d+ bytes/,
];

type Outcome = "accepted" | "refused";

/** The parse agrees with the bytes it came from. */
function expectConsistent(parsed: IdxArray, decompressed: Uint8Array): void {
  const { dims, data } = parsed;
  expect(dims.length).toBeGreaterThanOrEqual(1);
  expect(dims.length).toBeLessThanOrEqual(4);
  expect(dims.every((d) => Number.isInteger(d) && d >= 1)).toBe(true);
  expect(data.length, "data holds exactly the elements the dims declare").toBe(dims.reduce((a, b) => a * b, 1));
  const view = new DataView(decompressed.buffer, decompressed.byteOffset, decompressed.byteLength);
  expect(dims).toEqual(dims.map((_, axis) => view.getUint32(4 + 4 * axis, false)));
  expect(Array.from(data)).toEqual(Array.from(decompressed.subarray(4 + 4 * dims.length)));
}

function expectKnownError(error: unknown): void {
  if (!(error instanceof Error)) throw new Error(`expected an Error, got ${String(error)}`);
  if (!KNOWN_ERRORS.some((pattern) => pattern.test(error.message))) {
    throw new Error(`unexpected error message: ${error.constructor.name}: ${error.message}`, { cause: error });
  }
}

function parseOutcome(bytes: Uint8Array): Outcome {
  try {
    expectConsistent(parseIdx(bytes, NAME), bytes);
    return "accepted";
  } catch (error) {
    if ((error as Error)?.name === "AssertionError") throw error;
    expectKnownError(error);
    return "refused";
  }
}

async function readOutcome(bytes: Uint8Array, maxBytes = 1 << 24): Promise<Outcome> {
  let parsed: IdxArray;
  try {
    parsed = await readIdx(bytes, { name: NAME, maxBytes });
  } catch (error) {
    expectKnownError(error);
    return "refused";
  }
  // What was parsed is what gunzip gives; the test's own decompressor says what that is.
  const { gunzipSync } = await import("node:zlib");
  const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  expect(plain.length).toBeLessThanOrEqual(maxBytes);
  expectConsistent(parsed, plain);
  return "accepted";
}

// ---- generators ----------------------------------------------------------------

const validIdx = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
  .chain((dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ dims, data }));
  });

const u32 = fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(0, 1, 2, 2 ** 16, 2 ** 31, 2 ** 32 - 1));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("dim" as const), axis: fc.nat(), value: u32 }),
  fc.record({ kind: fc.constant("byte" as const), at: fc.integer({ min: 0, max: 3 }), value: fc.integer({ min: 0, max: 255 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const out = bytes.slice();
  switch (m.kind) {
    case "flip":
      for (const at of m.at) out[at % out.length] = out[at % out.length]! ^ (1 << m.bit);
      return out;
    case "truncate":
      return out.subarray(0, m.at % out.length);
    case "extend":
      return new Uint8Array([...out, ...m.extra]);
    case "dim": {
      const ndim = out[3]!;
      new DataView(out.buffer).setUint32(4 + 4 * (m.axis % ndim), m.value, false);
      return out;
    }
    case "byte":
      out[m.at] = m.value;
      return out;
  }
}

// ---- properties ----------------------------------------------------------------

describe("IDX reader round trip (fast-check)", () => {
  it("parses what encodeIdx writes, plain and gzipped", async () => {
    await fc.assert(
      fc.asyncProperty(validIdx, async ({ dims, data }) => {
        const file = encodeIdx(dims, data);
        const plain = parseIdx(file, NAME);
        expect(plain.dims).toEqual(dims);
        expect(plain.data).toEqual(data);
        const gz = await readIdx(new Uint8Array(gzipSync(file)), { name: NAME, maxBytes: file.length });
        expect(gz.dims).toEqual(dims);
        expect(gz.data).toEqual(data);
      }),
      { numRuns: 200 },
    );
  });
});

describe("IDX reader on hostile input (fast-check)", () => {
  it("parseIdx: random bytes are parsed consistently or refused with one of its messages", () => {
    const header = fc.tuple(fc.constantFrom(0, 0, 0, 1), fc.constantFrom(0, 0, 0x1f), fc.constantFrom(8, 8, 9, 0x0d, 0), fc.integer({ min: 0, max: 6 }));
    const plausible = fc.tuple(header, fc.uint8Array({ maxLength: 48 })).map(([h, rest]) => new Uint8Array([...h, ...rest]));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), plausible), (bytes) => void parseOutcome(bytes)), { numRuns: RUNS });
  });

  it("parseIdx: mutated valid files (bit flips, truncations, extensions, rewritten dims and header bytes)", () => {
    const outcomes = new Set<Outcome>();
    fc.assert(
      fc.property(validIdx, mutation, ({ dims, data }, m) => {
        outcomes.add(parseOutcome(mutate(encodeIdx(dims, data), m)));
      }),
      { numRuns: RUNS },
    );
    expect([...outcomes].sort(), "the mutations reach both outcomes").toEqual(["accepted", "refused"]);
  });

  it("readIdx: gzipped mutated files, and mutated gzip streams, resolve consistently or reject with one of its messages", async () => {
    const outcomes = new Set<Outcome>();
    await fc.assert(
      fc.asyncProperty(validIdx, mutation, fc.boolean(), mutation, async ({ dims, data }, m, mutateGzip, gzMutation) => {
        const gz = new Uint8Array(gzipSync(mutate(encodeIdx(dims, data), m)));
        outcomes.add(await readOutcome(mutateGzip ? mutateGzipStream(gz, gzMutation) : gz));
      }),
      // A run that never settles (a decompressor waiting forever) fails instead of hanging the suite.
      { numRuns: RUNS, timeout: 2000 },
    );
    expect([...outcomes].sort()).toEqual(["accepted", "refused"]);
  });

  it("readIdx: maxBytes stops the decompression of any gzip input past the limit", async () => {
    await fc.assert(
      fc.asyncProperty(validIdx, fc.integer({ min: 0, max: 200 }), async ({ dims, data }, maxBytes) => {
        await readOutcome(new Uint8Array(gzipSync(encodeIdx(dims, data))), maxBytes);
      }),
      { numRuns: 200, timeout: 2000 },
    );
  });

  it("readIdx: random bytes after the gzip magic reject with one of its messages", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (rest) => {
        await readOutcome(new Uint8Array([0x1f, 0x8b, ...rest]));
      }),
      { numRuns: 200, timeout: 2000 },
    );
  });
});

/** The gzip-level mutations: the same kinds, applied to the compressed bytes ("dim" rewrites 4 bytes anywhere). */
function mutateGzipStream(gz: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind !== "dim") return mutate(gz, m.kind === "byte" ? { ...m, at: m.at + 10 * (m.value % 2) } : m);
  const out = gz.slice();
  new DataView(out.buffer).setUint32(m.axis % (out.length - 3), m.value, false);
  return out;
}
