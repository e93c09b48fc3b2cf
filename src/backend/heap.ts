// The memory a backend's kernels address: byte offsets into one growable buffer,
// with typed views that are re-made whenever the buffer is replaced by growth.

export const PAGE_BYTES = 65536;
/** WebAssembly (32-bit) memory ends at 4 GiB: 65 536 pages. */
export const MAX_HEAP_BYTES = 65536 * PAGE_BYTES;

export interface Heap {
  readonly byteLength: number;
  readonly buffer: ArrayBufferLike;
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** As f64 (made on first use: only the thread pool writes f64, a split kernel's arguments). */
  readonly f64: Float64Array;
  /** Makes byteLength ≥ bytes; keeps the contents. Throws RangeError, never half-grows. */
  growTo(bytes: number): void;
}

export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[u]} (${bytes} bytes)`;
}

/**
 * Typed views of a heap, made again only after growTo (the only way wasmgrad
 * grows a heap; its kernels never grow memory) or when a growth detached them:
 * asking a WebAssembly.Memory for its buffer costs ~80 ns, and ops read the
 * views many times a step.
 */
abstract class ViewCache {
  private stale = true;
  private f32v: Float32Array = new Float32Array(0);
  private i32v: Int32Array = new Int32Array(0);
  private u8v: Uint8Array = new Uint8Array(0);
  private f64v: Float64Array | null = null;
  abstract get buffer(): ArrayBufferLike;
  /** The buffer may have changed: make the views again on next use. */
  protected invalidate(): void {
    this.stale = true;
  }
  private refresh(): void {
    if (this.stale || this.u8v.byteLength === 0) {
      const b = this.buffer;
      this.stale = false;
      this.f32v = new Float32Array(b);
      this.i32v = new Int32Array(b);
      this.u8v = new Uint8Array(b);
      this.f64v = null;
    }
  }
  get f32(): Float32Array { this.refresh(); return this.f32v; }
  get i32(): Int32Array { this.refresh(); return this.i32v; }
  get u8(): Uint8Array { this.refresh(); return this.u8v; }
  get f64(): Float64Array { this.refresh(); return (this.f64v ??= new Float64Array(this.u8v.buffer)); }
  get byteLength(): number { return this.buffer.byteLength; }
}

function checkGrowRequest(bytes: number): void {
  if (!(bytes <= MAX_HEAP_BYTES)) {
    throw new RangeError(
      `wasmgrad: cannot grow memory to ${formatBytes(bytes)}: WebAssembly memory is limited to 4 GiB`,
    );
  }
}

/**
 * A WebAssembly.Memory: the heap of the Wasm backend, shared with its module (and, shared, with workers).
 * @internal Not part of the API; kept out of the published declarations, which would otherwise name WebAssembly types that a Node project without the DOM library cannot resolve.
 */
export class WasmHeap extends ViewCache implements Heap {
  constructor(readonly memory: WebAssembly.Memory) { super(); }
  get buffer(): ArrayBufferLike { return this.memory.buffer; }
  growTo(bytes: number): void {
    checkGrowRequest(bytes);
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE_BYTES);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new RangeError(
        `wasmgrad: out of memory growing the heap from ${formatBytes(have)} to ${formatBytes(have + pages * PAGE_BYTES)} (${(e as Error).message})`,
      );
    } finally {
      this.invalidate();
    }
  }
}

/** A plain ArrayBuffer that is replaced by a larger copy on growth: the JS backend's heap. */
export class ArrayHeap extends ViewCache implements Heap {
  private buf: ArrayBuffer;
  constructor(initialBytes = PAGE_BYTES) { super(); this.buf = new ArrayBuffer(initialBytes); }
  get buffer(): ArrayBufferLike { return this.buf; }
  growTo(bytes: number): void {
    checkGrowRequest(bytes);
    if (bytes <= this.buf.byteLength) return;
    const size = Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;
    let next: ArrayBuffer;
    try {
      next = new ArrayBuffer(size);
    } catch (e) {
      throw new RangeError(
        `wasmgrad: out of memory growing the heap to ${formatBytes(size)} (${(e as Error).message})`,
      );
    }
    new Uint8Array(next).set(new Uint8Array(this.buf));
    this.buf = next;
    this.invalidate();
  }
}
