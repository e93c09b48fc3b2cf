// Threads: f32_gemm, and large calls of the elementwise kernels in
// SPLIT_KERNELS, on n threads that instantiate the same Wasm module over one
// shared memory (worker_threads in Node, Web Workers in a browser).
//
// A thread pool belongs to one Wasm backend (one memory). The thread count is
// global: setNumThreads(n) resizes every live pool, and a backend created
// later starts its pool at the count then in force.
//
// Work. A GEMM of at least MIN_THREADED_WORK multiply-adds (m·n·k) is cut into
// one tile of C per thread: by columns in multiples of 8 (the baseline
// microkernel's NR) or by rows in multiples of 4 (its MR), whichever gives the
// smaller largest tile (columns on a tie: each tile then packs only its own
// columns of B). The relaxed-SIMD build's 3x12 tiles then meet an edge inside a
// thread's tile now and then: a few percent of that tile, never a change in
// the result. Each tile is one f32_gemm call with offset pointers and the caller's
// lda/ldb/ldc, and the kernel's contract (assembly/gemm.ts) makes every C
// element independent of the tiling, so results are bitwise the same for any
// thread count, including 1. The calling thread computes tile 0 itself.
//
// An elementwise call (ThreadPool.split) is cut into contiguous ranges of
// elements starting at multiples of SPLIT_ALIGN, one per thread; see there.
//
// The control block: one 256-byte slot per worker in the shared heap (followed
// by that worker's own packing workspace, f32_gemm_workspace_size() bytes),
// allocated by the calling thread, i32 fields:
//   0 SEQ     job number: the caller writes the job, then Atomics.store + notify
//   1 DONE    the last job finished (the worker stores + notifies); −2 while
//             starting, 0 once ready, −1 if it could not start
//   2 CMD     0 = gemm, 1 = exit, 2 = call a split kernel
//   3 STATUS  0 = ok, 1 = the kernel threw
//   4..17     gemm: f32_gemm's 14 arguments (alpha and beta as f32 bits)
//   4, 5      call: the kernel's index in SPLIT_KERNELS, its argument count;
//             the arguments follow as f64 from byte 24
// Workers sleep in Atomics.wait on SEQ; the caller sleeps in Atomics.wait on
// each DONE. Nothing goes through postMessage once a worker runs, so a Node
// caller can start workers and run GEMMs synchronously.

import type { CachingAllocator } from "./allocator.ts";
import type { Heap } from "./heap.ts";
import { GemmLayout, SPLIT_KERNELS, type GemmKernels, type SplitKernel } from "./kernels.ts";

/**
 * Each thread gets at least this many multiply-adds (m·n·k) of a threaded GEMM,
 * so fewer threads join a small one. Handing a tile to a sleeping worker and
 * waiting for it costs a futex wake and a round trip, ~17 µs measured on a 2-vCPU
 * Xeon VM; a 2^18 tile takes ~15-25 µs at 10-20 GFLOP/s, so below two such
 * tiles a split cannot pay.
 */
export const MIN_WORK_PER_THREAD = 1 << 18;
/** Below this many multiply-adds (m·n·k) a GEMM runs on the calling thread alone: two minimal tiles. */
export const MIN_THREADED_WORK = 2 * MIN_WORK_PER_THREAD;
/** Largest thread count setNumThreads accepts. */
export const MAX_THREADS = 256;

// The kernels threads split, and how, are declared once in the kernel table (kernels.ts).
export { SPLIT_KERNELS, type SplitKernel };
/**
 * Split ranges start at multiples of this many elements: the Wasm kernels work
 * in chunks of 1024 (and vectors of 4 or 16 within them), so every range is
 * chunked exactly as the one-thread call chunks those elements, its scalar
 * tail included, and the results are bitwise the same for every thread count.
 */
export const SPLIT_ALIGN = 1024;

