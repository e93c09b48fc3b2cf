// Shared by the kernel tests: both backends side by side, data in and out of
// their heaps, seeded test data, and closeness checks with useful messages.

import { expect } from "vitest";
import type { Backend } from "../../src/backend/backend.ts";
import { createJsBackend } from "../../src/backend/js.ts";
import { createWasmBackend } from "../../src/backend/wasm.ts";

export function makeBackends(): { wasm: Backend; js: Backend } {
  return { wasm: createWasmBackend(), js: createJsBackend() };
}

/** Copies data into a fresh block of the backend's heap; returns the pointer. */
export function put(be: Backend, data: Float32Array | Int32Array | Uint8Array): number {
  const ptr = be.allocator.alloc(Math.max(data.byteLength, 4));
  new Uint8Array(be.heap.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return ptr;
}

/** A fresh block of n f32 (or i32) slots, filled with a NaN pattern so unwritten outputs show. */
export function scratch(be: Backend, n: number): number {
  const ptr = be.allocator.alloc(Math.max(n * 4, 4));
  be.heap.f32.fill(NaN, ptr >>> 2, (ptr >>> 2) + n);
  return ptr;
}

export function getF32(be: Backend, ptr: number, n: number): Float32Array {
  return be.heap.f32.slice(ptr >>> 2, (ptr >>> 2) + n);
}

export function getI32(be: Backend, ptr: number, n: number): Int32Array {
  return be.heap.i32.slice(ptr >>> 2, (ptr >>> 2) + n);
}

export function getU8(be: Backend, ptr: number, n: number): Uint8Array {
  return be.heap.u8.slice(ptr, ptr + n);
}

/** Writes i32 metadata (shapes, strides) into the backend's meta scratch; returns its pointer. */
export function putMeta(be: Backend, values: number[]): number {
  be.heap.i32.set(values, be.metaScratch >>> 2);
  return be.metaScratch;
}

/** A small deterministic generator for test data (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [low, high). */
export function randomF32(n: number, seed: number, low = -1, high = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * r();
  return out;
}

/** |a − b| ≤ atol + rtol·|b| elementwise; the message names the first bad index. */
export function expectClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6, what = "values",
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) {
      expect.fail(`${what}[${i}]: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** The sizes every kernel is tried on: 1, odd, non-multiples of 4, and around SIMD widths. */
export const ODD_SIZES = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 63, 64, 65, 257];
