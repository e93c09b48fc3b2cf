// What a worker thread runs, and the control slot it shares with the pool
// (threads.ts) in the Wasm heap.
//
// The control block: one 384-byte slot per worker in the shared heap (followed
// by that worker's own packing workspace, f32_gemm_workspace_size() bytes),
// allocated 64-byte aligned by the calling thread. Its i32 fields lie on three
// kinds of cache line, so that a thread spinning on one flag never has its
// line taken away by the other thread's writes to the job:
//   line 0 (the caller writes, the worker spins on it)
//     0 SEQ      job number: the caller writes the job, then Atomics.store + notify
//   line 1 (the worker writes, the caller spins on it)
//     16 DONE    the last job finished (the worker stores + notifies); −2 while
//                starting, 0 once ready, −1 if it could not start
//     17 STATUS  0 = ok, 1 = the kernel threw
//     18 STARTED the job the worker is running (or last ran)
//   lines 2-5 (the job: the caller writes, the worker reads once)
//     32 CMD     0 = gemm, 1 = exit, 2 = call a split kernel
//     33..46     gemm: f32_gemm's 14 arguments (alpha and beta as f32 bits)
//     33, 34     call: the kernel's index in SPLIT_KERNELS, its argument count;
//                the arguments follow as f64 from byte 144
// A worker spins a while on SEQ after each job (threadSpin in threads.ts),
// then sleeps in Atomics.wait; the caller spins on DONE only while the worker
// is running its job (STARTED), else sleeps at once. Nothing goes through
// postMessage once a worker runs, so a Node caller can start workers and run
// GEMMs synchronously.

import { SPLIT_KERNELS } from "./kernel-table.ts";
import { SOME_THREADS_FAILED, type Platform } from "./thread-platform.ts";

export const SLOT_BYTES = 384;
export const SEQ = 0;
export const DONE = 16;
export const STATUS = 17;
export const STARTED = 18;
export const CMD = 32;
export const ARGS = 33;
/** A split kernel's call: its index in SPLIT_KERNELS at ARGS, the argument count after it, the arguments as f64 from this f64 index on. */
export const CALL_ARGS_F64 = 18;
/** The most arguments a split kernel's call can carry to a worker (the rest of its slot). */
export const MAX_SPLIT_ARGS = SLOT_BYTES / 8 - CALL_ARGS_F64;
export const CMD_GEMM = 0;
export const CMD_EXIT = 1;
export const CMD_CALL = 2;
export const DONE_STARTING = -2;
export const DONE_FAILED = -1;

/**
 * The worker: plain JS, no imports, so it runs as `eval` code in Node and from a
 * Blob URL in a browser, under any bundler, with no file to locate.
 */
export const WORKER_SOURCE = `"use strict";
function serve(d, ready) {
  var i32 = new Int32Array(d.memory.buffer, d.slot, ${SLOT_BYTES / 4});
  var f32 = new Float32Array(d.memory.buffer, d.slot, ${SLOT_BYTES / 4});
  var f64 = new Float64Array(d.memory.buffer, d.slot, ${SLOT_BYTES / 8});
  var names = ${JSON.stringify(SPLIT_KERNELS)};
  var exports, gemm;
  try {
    exports = new WebAssembly.Instance(d.module, { env: { memory: d.memory, abort: function () { throw new WebAssembly.RuntimeError("wasmgrad: a Wasm kernel aborted"); } } }).exports;
    gemm = exports.f32_gemm;
  } catch (e) {
    Atomics.store(i32, ${DONE}, ${DONE_FAILED});
    Atomics.notify(i32, ${DONE});
    ready(String(e && e.message || e));
    return;
  }
  Atomics.store(i32, ${DONE}, 0);
  Atomics.notify(i32, ${DONE});
  ready(null);
  var seen = 0;
  var spinMs = (d.spinMicros || 0) / 1000;
  for (;;) {
    if (spinMs > 0) {
      var until = performance.now() + spinMs;
      while (Atomics.load(i32, ${SEQ}) === seen && performance.now() < until);
    }
    Atomics.wait(i32, ${SEQ}, seen);
    var seq = Atomics.load(i32, ${SEQ});
    if (seq === seen) continue;
    seen = seq;
    if (i32[${CMD}] === ${CMD_EXIT}) {
      Atomics.store(i32, ${DONE}, seq);
      Atomics.notify(i32, ${DONE});
      return;
    }
    var status = 0;
    Atomics.store(i32, ${STARTED}, seq);
    try {
      if (i32[${CMD}] === ${CMD_CALL}) {
        exports[names[i32[${ARGS}]]].apply(null, f64.subarray(${CALL_ARGS_F64}, ${CALL_ARGS_F64} + i32[${ARGS + 1}]));
      } else gemm(i32[${ARGS}], i32[${ARGS + 1}], i32[${ARGS + 2}], i32[${ARGS + 3}], f32[${ARGS + 4}], i32[${ARGS + 5}], i32[${ARGS + 6}],
        i32[${ARGS + 7}], i32[${ARGS + 8}], f32[${ARGS + 9}], i32[${ARGS + 10}], i32[${ARGS + 11}], i32[${ARGS + 12}], i32[${ARGS + 13}]);
    } catch (e) {
      status = 1;
    }
    i32[${STATUS}] = status;
    Atomics.store(i32, ${DONE}, seq);
    Atomics.notify(i32, ${DONE});
  }
}
if (typeof require === "function") {
  serve(require("node:worker_threads").workerData, function () {});
} else {
  self.onmessage = function (e) {
    self.onmessage = null;
    serve(e.data, function (error) { self.postMessage({ ready: error === null, error: error }); });
  };
}
`;