const SLOT_BYTES = 256;
const SEQ = 0;
const DONE = 1;
const CMD = 2;
const STATUS = 3;
const ARGS = 4;
/** A split kernel's call: its index in SPLIT_KERNELS at ARGS, the argument count after it, the arguments as f64 from this f64 index on. */
const CALL_ARGS_F64 = 3;
/** The most arguments a split kernel's call can carry to a worker (the rest of its slot). */
export const MAX_SPLIT_ARGS = SLOT_BYTES / 8 - CALL_ARGS_F64;
const CMD_GEMM = 0;
const CMD_EXIT = 1;
const CMD_CALL = 2;
const DONE_STARTING = -2;
const DONE_FAILED = -1;
/** How long a synchronous start waits for a worker to signal ready. */
const START_TIMEOUT_MS = 30_000;
/** A worker that has not finished its tile this long after the caller finished its own is presumed lost. */
const JOB_TIMEOUT_MS = 60_000;

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
    exports = new WebAssembly.Instance(d.module, { env: { memory: d.memory, abort: function () { throw new Error("wasmgrad: a Wasm kernel aborted"); } } }).exports;
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
  for (;;) {
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

// ---- where threads can run ------------------------------------------------------

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: "error" | "exit", listener: (arg: unknown) => void): void;
}
type NodeWorkerCtor = new (code: string, options: Record<string, unknown>) => NodeWorker;

type Platform =
  | { kind: "node"; Worker: NodeWorkerCtor }
  | { kind: "browser" }
  | { kind: "none"; reason: string };

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

let platformCache: Platform | undefined;
let nodeImport: Promise<void> | undefined;

function platform(): Platform {
  if (platformCache) return platformCache;
  const noShared = sharedMemoryUnavailableReason();
  if (noShared) return (platformCache = { kind: "none", reason: noShared });
  if (isNode()) {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const wt = p?.getBuiltinModule?.("node:worker_threads") as { Worker?: NodeWorkerCtor } | undefined;
    if (wt?.Worker) return (platformCache = { kind: "node", Worker: wt.Worker });
    // Node < 20.16 has no process.getBuiltinModule: load worker_threads asynchronously
    // (setNumThreadsAsync and ready() wait for it; until then GEMMs run on one thread).
    nodeImport ??= (async () => {
      const specifier = "node:worker_threads";
      const wt = (await import(/* @vite-ignore */ specifier)) as { Worker: NodeWorkerCtor };
      platformCache = { kind: "node", Worker: wt.Worker };
      for (const pool of pools) pool.sync();
    })().catch((e: unknown) => {
      platformCache = { kind: "none", reason: `node:worker_threads could not be loaded (${(e as Error).message})` };
    });
    return { kind: "none", reason: "" }; // pending: not cached, no warning
  }
  if (!canBlock()) {
    return (platformCache = {
      kind: "none",
      reason:
        "Atomics.wait is not allowed on a browser page's main thread: run wasmgrad in a Web Worker " +
        "(on a cross-origin isolated page) to use threads",
    });
  }
  if (typeof Worker !== "function") {
    return (platformCache = { kind: "none", reason: "this environment has no Worker to run threads in" });
  }
  return (platformCache = { kind: "browser" });
}

const warned = new Set<string>();
function warnOnce(reason: string, outcome = "wasmgrad runs on 1 thread"): void {
  if (!reason || warned.has(reason)) return;
  warned.add(reason);
  console.warn(`wasmgrad: setNumThreads(${requested}): ${reason}; ${outcome}.`);
}
const FEWER = "wasmgrad runs on the threads that did start";

// ---- the pools --------------------------------------------------------------------

let requested = 1;
/** Tiles handed to workers so far (for tests and benchmarks: proof that threads ran). */
let tilesPosted = 0;
const pools = new Set<ThreadPool>();
const finalizer =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<ThreadPool>((pool) => pool.dispose())
    : undefined;

