// Where worker threads can run: Node's worker_threads, a browser's Web Workers,
// or nowhere (and why not). Found out once per process; the answer is shared by
// every thread pool, as are the warnings already given.

export interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: "error" | "exit", listener: (arg: unknown) => void): void;
}
type NodeWorkerCtor = new (code: string, options: Record<string, unknown>) => NodeWorker;

export type Platform =
  | { kind: "node"; Worker: NodeWorkerCtor }
  | { kind: "browser" }
  | { kind: "none"; reason: string };

/**
 * The process-wide state of thread support, mutable and shared by every pool:
 * `found` once detection has an answer, `loading` while Node < 20.16 imports
 * worker_threads asynchronously, `warned` the reasons already printed.
 */
export const platformState: { found?: Platform; loading?: Promise<void>; readonly warned: Set<string> } = {
  warned: new Set<string>(),
};

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === "string";
}

/** Can this thread block in Atomics.wait? (Not a browser page's main thread.) */
function canBlock(): boolean {
  try {
    // Returns "not-equal" at once where waiting is allowed; throws a TypeError where it is not.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Can a WebAssembly.Memory be shared here? (Node: always; a browser: only cross-origin isolated.) */
export function sharedMemoryUnavailableReason(): string | null {
  if (typeof SharedArrayBuffer !== "function") {
    if (isNode()) return "SharedArrayBuffer is not available in this JavaScript environment";
    return (
      "this page is not cross-origin isolated, so SharedArrayBuffer is unavailable: the server must send " +
      "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp"
    );
  }
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return (
      "this page is not cross-origin isolated: the server must send " +
      "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp"
    );
  }
  return null;
}

/**
 * Where threads run here. On Node < 20.16 (no process.getBuiltinModule) the
 * first call starts importing worker_threads and answers "none" with no reason
 * (no warning) until it has loaded; then `onLoaded` runs (the pools start their
 * workers).
 */
export function detectPlatform(onLoaded: () => void): Platform {
  const state = platformState;
  if (state.found) return state.found;
  const noShared = sharedMemoryUnavailableReason();
  if (noShared) return (state.found = { kind: "none", reason: noShared });
  if (isNode()) {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const wt = p?.getBuiltinModule?.("node:worker_threads") as { Worker?: NodeWorkerCtor } | undefined;
    if (wt?.Worker) return (state.found = { kind: "node", Worker: wt.Worker });
    state.loading ??= (async () => {
      const specifier = "node:worker_threads";
      const wt = (await import(/* @vite-ignore */ specifier)) as { Worker: NodeWorkerCtor };
      state.found = { kind: "node", Worker: wt.Worker };
      onLoaded();
    })().catch((e: unknown) => {
      state.found = { kind: "none", reason: `node:worker_threads could not be loaded (${(e as Error).message})` };
    });
    return { kind: "none", reason: "" }; // pending: not cached, no warning
  }
  if (!canBlock()) {
    return (state.found = {
      kind: "none",
      reason:
        "Atomics.wait is not allowed on a browser page's main thread: run wasmgrad in a Web Worker " +
        "(on a cross-origin isolated page) to use threads",
    });
  }
  if (typeof Worker !== "function") {
    return (state.found = { kind: "none", reason: "this environment has no Worker to run threads in" });
  }
  return (state.found = { kind: "browser" });
}

/** Can the calling thread wait for a worker here (a platform with workers has been found)? */
export function canWaitForWorkers(): boolean {
  const kind = platformState.found?.kind;
  return kind === "node" || kind === "browser";
}

/** The outcome a warning states when some workers started and others did not. */
export const SOME_THREADS_FAILED = "wasmgrad runs on the threads that did start";

/** Warns once per reason that setNumThreads(requested) cannot have all its threads, and what happens instead. */
export function warnOnce(requested: number, reason: string, outcome = "wasmgrad runs on 1 thread"): void {
  if (!reason || platformState.warned.has(reason)) return;
  platformState.warned.add(reason);
  console.warn(`wasmgrad: setNumThreads(${requested}): ${reason}; ${outcome}.`);
}
