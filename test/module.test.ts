// The Wasm module must be instantiable by several workers over one shared
// memory: so it imports its memory, owns no data segments (AssemblyScript's
// Math.exp/log/pow would bring lookup tables at fixed addresses inside our
// heap) and no mutable globals (state that would differ per worker). Two
// builds of the same sources are embedded: one importing a plain memory, one
// importing a shared memory (the one threads use); both are checked.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KERNEL_NAMES } from "../src/backend/kernel-table.ts";
import { wasmBytes } from "../src/backend/wasm.ts";
import { readLeb, sections } from "./helpers/wasm-sections.ts";

const bytes = wasmBytes(false);
const sharedBytes = wasmBytes(true);

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

  it("exports every kernel of the kernel table, and no other function", () => {
    const names = WebAssembly.Module.exports(mod).map((e) => e.name);
    for (const k of KERNEL_NAMES) expect(names, k).toContain(k);
    const functions = WebAssembly.Module.exports(mod).filter((e) => e.kind === "function").map((e) => e.name);
    expect([...functions].sort()).toEqual([...KERNEL_NAMES].sort());
  });
});

describe("the shared-memory build (threads)", () => {
  const mod = new WebAssembly.Module(sharedBytes);
  const env = (memory: WebAssembly.Memory) => ({ env: { memory, abort() {} } });

  it("is exactly the build asconfig.json's release-shared target wrote", () => {
    expect(Buffer.from(sharedBytes).equals(readFileSync(new URL("../build/wasmgrad.shared.wasm", import.meta.url)))).toBe(true);
    expect(Buffer.from(bytes).equals(readFileSync(new URL("../build/wasmgrad.wasm", import.meta.url)))).toBe(true);
  });

  it("validates, imports a shared memory of up to 65536 pages, and nothing but memory and abort", () => {
    expect(WebAssembly.validate(sharedBytes)).toBe(true);
    const imports = WebAssembly.Module.imports(mod);
    expect(imports.filter((i) => i.kind === "memory")).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
    expect(imports.every((i) => i.module === "env" && (i.kind === "memory" || i.name === "abort"))).toBe(true);
    const wat = readFileSync(new URL("../build/wasmgrad.shared.wat", import.meta.url), "utf8");
    expect(wat).toContain('(import "env" "memory" (memory $0 1 65536 shared))');
    // A shared memory links; a plain one does not (and the plain build refuses a shared one).
    expect(() => new WebAssembly.Instance(mod, env(new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true })))).not.toThrow();
    expect(() => new WebAssembly.Instance(mod, env(new WebAssembly.Memory({ initial: 1, maximum: 65536 })))).toThrow(WebAssembly.LinkError);
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(bytes), env(new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true })))).toThrow(WebAssembly.LinkError);
  });

  it("has no data segments and no mutable globals either", () => {
    const data = sections(sharedBytes).get(11);
    expect(data ? readLeb(data, 0)[0] : 0).toBe(0);
    const wat = readFileSync(new URL("../build/wasmgrad.shared.wat", import.meta.url), "utf8");
    expect(wat).not.toMatch(/\(global [^\n]*\(mut /);
    expect(wat).not.toMatch(/\(data /);
  });

  it("differs from the plain build only in its memory import: same code, same exports", () => {
    const a = sections(bytes);
    const b = sections(sharedBytes);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [id, payload] of a) {
      if (id === 2) continue; // the import section
      expect(Buffer.from(b.get(id)!).equals(Buffer.from(payload)), `section ${id}`).toBe(true);
    }
    expect(WebAssembly.Module.exports(mod)).toEqual(WebAssembly.Module.exports(new WebAssembly.Module(bytes)));
  });
});