interface Thread {
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

type RawGemm = GemmKernels["f32_gemm"];
/** The module's exports, as the pool calls them on the calling thread. */
type RawKernels = Record<SplitKernel, (...args: number[]) => unknown>;

/**
 * The workers of one Wasm backend (one shared memory).
 * @internal Not part of the API; kept out of the published declarations, which would otherwise name WebAssembly types that a Node project without the DOM library cannot resolve.
 */
export class ThreadPool {
  private readonly threads: Thread[] = [];
  private readonly slotBytes: number;
  /** The request the pool last synced to: a GEMM re-syncs only when it changed (no retry storm after a failed start). */
  private settled = 1;
  /** Why this pool cannot run threads (memory not shared), or null. */
  private readonly unavailable: string | null;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly heap: Heap,
    private readonly allocator: CachingAllocator,
    private readonly raw: RawGemm,
    workspaceBytes: number,
    /** Columns of the kernel's B strips (f32_gemm_strip_width): column splits fall on strip edges. */
    private readonly stripWidth = 8,
    /** The split kernels (SPLIT_KERNELS) of the calling thread's instance. */
    private readonly kernels?: RawKernels,
  ) {
    this.slotBytes = SLOT_BYTES + workspaceBytes;
    const sab = typeof SharedArrayBuffer === "function" && memory.buffer instanceof SharedArrayBuffer;
    this.unavailable = sab
      ? null
      : sharedMemoryUnavailableReason() ?? "this Wasm backend's memory is not shared (it was created without shared: true)";
  }

  /** Registers the pool (setNumThreads resizes it) and ties its workers' lives to `owner`'s. */
  static register(pool: ThreadPool, owner: object): void {
    pools.add(pool);
    finalizer?.register(owner, pool);
    pool.sync();
  }

  /** Threads a GEMM would run on now: the caller plus the ready workers. */
  get size(): number {
    let n = 1;
    for (const t of this.threads) if (t.ready) n++;
    return n;
  }

  /** Starts or stops workers to match the requested thread count. */
  sync(): void {
    const want = requested;
    this.settled = want;
    if (want > 1 && this.unavailable) {
      warnOnce(this.unavailable);
      return;
    }
    if (this.threads.length > want - 1) this.shrinkTo(want - 1);
    if (this.threads.length < want - 1) {
      const p = platform();
      if (p.kind === "none") {
        warnOnce(p.reason);
        return;
      }
      while (this.threads.length < want - 1) {
        const t = this.spawn(p);
        if (!t) break;
        this.threads.push(t);
      }
    }
  }

  /** Resolves when every worker has started (or failed, falling back to fewer). */
  async whenStarted(): Promise<void> {
    if (nodeImport) await nodeImport;
    await Promise.all(this.threads.map((t) => t.started));
    this.dropFailed();
  }

