// The Wasm module must be instantiable by several workers over one shared
// memory: so it imports its memory, owns no data segments (AssemblyScript's
// Math.exp/log/pow would bring lookup tables at fixed addresses inside our
// heap) and no mutable globals (state that would differ per worker).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { wasmBase64 } from "../src/backend/wasm-binary.generated.ts";

const bytes = Uint8Array.from(Buffer.from(wasmBase64, "base64"));

function readLeb(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7;
  }
}

/** Section id → payload. */
function sections(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let pos = 8;
  while (pos < buf.length) {
    const id = buf[pos++];
    const [size, next] = readLeb(buf, pos);
    out.set(id, buf.subarray(next, next + size));
    pos = next + size;
  }
  return out;
}

describe("the Wasm module", () => {
  const mod = new WebAssembly.Module(bytes);

  it("validates with SIMD and imports its memory from the host", () => {
    expect(WebAssembly.validate(bytes)).toBe(true);
    const imports = WebAssembly.Module.imports(mod);
    expect(imports.filter((i) => i.kind === "memory")).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
    expect(imports.every((i) => i.module === "env" && (i.kind === "memory" || i.name === "abort"))).toBe(true);
  });

  it("has no data segments, so nothing is written into the shared heap at instantiation", () => {
    const data = sections(bytes).get(11);
    const count = data ? readLeb(data, 0)[0] : 0;
    expect(count).toBe(0);
  });

  it("has no mutable globals, so instances over one memory share no hidden state", () => {
    // The text form written by the same build (asconfig.json's textFile).
    const wat = readFileSync(new URL("../build/wasmgrad.wat", import.meta.url), "utf8");
    expect(wat).not.toMatch(/\(global [^\n]*\(mut /);
    expect(wat).not.toMatch(/\(data /);
  });

  it("exports every kernel of the contract", () => {
    const names = WebAssembly.Module.exports(mod).map((e) => e.name);
    for (const k of [
      "f32_gemm", "f32_gemm_workspace_size", "f32_unary", "f32_unary_backward", "f32_binary", "f32_binary_scalar",
      "f32_binary_broadcast", "f32_strided_copy", "f32_fill", "f32_arange", "i32_to_f32", "u8_to_f32",
      "f32_broadcast_rows", "f32_reduce", "f32_argmax", "f32_scatter_add_axis", "random_uniform", "random_normal",
      "random_blocks", "f32_dropout", "f32_dropout_backward", "f32_cross_entropy", "f32_cross_entropy_backward",
      "f32_mse", "f32_mse_backward", "f32_sgd_step", "f32_adam_step",
    ]) expect(names, k).toContain(k);
  });
});