/** How long a synchronous start waits for a worker to signal ready. */
const START_TIMEOUT_MS = 30_000;

export interface WorkerThread {
  /** Byte offset of its control slot; its workspace follows. */
  slot: number;
  seq: number;
  /** Ready to take jobs (it signalled DONE = 0). */
  ready: boolean;
  failed: boolean;
  terminate(): void;
  /** Resolves once it is ready or has failed. */
  started: Promise<void>;
}

/**
 * Starts a worker serving the control slot at byte `start.slot` of `i32`'s
 * memory. Node: returns once it is ready (or null, warned, if it could not
 * start). Browser: returns at once; `started` resolves once it is ready or has
 * failed. `freeSlot` is called when the slot can be reused: never for a worker
 * that may still write it.
 */
export function startWorker(
  p: Exclude<Platform, { kind: "none" }>,
  start: { module: WebAssembly.Module; memory: WebAssembly.Memory; slot: number; spinMicros: number },
  i32: Int32Array,
  warn: (reason: string, outcome: string) => void,
  freeSlot: () => void,
): WorkerThread | null {
  const { slot } = start;
  const base = slot >>> 2;
  i32.fill(0, base, base + SLOT_BYTES / 4);
  i32[base + DONE] = DONE_STARTING;
  const thread: WorkerThread = { slot, seq: 0, ready: false, failed: false, terminate: () => {}, started: Promise.resolve() };
  try {
    if (p.kind === "node") {
      const w = new p.Worker(WORKER_SOURCE, { eval: true, workerData: start, execArgv: [], name: "wasmgrad-gemm" });
      w.on("error", () => { thread.failed = true; thread.ready = false; });
      w.unref();
      thread.terminate = () => void w.terminate();
      // Node starts the worker without this thread's event loop: wait here until it is ready.
      const r = Atomics.wait(i32, base + DONE, DONE_STARTING, START_TIMEOUT_MS);
      const done = Atomics.load(i32, base + DONE);
      if (done !== 0) {
        thread.terminate();
        if (done === DONE_STARTING) warn(`a worker thread did not start within ${START_TIMEOUT_MS / 1000} s (${r})`, SOME_THREADS_FAILED);
        else {
          warn("a worker thread could not instantiate the WebAssembly module", SOME_THREADS_FAILED);
          freeSlot();
        }
        return null; // a slot a late worker may still write is not given back
      }
      thread.ready = true;
    } else {
      const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      let w: Worker;
      try {
        w = new Worker(url, { name: "wasmgrad-gemm" });
      } catch (e) {
        URL.revokeObjectURL(url);
        throw e;
      }
      thread.terminate = () => w.terminate();
      thread.started = new Promise<void>((resolve) => {
        // The blob: URL is revoked once the worker has loaded it (or failed to).
        w.onmessage = (e: MessageEvent<{ ready: boolean; error: string | null }>) => {
          URL.revokeObjectURL(url);
          if (e.data.ready) thread.ready = true;
          else {
            thread.failed = true;
            warn(`a worker thread could not instantiate the WebAssembly module (${e.data.error})`, SOME_THREADS_FAILED);
          }
          resolve();
        };
        w.onerror = (e: ErrorEvent) => {
          URL.revokeObjectURL(url);
          e.preventDefault();
          thread.failed = true;
          thread.ready = false;
          warn(`a worker thread failed to start (${e.message || "a Worker from a blob: URL may be blocked by the page's Content-Security-Policy"})`, SOME_THREADS_FAILED);
          resolve();
        };
      });
      w.postMessage(start);
    }
  } catch (e) {
    warn(`could not start a worker thread (${(e as Error).message})`, SOME_THREADS_FAILED);
    freeSlot();
    return null;
  }
  return thread;
}
