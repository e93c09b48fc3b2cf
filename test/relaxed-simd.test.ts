// The module's two builds: baseline SIMD, and relaxed SIMD (GEMM's
// multiply-adds are f32x4.relaxed_madd, in 3x12 tiles), which the loader picks
// wherever the engine runs it: in Node 20 and 21 by turning on V8's
// --experimental-wasm-relaxed-simd itself. WASMGRAD_SIMD=baseline forces the
// baseline and leaves V8's flags alone. vitest runs this file in both of its
// projects (vitest.config.ts): "auto" (relaxed) and "baseline"; the GEMM tests
// themselves (gemm, threads, determinism, parity) run on each build there.
// Here: the builds' bytes, the choice of build, in this process and in fresh
// ones.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createWasmBackend, enableRelaxedSimdIfSupported, selectSimdBuild, wasmBytes } from "../src/backend/wasm.ts";
import { readLeb, sections } from "./helpers/wasm-sections.ts";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const CHILD = "test/helpers/relaxed-simd-child.ts";
const NODE_MAJOR = Number(process.versions.node.split(".")[0]);

const baseline = wasmBytes(false, false);
const relaxed = wasmBytes(false, true);
const relaxedShared = wasmBytes(true, true);

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** The function bodies of a module's code section, in order. */
function bodies(bytes: Uint8Array): Uint8Array[] {
  const code = sections(bytes).get(10)!;
  let [count, pos] = readLeb(code, 0);
  const out: Uint8Array[] = [];
  while (count-- > 0) {
    const [size, start] = readLeb(code, pos);
    out.push(code.subarray(start, start + size));
    pos = start + size;
  }
  return out;
}

/** How many of a build's functions are GEMM's (assembly/gemm*.ts), from its text format. */
function gemmFunctions(wat: string): number {
  return readFileSync(new URL(`../build/${wat}`, import.meta.url), "utf8").match(/^ \(func \$assembly\/gemm[-/]/gm)?.length ?? 0;
}

describe("the relaxed-SIMD builds' bytes", () => {
  it("are exactly what asconfig.json's release-relaxed and release-relaxed-shared targets wrote", () => {
    expect(same(relaxed, readFileSync(new URL("../build/wasmgrad.relaxed.wasm", import.meta.url)))).toBe(true);
    expect(same(relaxedShared, readFileSync(new URL("../build/wasmgrad.relaxed.shared.wasm", import.meta.url)))).toBe(true);
  });

  it("have no data segments and no mutable globals, and use relaxed_madd", () => {
    for (const [bytes, wat] of [[relaxed, "wasmgrad.relaxed.wat"], [relaxedShared, "wasmgrad.relaxed.shared.wat"]] as const) {
      const data = sections(bytes).get(11);
      expect(data ? readLeb(data, 0)[0] : 0, wat).toBe(0);
      const text = readFileSync(new URL(`../build/${wat}`, import.meta.url), "utf8");
      expect(text).not.toMatch(/\(global [^\n]*\(mut /);
      expect(text).not.toMatch(/\(data /);
      expect(text).toMatch(/f32x4\.relaxed_madd/);
    }
    const text = readFileSync(new URL("../build/wasmgrad.relaxed.shared.wat", import.meta.url), "utf8");
    expect(text).toContain('(import "env" "memory" (memory $0 1 65536 shared))');
    expect(readFileSync(new URL("../build/wasmgrad.wat", import.meta.url), "utf8")).not.toMatch(/relaxed/);
  });

  it("differ from the baseline only in GEMM's functions (last in the code section) and the sections listing functions", () => {
    const b = sections(baseline);
    const r = sections(relaxed);
    const rs = sections(relaxedShared);
    expect([...r.keys()]).toEqual([...b.keys()]);
    expect([...rs.keys()]).toEqual([...b.keys()]);
    // type (1), function (3), export (7) and code (10) may differ; imports, memory and the rest may not.
    for (const [id, payload] of b) {
      if (![1, 3, 7, 10].includes(id)) expect(same(r.get(id)!, payload), `section ${id}`).toBe(true);
      if (id !== 2) expect(same(rs.get(id)!, r.get(id)!), `section ${id}`).toBe(true);
    }
    expect(same(rs.get(2)!, sections(wasmBytes(true, false)).get(2)!)).toBe(true);
    // Every function before GEMM's is byte for byte the same: the other kernels are shared code.
    const others = bodies(baseline).length - gemmFunctions("wasmgrad.wat");
    expect(others).toBe(bodies(relaxed).length - gemmFunctions("wasmgrad.relaxed.wat"));
    expect(others).toBeGreaterThan(30);
    const [bb, rb] = [bodies(baseline), bodies(relaxed)];
    for (let i = 0; i < others; i++) expect(same(rb[i]!, bb[i]!), `function ${i}`).toBe(true);
  });
});

describe("choosing the build", () => {
  if (process.env.WASMGRAD_SIMD === "baseline") {
    it("WASMGRAD_SIMD=baseline runs the baseline build and leaves V8's flags alone", () => {
      expect(selectSimdBuild()).toBe("baseline");
      expect(createWasmBackend().description).toBe("wasm-simd128");
      // Node 20/21 validate relaxed SIMD only with the flag, which nothing here turned on.
      if (NODE_MAJOR < 22) expect(WebAssembly.validate(relaxed)).toBe(false);
    });
  } else {
    it("picks the relaxed-SIMD build by itself on Node 20+ (turning on V8's flag on 20 and 21)", () => {
      expect(enableRelaxedSimdIfSupported()).toBe(true);
      expect(WebAssembly.validate(relaxed)).toBe(true);
      expect(selectSimdBuild()).toBe("relaxed");
      expect(createWasmBackend().description).toBe("wasm-simd128-relaxed");
      expect(createWasmBackend(new WebAssembly.Memory({ initial: 16, maximum: 65536 })).description).toBe("wasm-simd128-relaxed");
      expect(createWasmBackend(undefined, { simd: "baseline" }).description).toBe("wasm-simd128");
      expect(createWasmBackend(undefined, { simd: "relaxed" }).description).toBe("wasm-simd128-relaxed");
    });
  }

  it("rejects a bad simd option", () => {
    expect(() => createWasmBackend(undefined, { simd: "fast" as "auto" })).toThrow(TypeError);
  });

  it("in a fresh Node with no flags, WASMGRAD_SIMD forces a build (baseline leaves the engine as it was) and rejects a bad value", async () => {
    const chosen = async (value: string) => {
      const { stdout } = await run(process.execPath, ["--import", "tsx", CHILD], {
        cwd: repo, env: { ...process.env, WASMGRAD_SIMD: value },
      });
      return JSON.parse(stdout.trim().split("\n").at(-1)!) as { description: string; relaxedValidates: boolean };
    };
    const [auto, unset, base, rel, bad] = await Promise.all(["auto", "", "baseline", "relaxed", "fma"].map(chosen));
    expect(auto).toMatchObject({ description: "wasm-simd128-relaxed", relaxedValidates: true });
    expect(unset).toMatchObject({ description: "wasm-simd128-relaxed", relaxedValidates: true });
    expect(base!.description).toBe("wasm-simd128");
    if (NODE_MAJOR < 22) expect(base!.relaxedValidates).toBe(false);
    expect(rel).toMatchObject({ description: "wasm-simd128-relaxed", relaxedValidates: true });
    expect(bad!.description).toMatch(/^error: wasmgrad: WASMGRAD_SIMD="fma"/);
  }, 60_000);
});
