// The Wasm backend: the module compiled from assembly/, instantiated over an
// imported memory. Its exports are the kernels, as declared in kernels.ts,
// except f32_gemm, which goes through the backend's thread pool (threads.ts).
//
// The memory is shared (a SharedArrayBuffer underneath) wherever that is
// allowed — always in Node, on cross-origin isolated pages in a browser — and
// then the module is the build that imports a shared memory, so that
// setNumThreads can start workers over the same heap at any time without
// moving a tensor. Elsewhere it is a plain memory and the plain build.
//
// Each comes in two builds of the same sources: baseline SIMD, and relaxed
// SIMD (GEMM's multiply-adds are f32x4.relaxed_madd: one FMA where the CPU has
// it; and 3x12 tiles instead of 4x8), chosen when a backend is created: relaxed
// where WebAssembly.validate accepts it (Chrome 114+, Node 22+, and Node 20/21,
// where enableRelaxedSimdIfSupported turns on --experimental-wasm-relaxed-simd),
// unless WASMGRAD_SIMD=baseline (environment) or createWasmBackend's `simd`
// option says otherwise. Worker threads instantiate the main thread's module,
// so every thread of a backend runs the same build. Within a build, results
// do not depend on tiling or thread count; the two builds differ in the last
// bits of GEMM results.

import { CachingAllocator } from "./allocator.ts";
import { META_SCRATCH_BYTES, type Backend } from "./backend.ts";
import { WasmHeap, PAGE_BYTES } from "./heap.ts";
import { InternalError } from "../errors.ts";
import { bindKernels, KERNELS, splitSteps, SPLIT_KERNELS, type SplitKernel, type SplitSpec } from "./kernel-table.ts";
import type { Kernels } from "./kernels.ts";
import { sharedMemoryUnavailableReason } from "./thread-platform.ts";
import { MAX_SPLIT_ARGS } from "./thread-worker.ts";
import { ThreadPool } from "./threads.ts";
import { wasmBase64, wasmRelaxedSplices, wasmSharedSplices } from "./wasm-binary.generated.ts";

/** Which build of the module: "relaxed" (relaxed SIMD) or "baseline" (SIMD 128 alone). */
export type SimdBuild = "baseline" | "relaxed";
/** "auto": relaxed where the engine validates it, else baseline. */
export type SimdChoice = SimdBuild | "auto";

export interface WasmBackendOptions {
  /** Which build to run (default: WASMGRAD_SIMD from the environment, else "auto"). */
  simd?: SimdChoice;
}

/** Compiled modules by build: [plain, shared] for each. */
const compiled: Record<SimdBuild, [WebAssembly.Module | undefined, WebAssembly.Module | undefined]> = {
  baseline: [undefined, undefined],
  relaxed: [undefined, undefined],
};
let relaxedValid: boolean | undefined;

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

interface Splice {
  start: number;
  end: number;
  insert: string;
}

/** `from` with each range [start, end) replaced by its insert (base64); the ranges are disjoint. */
function applySplices(from: Uint8Array<ArrayBuffer>, splices: readonly Splice[]): Uint8Array<ArrayBuffer> {
  const sorted = [...splices].sort((x, y) => x.start - y.start);
  const inserts = sorted.map((s) => decodeBase64(s.insert));
  const length = sorted.reduce((n, s, i) => n - (s.end - s.start) + inserts[i]!.length, from.length);
  const out = new Uint8Array(length);
  let read = 0;
  let write = 0;
  sorted.forEach((s, i) => {
    out.set(from.subarray(read, s.start), write);
    write += s.start - read;
    out.set(inserts[i]!, write);
    write += inserts[i]!.length;
    read = s.end;
  });
  out.set(from.subarray(read), write);
  return out;
}

/**
 * The module's bytes: the build importing a plain memory, or (shared) the one
 * importing a shared memory; baseline SIMD, or (relaxed) relaxed SIMD.
 */
export function wasmBytes(shared = false, relaxed = false): Uint8Array<ArrayBuffer> {
  // Both sets of splices index the plain build and are disjoint (tools/build-wasm.mjs checks this).
  return applySplices(decodeBase64(wasmBase64), [
    ...(relaxed ? wasmRelaxedSplices : []),
    ...(shared ? wasmSharedSplices : []),
  ]);
}

/**
 * Does this engine run the relaxed-SIMD build? (Validates it.) Node 20 and 21
 * ship relaxed SIMD complete but behind --experimental-wasm-relaxed-simd (on
 * by default from Node 22, as in Chrome since 114): there, this also turns the
 * flag on for the process, once, before anything is compiled with it. The flag only
 * lets modules use the relaxed-SIMD instructions; WASMGRAD_SIMD=baseline never
 * gets here.
 */
export function enableRelaxedSimdIfSupported(): boolean {
  if (relaxedValid !== undefined) return relaxedValid;
  if (typeof WebAssembly !== "object") return (relaxedValid = false);
  const bytes = wasmBytes(false, true);
  relaxedValid = WebAssembly.validate(bytes);
  if (!relaxedValid && enableNodeRelaxedSimdFlag()) relaxedValid = WebAssembly.validate(bytes);
  return relaxedValid;
}

/**
 * Node 20/21: sets V8's --experimental-wasm-relaxed-simd; false where that isn't
 * this runtime, or where it has no process.getBuiltinModule (before 20.16: the
 * baseline build runs there).
 */
