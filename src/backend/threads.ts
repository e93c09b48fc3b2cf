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
// Workers run thread-worker.ts's source and take jobs through their control
// slots (described there); where workers can run is thread-platform.ts's answer.

import type { CachingAllocator } from "./allocator.ts";
import { InternalError } from "../errors.ts";
import type { Heap } from "./heap.ts";
import { SPLIT_KERNELS, type SplitKernel } from "./kernel-table.ts";
import { GemmLayout, type GemmKernels } from "./kernels.ts";
import {
  canWaitForWorkers, detectPlatform, platformState, sharedMemoryUnavailableReason, warnOnce as warnOnceFor, type Platform,
} from "./thread-platform.ts";
import {
  ARGS, CALL_ARGS_F64, CMD, CMD_CALL, CMD_EXIT, CMD_GEMM, DONE, SEQ, SLOT_BYTES, STARTED, STATUS, startWorker, type WorkerThread,
} from "./thread-worker.ts";

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

// The kernels threads split, and how, are declared once in the kernel table (kernel-table.ts).
export { SPLIT_KERNELS, type SplitKernel };
/**
 * Split ranges start at multiples of this many elements: the Wasm kernels work
 * in chunks of 1024 (and vectors of 4 or 16 within them), so every range is
 * chunked exactly as the one-thread call chunks those elements, its scalar
 * tail included, and the results are bitwise the same for every thread count.
 */
export const SPLIT_ALIGN = 1024;

// ---- the pools --------------------------------------------------------------------

/** A worker that has not finished its tile this long after the caller finished its own is presumed lost. */
const JOB_TIMEOUT_MS = 60_000;
/**
 * How long a thread spins on its flag before it sleeps in Atomics.wait, in µs:
 * a worker waiting for its next job, the caller waiting for a part that a
 * worker is running. Waking a sleeping thread costs a futex wake, and in a VM
 * an interrupt to an idle vCPU: a split fill of 2^18 floats took 20 µs on one
 * thread of this 2-vCPU VM, 55-60 µs on two with both sleeping at once, 15 µs
 * with both spinning. A training step's kernels follow one another within tens
 * of µs, so a worker that spins this long after a job is usually awake for the
 * next one; then it sleeps and costs nothing. The caller spins only while the
 * worker is running its part: on a machine busy with other work, a caller and
 * a worker both spinning for each other while the one they wait for has no
 * core made that fill 5-10× slower, and a caller that sleeps at once did not.
 * bench/epoch.ts --spin-off measures the difference.
 * @internal
 */
export const threadSpin = { callerMicros: 200, workerMicros: 200 };

function platform(): Platform {
  return detectPlatform(() => {
    for (const pool of pools) pool.sync();
  });
}

function warnOnce(reason: string, outcome?: string): void {
  warnOnceFor(requested, reason, outcome);
}

let requested = 1;
/** Tiles handed to workers so far (for tests and benchmarks: proof that threads ran). */
let tilesPosted = 0;
const pools = new Set<ThreadPool>();
const finalizer =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<ThreadPool>((pool) => pool.dispose())
    : undefined;

type RawGemm = GemmKernels["f32_gemm"];
/** The module's exports, as the pool calls them on the calling thread. */
type RawKernels = Record<SplitKernel, (...args: number[]) => unknown>;

/**
 * The workers of one Wasm backend (one shared memory).
 * @internal Not part of the API; kept out of the published declarations, which would otherwise name WebAssembly types that a Node project without the DOM library cannot resolve.
 */
export class ThreadPool {
  private readonly threads: WorkerThread[] = [];
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
    if (platformState.loading) await platformState.loading;
    await Promise.all(this.threads.map((t) => t.started));
    this.dropFailed();
  }

  private spawn(p: Exclude<Platform, { kind: "none" }>): WorkerThread | null {
    const slot = this.allocator.alloc(this.slotBytes);
    return startWorker(p, { module: this.module, memory: this.memory, slot, spinMicros: threadSpin.workerMicros }, this.heap.i32, warnOnce, () => this.allocator.free(slot));
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
    const canWait = canWaitForWorkers();
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
    if (!raw) throw new InternalError(`ThreadPool.split: no kernel ${kernel}`);
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
      this.heap.f64.set(a, (base >>> 1) + CALL_ARGS_F64);
      i32[base + CMD] = CMD_CALL;
    }, () => void raw(...args(0, lo(1))));
  }

  /** The workers ready to take jobs (a starting one becomes ready once it signalled). */
  private readyThreads(): WorkerThread[] {
    const ready: WorkerThread[] = [];
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
  private runParts(ready: WorkerThread[], parts: number, what: string, post: (p: number, base: number) => void, own: () => void): void {
    const posted: WorkerThread[] = [];
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
      const started = (t.slot >>> 2) + STARTED;
      if (threadSpin.callerMicros > 0 && Atomics.load(view, done) !== t.seq && Atomics.load(view, started) === t.seq) {
        const until = performance.now() + threadSpin.callerMicros / 1000;
        while (Atomics.load(view, done) !== t.seq && performance.now() < until);
      }
      while (Atomics.load(view, done) !== t.seq) {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.lost();
          throw new InternalError(
            `a worker thread stopped responding (${what}); threads are switched off (setNumThreads(1))`,
          );
        }
        Atomics.wait(view, done, t.seq - 1, Math.min(left, 1000));
      }
      if (view[(t.slot >>> 2) + STATUS] !== 0) kernelFailed = true;
    }
    if (failure) throw failure;
    if (kernelFailed) throw new InternalError(`a Wasm kernel (${what}) aborted in a worker thread`);
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