  private spawn(p: Platform): Thread | null {
    const slot = this.allocator.alloc(this.slotBytes);
    const base = slot >>> 2;
    const i32 = this.heap.i32;
    i32.fill(0, base, base + SLOT_BYTES / 4);
    i32[base + DONE] = DONE_STARTING;
    const data = { module: this.module, memory: this.memory, slot };
    const thread: Thread = { slot, seq: 0, ready: false, failed: false, terminate: () => {}, started: Promise.resolve() };
    try {
      if (p.kind === "node") {
        const w = new p.Worker(WORKER_SOURCE, { eval: true, workerData: data, execArgv: [], name: "wasmgrad-gemm" });
        w.on("error", () => { thread.failed = true; thread.ready = false; });
        w.unref();
        thread.terminate = () => void w.terminate();
        // Node starts the worker without this thread's event loop: wait here until it is ready.
        const r = Atomics.wait(this.heap.i32, base + DONE, DONE_STARTING, START_TIMEOUT_MS);
        const done = Atomics.load(this.heap.i32, base + DONE);
        if (done !== 0) {
          thread.terminate();
          if (done === DONE_STARTING) warnOnce(`a worker thread did not start within ${START_TIMEOUT_MS / 1000} s (${r})`, FEWER);
          else {
            warnOnce("a worker thread could not instantiate the WebAssembly module", FEWER);
            this.allocator.free(slot);
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
              warnOnce(`a worker thread could not instantiate the WebAssembly module (${e.data.error})`, FEWER);
            }
            resolve();
          };
          w.onerror = (e: ErrorEvent) => {
            URL.revokeObjectURL(url);
            e.preventDefault();
            thread.failed = true;
            thread.ready = false;
            warnOnce(`a worker thread failed to start (${e.message || "a Worker from a blob: URL may be blocked by the page's Content-Security-Policy"})`, FEWER);
            resolve();
          };
        });
        w.postMessage(data);
      }
    } catch (e) {
      warnOnce(`could not start a worker thread (${(e as Error).message})`, FEWER);
      this.allocator.free(slot);
      return null;
    }
    return thread;
  }

  private dropFailed(): void {
    for (let i = this.threads.length - 1; i >= 0; i--) {
      const t = this.threads[i]!;
      if (t.failed) {
        t.terminate();
        this.threads.splice(i, 1);
      }
    }
  }

  /** Stops workers past `count`: each is told to exit, and its slot is freed once it has acknowledged. */
  private shrinkTo(count: number): void {
    const gone = this.threads.splice(count);
    const i32 = this.heap.i32;
    const canWait = platformCache?.kind === "node" || platformCache?.kind === "browser";
    for (const t of gone) {
      if (!t.ready) {
        t.terminate(); // never started (or failed): its slot may still be written, so it is not reused
        continue;
      }
      const base = t.slot >>> 2;
      const seq = ++t.seq;
      i32[base + CMD] = CMD_EXIT;
      Atomics.store(i32, base + SEQ, seq);
      Atomics.notify(i32, base + SEQ);
    }
    for (const t of gone) {
      if (!t.ready) continue;
      const base = t.slot >>> 2;
      let acked = Atomics.load(i32, base + DONE) === t.seq;
      if (!acked && canWait) {
        Atomics.wait(i32, base + DONE, t.seq - 1, 1000);
        acked = Atomics.load(i32, base + DONE) === t.seq;
      }
      t.terminate();
      if (acked) this.allocator.free(t.slot);
    }
  }

  /** Ends every worker (the backend is gone, or threads are switched off). */
  dispose(): void {
    pools.delete(this);
    for (const t of this.threads.splice(0)) t.terminate();
  }

  /** f32_gemm, on the pool's threads when it is large enough to pay. */
  gemm(
    layout: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number,
    c: number, ldc: number, work: number, epilogue = 0,
  ): void {
    if (this.settled !== requested) this.sync();
    const work3 = m * n * k;
    if (this.threads.length === 0 || !(work3 >= MIN_THREADED_WORK) || m <= 0 || n <= 0) {
      this.raw(layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work, epilogue);
      return;
    }
    const ready = this.readyThreads();
    const want = Math.min(ready.length + 1, Math.max(1, Math.floor(work3 / MIN_WORK_PER_THREAD)));
    // Columns in whole B strips (so no thread computes a partial strip it could
    // have shared), or rows in multiples of 4: the smaller largest tile wins.
    const colUnit = this.stripWidth;
    const colUnits = Math.ceil(n / colUnit);
    const rowUnits = Math.ceil(m / 4);
    const colParts = Math.min(want, colUnits);
    const rowParts = Math.min(want, rowUnits);
    const colTile = m * Math.min(n, colUnit * Math.ceil(colUnits / colParts));
    const rowTile = n * Math.min(m, 4 * Math.ceil(rowUnits / rowParts));
    const byCols = colTile <= rowTile;
    const parts = byCols ? colParts : rowParts;
    if (parts <= 1) {
      this.raw(layout, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work, epilogue);
      return;
    }
    const units = byCols ? colUnits : rowUnits;
    const unit = byCols ? colUnit : 4;
    const extent = byCols ? n : m;
    // Tile p covers units [floor(p·units/parts), floor((p+1)·units/parts)).
    const lo = (p: number) => Math.min(extent, unit * Math.floor((p * units) / parts));
    const tile = (p: number): [number, number, number, number, number] => {
      const s = lo(p);
      const e = lo(p + 1);
      if (byCols) {
        const bOff = layout === GemmLayout.NT ? s * ldb : s;
        return [m, e - s, a, b + 4 * bOff, c + 4 * s];
      }
      const aOff = layout === GemmLayout.TN ? s : s * lda;
      return [e - s, n, a + 4 * aOff, b, c + 4 * s * ldc];
    };

    this.runParts(ready, parts, "GEMM", (p, base) => {
      const i32 = this.heap.i32;
      const f32 = this.heap.f32;
      const [tm, tn, ta, tb, tc] = tile(p);
      const q = base + ARGS;
      i32[q] = layout; i32[q + 1] = tm; i32[q + 2] = tn; i32[q + 3] = k;
      f32[q + 4] = alpha; i32[q + 5] = ta; i32[q + 6] = lda; i32[q + 7] = tb; i32[q + 8] = ldb;
      f32[q + 9] = beta; i32[q + 10] = tc; i32[q + 11] = ldc; i32[q + 12] = base * 4 + SLOT_BYTES; i32[q + 13] = epilogue;
      i32[base + CMD] = CMD_GEMM;
    }, () => {
      const [tm, tn, ta, tb, tc] = tile(0);
      this.raw(layout, tm, tn, k, alpha, ta, lda, tb, ldb, beta, tc, ldc, work, epilogue);
    });
  }

  /** Would split() hand n elements to workers (each getting at least minPerThread)? */
  splits(n: number, minPerThread: number): boolean {
    if (this.settled !== requested) this.sync();
    return this.threads.length > 0 && n >= 2 * minPerThread && this.kernels !== undefined;
  }

  /**
   * An elementwise kernel over n elements on the pool's threads, each taking a
   * contiguous range of at least minPerThread elements that starts at a
   * multiple of SPLIT_ALIGN (bitwise the one-thread result, see there); the
   * calling thread takes the first. args(start, count) gives the kernel's
   * arguments for elements [start, start + count). `align` replaces SPLIT_ALIGN
   * for kernels whose units (planes, channels) are computed whole and alike
   * wherever a range starts.
   */
  split(
    kernel: SplitKernel, n: number, minPerThread: number, args: (start: number, count: number) => number[],
    align = SPLIT_ALIGN,
  ): void {
    const raw = this.kernels?.[kernel];
    if (!raw) throw new Error(`wasmgrad: ThreadPool.split: no kernel ${kernel}`);
    const ready = this.splits(n, minPerThread) ? this.readyThreads() : [];
    const units = Math.ceil(n / align);
    const parts = Math.min(ready.length + 1, units, Math.max(1, Math.floor(n / minPerThread)));
    if (parts <= 1) {
      raw(...args(0, n));
      return;
    }
    // Part p covers units [floor(p·units/parts), floor((p+1)·units/parts)).
    const lo = (p: number) => Math.min(n, align * Math.floor((p * units) / parts));
    const id = SPLIT_KERNELS.indexOf(kernel);
    this.runParts(ready, parts, kernel, (p, base) => {
      const a = args(lo(p), lo(p + 1) - lo(p));
      const i32 = this.heap.i32;
      i32[base + ARGS] = id;
      i32[base + ARGS + 1] = a.length;
      new Float64Array(i32.buffer, i32.byteOffset + base * 4, SLOT_BYTES / 8).set(a, CALL_ARGS_F64);
      i32[base + CMD] = CMD_CALL;
    }, () => void raw(...args(0, lo(1))));
  }

  /** The workers ready to take jobs (a starting one becomes ready once it signalled). */
  private readyThreads(): Thread[] {
    const ready: Thread[] = [];
    for (const t of this.threads) {
      if (!t.ready && !t.failed && Atomics.load(this.heap.i32, (t.slot >>> 2) + DONE) === 0) t.ready = true;
      if (t.ready) ready.push(t);
    }
    return ready;
  }

  /**
   * Parts 1 … parts − 1 to ready workers (post writes part p's job into the
   * slot whose i32 index is base), part 0 on this thread (own), then waits for
   * every posted part, even after a failure here: they are still writing.
   */
  private runParts(ready: Thread[], parts: number, what: string, post: (p: number, base: number) => void, own: () => void): void {
    const posted: Thread[] = [];
    for (let p = 1; p < parts; p++) {
      const t = ready[p - 1]!;
      const base = t.slot >>> 2;
      post(p, base);
      const i32 = this.heap.i32;
      i32[base + STATUS] = 0;
      const seq = ++t.seq;
      Atomics.store(i32, base + SEQ, seq);
      Atomics.notify(i32, base + SEQ, 1);
      posted.push(t);
    }
    tilesPosted += posted.length;
    let failure: unknown = null;
    const t0 = Date.now();
    try {
      own();
    } catch (e) {
      failure = e;
    }
    const view = this.heap.i32; // the heap does not grow while kernels run
    const deadline = Date.now() + JOB_TIMEOUT_MS + 20 * (Date.now() - t0);
    let kernelFailed = false;
    for (const t of posted) {
      const done = (t.slot >>> 2) + DONE;
      while (Atomics.load(view, done) !== t.seq) {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.lost();
          throw new Error(
            `wasmgrad: a worker thread stopped responding (${what}); threads are switched off (setNumThreads(1))`,
          );
        }
        Atomics.wait(view, done, t.seq - 1, Math.min(left, 1000));
      }
      if (view[(t.slot >>> 2) + STATUS] !== 0) kernelFailed = true;
    }
    if (failure) throw failure;
    if (kernelFailed) throw new Error(`wasmgrad: a Wasm kernel (${what}) aborted in a worker thread (this is a bug in wasmgrad: please report it)`);
  }

  /** A worker stopped answering: every pool's workers are ended (their slots are not reused) and threads go off. */
  private lost(): void {
    requested = 1;
    for (const pool of pools) {
      pool.settled = 1;
      for (const t of pool.threads.splice(0)) t.terminate();
    }
  }
}