function enableNodeRelaxedSimdFlag(): boolean {
  const p = (globalThis as {
    process?: {
      versions?: { node?: string };
      getBuiltinModule?: (id: string) => { setFlagsFromString?: (flags: string) => void } | undefined;
    };
  }).process;
  const major = Number(p?.versions?.node?.split(".")[0]);
  if (major !== 20 && major !== 21) return false;
  const v8 = p?.getBuiltinModule?.("node:v8");
  if (typeof v8?.setFlagsFromString !== "function") return false;
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  return true;
}

/** WASMGRAD_SIMD from the environment (Node), if set. */
function simdFromEnvironment(): SimdChoice | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.WASMGRAD_SIMD;
  if (v === undefined || v === "") return undefined;
  if (v === "baseline" || v === "relaxed" || v === "auto") return v;
  throw new TypeError(`wasmgrad: WASMGRAD_SIMD=${JSON.stringify(v)}: expected "baseline", "relaxed" or "auto"`);
}

/** The build a backend created with `choice` (default: WASMGRAD_SIMD, else "auto") runs. */
export function selectSimdBuild(choice?: SimdChoice): SimdBuild {
  const c = choice ?? simdFromEnvironment() ?? "auto";
  if (c === "baseline") return "baseline";
  if (c === "relaxed") {
    if (!enableRelaxedSimdIfSupported()) {
      throw new RangeError(
        "wasmgrad: the relaxed-SIMD build was asked for, but this engine does not validate it " +
          "(Chrome 114+ and Node 20+ do)",
      );
    }
    return "relaxed";
  }
  if (c !== "auto") throw new TypeError(`wasmgrad: simd: ${JSON.stringify(c)}: expected "baseline", "relaxed" or "auto"`);
  return enableRelaxedSimdIfSupported() ? "relaxed" : "baseline";
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
  const build = selectSimdBuild();
  const shared = isShared(newMemoryProbe());
  const slot = compiled[build];
  const i = shared ? 1 : 0;
  slot[i] ??= await WebAssembly.compile(wasmBytes(shared, build === "relaxed"));
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

function wasmModule(shared: boolean, build: SimdBuild): WebAssembly.Module {
  const slot = compiled[build];
  const i = shared ? 1 : 0;
  const have = slot[i];
  if (have) return have;
  let mod: WebAssembly.Module;
  try {
    mod = new WebAssembly.Module(wasmBytes(shared, build === "relaxed"));
  } catch (e) {
    // Engines refuse large synchronous compiles on a page's main thread with a RangeError too.
    throw new RangeError(
      `wasmgrad: could not compile the WebAssembly module synchronously (${(e as Error).message}). ` +
        "In a browser page, `await ready()` before the first tensor operation.",
      { cause: e },
    );
  }
  slot[i] = mod;
  return mod;
}

/**
 * The split kernels as the backend calls them: over the pool's threads when a
 * call is large enough (ThreadPool.split), else the export itself.
 */
function splitKernels(exports: Kernels, pool: ThreadPool): Pick<Kernels, SplitKernel> {
  const out: Partial<Record<SplitKernel, (...args: number[]) => void>> = {};
  for (const name of SPLIT_KERNELS) {
    const { min, unit } = KERNELS[name].split as SplitSpec;
    const { count: n, step } = splitSteps(name);
    const raw = exports[name] as (...args: number[]) => void;
    if (step.length > MAX_SPLIT_ARGS) throw new InternalError(`${name} has more arguments than a worker's slot carries (${MAX_SPLIT_ARGS})`);
    out[name] = (...args: number[]) => {
      const count = args[n]!;
      // A unit-split kernel's threshold in units: at least one, however large a unit.
      const minUnits = unit ? Math.max(1, Math.ceil(min / Math.max(1, unit(args)))) : min;
      if (!pool.splits(count, minUnits)) return raw(...args);
      pool.split(name, count, minUnits, (s, c) => args.map((v, i) => (i === n ? c : v + step[i]! * s)), unit ? 1 : undefined);
    };
  }
  return out as Pick<Kernels, SplitKernel>;
}

/**
 * A Wasm backend over `memory` (by default a new one, shared where allowed). A
 * shared memory gets the shared-memory build and a thread pool; a plain one
 * runs on one thread whatever setNumThreads says. `options.simd` picks the
 * build (see the top of this file); its workers instantiate the same module.
 */
export function createWasmBackend(memory?: WebAssembly.Memory, options: WasmBackendOptions = {}): Backend {
  const build = selectSimdBuild(options.simd);
  const mem = memory ?? newMemory();
  const shared = isShared(mem);
  const module = wasmModule(shared, build);
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory: mem,
      abort() {
        throw new InternalError("a Wasm kernel aborted");
      },
    },
  });
  const heap = new WasmHeap(mem);
  const allocator = new CachingAllocator(heap);
  const exports = bindKernels(instance.exports);
  const workspaceBytes = exports.f32_gemm_workspace_size();
  const pool = new ThreadPool(
    module, mem, heap, allocator, exports.f32_gemm, workspaceBytes, exports.f32_gemm_strip_width(),
    exports as unknown as ConstructorParameters<typeof ThreadPool>[7],
  );
  const kernels: Kernels = {
    ...exports,
    f32_gemm: (layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work, epilogue = 0) =>
      pool.gemm(layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work, epilogue),
    ...splitKernels(exports, pool),
  };
  const backend: Backend = {
    name: "wasm",
    heap,
    allocator,
    kernels,
    gemmWorkspace: allocator.alloc(workspaceBytes),
    metaScratch: allocator.alloc(META_SCRATCH_BYTES),
    description: build === "relaxed" ? "wasm-simd128-relaxed" : "wasm-simd128",
  };
  ThreadPool.register(pool, backend);
  return backend;
}

export { PAGE_BYTES };
