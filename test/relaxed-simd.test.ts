// The relaxed-SIMD build (GEMM's multiply-adds are f32x4.relaxed_madd), which
// the loader prefers wherever WebAssembly.validate accepts it. Node 20 runs
// relaxed SIMD only with --experimental-wasm-relaxed-simd, which vitest runs
// without (there the baseline build is chosen, and every other test file
// checks that one): so the build is run here in child processes with the flag
// (test/helpers/relaxed-simd-child.ts): chosen by default, the baseline on
// request; GEMM against the float64 definition on all three layouts and odd
// shapes; bitwise the same on 1 and 2 threads. Its bytes are checked here as
// test/module.test.ts checks the baseline's: no data segments, no mutable
// globals, the same imports and exports.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { createWasmBackend, relaxedSimdSupported, selectSimdBuild, wasmBytes } from "../src/backend/wasm.ts";
import { readLeb, sections } from "./helpers/wasm-sections.ts";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const CHILD = "test/helpers/relaxed-simd-child.ts";
const FLAGS = ["--experimental-wasm-relaxed-simd", "--import", "tsx"];

const baseline = wasmBytes(false, false);
const relaxed = wasmBytes(false, true);
const relaxedShared = wasmBytes(true, true);

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

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

  it("differ from the baseline only in the code section, and from each other only in the memory import", () => {
    const b = sections(baseline);
    const r = sections(relaxed);
    const rs = sections(relaxedShared);
    expect([...r.keys()]).toEqual([...b.keys()]);
    expect([...rs.keys()]).toEqual([...b.keys()]);
    for (const [id, payload] of b) {
      if (id !== 10) expect(same(r.get(id)!, payload), `section ${id}`).toBe(true);
      if (id !== 2) expect(same(rs.get(id)!, r.get(id)!), `section ${id}`).toBe(true);
    }
    expect(same(rs.get(2)!, sections(wasmBytes(true, false)).get(2)!)).toBe(true);
  });
});

describe("without relaxed SIMD (this Node without the flag)", () => {
  it("does not validate it, and runs the baseline build", () => {
    expect(relaxedSimdSupported()).toBe(WebAssembly.validate(relaxed));
    if (relaxedSimdSupported()) return; // Node 22+: checked in the child processes below
    expect(selectSimdBuild()).toBe("baseline");
    expect(createWasmBackend().description).toBe("wasm-simd128");
    expect(() => createWasmBackend(undefined, { simd: "relaxed" })).toThrow(/relaxed-SIMD build was asked for/);
  });

  it("rejects a bad simd option", () => {
    expect(() => createWasmBackend(undefined, { simd: "fast" as "auto" })).toThrow(TypeError);
  });
});

describe("with --experimental-wasm-relaxed-simd (child processes)", () => {
  let result: { checks: Record<string, string | null>; info: Record<string, unknown> };

  beforeAll(async () => {
    const { stdout } = await run(process.execPath, [...FLAGS, CHILD], {
      cwd: repo, env: { ...process.env, WASMGRAD_SIMD: "" }, maxBuffer: 16 << 20,
    });
    result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    console.log(`relaxed-SIMD child: ${JSON.stringify(result.info)}`);
  }, 120_000);

  for (const name of [
    "the relaxed build is selected by default, the baseline on request",
    "GEMM matches the float64 definition on all three layouts and odd shapes (shared and plain memory)",
    "GEMM is bitwise identical on 1 and 2 threads (workers run the same build)",
  ]) {
    it(name, () => {
      expect(result.checks, "the child ran this check").toHaveProperty([name]);
      expect(result.checks[name]).toBeNull();
    });
  }

  it("WASMGRAD_SIMD forces a build, and rejects a bad value", async () => {
    const chosen = async (value: string) => {
      const { stdout } = await run(process.execPath, [...FLAGS, CHILD], { cwd: repo, env: { ...process.env, WASMGRAD_SIMD: value } });
      return JSON.parse(stdout.trim().split("\n").at(-1)!).description as string;
    };
    expect(await chosen("baseline")).toBe("wasm-simd128");
    expect(await chosen("relaxed")).toBe("wasm-simd128-relaxed");
    expect(await chosen("auto")).toBe("wasm-simd128-relaxed");
    expect(await chosen("fma")).toMatch(/^error: wasmgrad: WASMGRAD_SIMD="fma"/);
  }, 60_000);
});
