// The Wasm backend: the module compiled from assembly/, instantiated over an
// imported memory. Its exports are the kernels, as declared in kernels.ts,
// except f32_gemm, which goes through the backend's thread pool (threads.ts).
//
// The memory is shared (a SharedArrayBuffer underneath) wherever that is
// allowed — always in Node, on cross-origin isolated pages in a browser — and
// then the module is the build that imports a shared memory, so that
// setNumThreads can start workers over the same heap at any time without
// moving a tensor. Elsewhere it is a plain memory and the plain build.

import { CachingAllocator } from "./allocator.ts";
import { META_SCRATCH_BYTES, type Backend } from "./backend.ts";
import { WasmHeap, PAGE_BYTES } from "./heap.ts";
import type { Kernels } from "./kernels.ts";
import { sharedMemoryUnavailableReason, ThreadPool } from "./threads.ts";
import { wasmBase64, wasmSharedSplice } from "./wasm-binary.generated.ts";

let compiled: WebAssembly.Module | undefined;
let compiledShared: WebAssembly.Module | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) {
    const b = g.Buffer.from(text, "base64");
    return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The module's bytes: the build importing a plain memory, or (shared) the one importing a shared memory. */
export function wasmBytes(shared = false): Uint8Array<ArrayBuffer> {
  const plain = decodeBase64(wasmBase64);
  if (!shared) return plain;
  const { start, end, insert } = wasmSharedSplice;
  const ins = decodeBase64(insert);
  const out = new Uint8Array(plain.length - (end - start) + ins.length);
  out.set(plain.subarray(0, start), 0);
  out.set(ins, start);
  out.set(plain.subarray(end), start + ins.length);
  return out;
}

/** Does this engine run WebAssembly with 128-bit SIMD? (Validates the module itself.) */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(wasmBytes());
}

/** Makes the memory a new backend gets: shared where this environment allows it. */
function newMemory(): WebAssembly.Memory {
  if (sharedMemoryUnavailableReason() === null) {
    try {
      return new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
    } catch {
      // An engine without threads: a plain memory below.
    }
  }
  return new WebAssembly.Memory({ initial: 16, maximum: 65536 });
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer === "function" && memory.buffer instanceof SharedArrayBuffer;
}

/** Compiles the module off the main thread where the engine can: call before first use in a browser page. */
export async function compileWasm(): Promise<void> {
  if (isShared(newMemoryProbe())) compiledShared ??= await WebAssembly.compile(wasmBytes(true));
  else compiled ??= await WebAssembly.compile(wasmBytes());
}

/** Which kind of memory newMemory() would make, without keeping 1 MiB of it. */
function newMemoryProbe(): WebAssembly.Memory {
  if (sharedMemoryUnavailableReason() === null) {
    try {
      return new WebAssembly.Memory({ initial: 0, maximum: 1, shared: true });
    } catch {
      // plain
    }
  }
  return new WebAssembly.Memory({ initial: 0 });
}

function wasmModule(shared: boolean): WebAssembly.Module {
  const have = shared ? compiledShared : compiled;
  if (have) return have;
  let mod: WebAssembly.Module;
  try {
    mod = new WebAssembly.Module(wasmBytes(shared));
  } catch (e) {
    throw new Error(
      `wasmgrad: could not compile the WebAssembly module synchronously (${(e as Error).message}). ` +
        "In a browser page, `await ready()` before the first tensor operation.",
    );
  }
  if (shared) compiledShared = mod;
  else compiled = mod;
  return mod;
}

/**
 * A Wasm backend over `memory` (by default a new one, shared where allowed). A
 * shared memory gets the shared-memory build and a thread pool; a plain one
 * runs on one thread whatever setNumThreads says.
 */
export function createWasmBackend(memory?: WebAssembly.Memory): Backend {
  const mem = memory ?? newMemory();
  const shared = isShared(mem);
  const module = wasmModule(shared);
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory: mem,
      abort() {
        throw new Error("wasmgrad: a Wasm kernel aborted (this is a bug in wasmgrad: please report it)");
      },
    },
  });
  const heap = new WasmHeap(mem);
  const allocator = new CachingAllocator(heap);
  const exports = instance.exports as unknown as Kernels;
  const workspaceBytes = exports.f32_gemm_workspace_size();
  const pool = new ThreadPool(module, mem, heap, allocator, exports.f32_gemm, workspaceBytes);
  const kernels: Kernels = {
    ...exports,
    f32_gemm: (layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work) =>
      pool.gemm(layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work),
  };
  const backend: Backend = {
    name: "wasm",
    heap,
    allocator,
    kernels,
    gemmWorkspace: allocator.alloc(workspaceBytes),
    metaScratch: allocator.alloc(META_SCRATCH_BYTES),
    description: "wasm-simd128",
  };
  ThreadPool.register(pool, backend);
  return backend;
}

export { PAGE_BYTES };
