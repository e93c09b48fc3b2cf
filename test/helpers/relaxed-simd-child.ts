// Run by test/relaxed-simd.test.ts in a fresh Node process started with no V8
// flags: prints one JSON line saying which build the library picked by itself
// (WASMGRAD_SIMD as the parent sets it) and whether this process's engine
// validates the relaxed-SIMD build afterwards (on Node 20/21, whether the
// library turned on --experimental-wasm-relaxed-simd).

import { createWasmBackend, wasmBytes } from "../../src/backend/wasm.ts";

let description: string;
try {
  description = createWasmBackend().description;
} catch (e) {
  description = `error: ${(e as Error).message}`;
}
const relaxedValidates = WebAssembly.validate(wasmBytes(false, true));
console.log(JSON.stringify({ description, relaxedValidates, node: process.versions.node }));
