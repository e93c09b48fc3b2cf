// The backend registry: which backend new tensors live on.

import type { Backend, BackendName } from "./backend.ts";
import { createJsBackend } from "./js.ts";
import { threadsStarted } from "./threads.ts";
import { compileWasm, createWasmBackend } from "./wasm.ts";

const backends = new Map<BackendName, Backend>();
let currentName: BackendName = "wasm";

function create(name: BackendName): Backend {
  let be = backends.get(name);
  if (!be) {
    be = name === "wasm" ? createWasmBackend() : createJsBackend();
    backends.set(name, be);
  }
  return be;
}

/** The backend new tensors are created on (created on first use). */
export function getBackend(): Backend {
  return create(currentName);
}

/** Switches the backend for tensors created from now on: "wasm" (default) or "js". */
export function setBackend(name: BackendName): void {
  if (name !== "wasm" && name !== "js") {
    throw new TypeError(`wasmgrad: unknown backend ${JSON.stringify(name)}: expected "wasm" or "js"`);
  }
  currentName = name;
}

/**
 * Resolves when the current backend is ready: needed before first use only on a
 * browser's main thread. It also waits for worker threads that setNumThreads is
 * still starting (they start in the background in a browser).
 */
export async function ready(): Promise<void> {
  if (currentName === "wasm") await compileWasm();
  create(currentName);
  await threadsStarted();
}

export { setNumThreads, setNumThreadsAsync, getNumThreads } from "./threads.ts";

export type { Backend, BackendName };