// ---- the public API ------------------------------------------------------------------

function validate(n: unknown, name: string): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    const shown = typeof n === "number" ? String(n) : typeof n === "string" ? JSON.stringify(n) : typeof n;
    throw new RangeError(`wasmgrad: ${name}(n): n must be an integer from 1 to ${MAX_THREADS}, got ${shown}`);
  }
  return n;
}

/**
 * Runs GEMMs (matmul, Linear forward and backward) on n threads: the calling
 * thread and n − 1 workers over the Wasm backend's shared memory. Results are
 * bitwise the same for every n. n = 1 (the default) stops the workers.
 *
 * In Node it returns once the workers are running. In a browser, threads need
 * a cross-origin isolated page and wasmgrad running inside a Web Worker; the
 * workers start in the background: `await setNumThreadsAsync(n)` (or `ready()`)
 * to wait for them. Where threads are unavailable it warns once, saying why,
 * and runs on one thread. The JS backend always runs on one thread.
 */
export function setNumThreads(n: number): void {
  requested = validate(n, "setNumThreads");
  if (requested > 1 && pools.size === 0) {
    const p = platform();
    if (p.kind === "none") warnOnce(p.reason);
  }
  for (const pool of pools) pool.sync();
}

/** setNumThreads(n), then waits until the workers have started (needed in a browser); resolves to getNumThreads(). */
export async function setNumThreadsAsync(n: number): Promise<number> {
  setNumThreads(n);
  await threadsStarted();
  return getNumThreads();
}

/**
 * The number of threads GEMMs run on: what setNumThreads asked for, or 1 where
 * threads are unavailable (in a browser, workers still starting count once started).
 */
export function getNumThreads(): number {
  if (requested === 1) return 1;
  if (pools.size === 0) return platform().kind === "none" ? 1 : requested;
  let most = 1;
  for (const pool of pools) most = Math.max(most, pool.size);
  return most;
}

/** How many GEMM tiles worker threads have been given since the process started. */
export function workerTilesPosted(): number {
  return tilesPosted;
}

/** Resolves when the workers of every live pool have started. */
export async function threadsStarted(): Promise<void> {
  await Promise.all([...pools].map((p) => p.whenStarted()));
}
