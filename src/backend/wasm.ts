// The Wasm backend: the module compiled from assembly/, instantiated over an
// imported memory. Its exports are the kernels, as declared in kernels.ts.

import { CachingAllocator } from "./allocator.ts";
import { META_SCRATCH_BYTES, type Backend } from "./backend.ts";
import { WasmHeap, PAGE_BYTES } from "./heap.ts";
import type { Kernels } from "./kernels.ts";
import { wasmBase64 } from "./wasm-binary.generated.ts";

let compiled: WebAssembly.Module | undefined;

function wasmBytes(): Uint8Array<ArrayBuffer> {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) {
    const b = g.Buffer.from(wasmBase64, "base64");
    return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }
  const bin = atob(wasmBase64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Does this engine run WebAssembly with 128-bit SIMD? (Validates the module itself.) */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(wasmBytes());
}

/** Compiles the module off the main thread where the engine can: call before first use in a browser page. */
export async function compileWasm(): Promise<void> {
  compiled ??= await WebAssembly.compile(wasmBytes());
}

function wasmModule(): WebAssembly.Module {
  if (!compiled) {
    try {
      compiled = new WebAssembly.Module(wasmBytes());
    } catch (e) {
      throw new Error(
        `wasmgrad: could not compile the WebAssembly module synchronously (${(e as Error).message}). ` +
          "In a browser page, `await ready()` before the first tensor operation.",
      );
    }
  }
  return compiled;
}

export function createWasmBackend(memory?: WebAssembly.Memory): Backend {
  const mem = memory ?? new WebAssembly.Memory({ initial: 16, maximum: 65536 });
  const instance = new WebAssembly.Instance(wasmModule(), {
    env: {
      memory: mem,
      abort() {
        throw new Error("wasmgrad: a Wasm kernel aborted (this is a bug in wasmgrad: please report it)");
      },
    },
  });
  const heap = new WasmHeap(mem);
  const allocator = new CachingAllocator(heap);
  const kernels = instance.exports as unknown as Kernels;
  return {
    name: "wasm",
    heap,
    allocator,
    kernels,
    gemmWorkspace: allocator.alloc(kernels.f32_gemm_workspace_size()),
    metaScratch: allocator.alloc(META_SCRATCH_BYTES),
    description: "wasm-simd128",
  };
}

export { PAGE_BYTES };
