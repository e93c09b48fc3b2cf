// Storage: a block of a backend's heap that one or more tensors (views) read,
// and the rules that give it back without the user calling dispose().
//
// The rule (documented in the README):
// - A tensor computed during a training step is *step-scoped*: every output of
//   an op that records a gradient, or of an op reading a step-scoped tensor,
//   and every batch a DataLoader yields. Step boundaries are `backward()` and
//   each batch a DataLoader yields (back-to-back boundaries with nothing
//   created in between count once). Step-scoped memory is reclaimed two
//   boundaries after it was made: the loss and logits of this step can be read
//   after `opt.step()` (as d2l does), and last step's are gone by the next.
// - Everything else (parameters, gradients, optimizer state, tensors made by
//   creation functions, clone() and keep()) is owned: freed by dispose(), or
//   by the garbage collector through a FinalizationRegistry once no JS handle
//   is left.
// - Reading reclaimed memory throws an error that says how to keep it; it
//   never reads stale data.

import type { Backend } from "./backend/backend.ts";

interface FreeTicket {
  backend: Backend;
  ptr: number;
  freed: boolean;
}

const finalizer: FinalizationRegistry<FreeTicket> | null =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry((t) => {
        if (!t.freed) {
          t.freed = true;
          t.backend.allocator.free(t.ptr);
          liveStorages--;
        }
      })
    : null;

let liveStorages = 0;
let generation = 1;
let createdThisGeneration = false;
/** Step-scoped storages by the generation they were made in. */
const scoped = new Map<number, Set<Storage>>();

export class ReclaimedTensorError extends Error {
  constructor(detail: string) {
    super(
      `wasmgrad: this tensor's memory was reclaimed (${detail}). Tensors computed during a training step ` +
        "live until two steps later. To keep one longer, call .keep() on it (or .clone()) when you make it, " +
        "or copy its values out with .item() / .toArray().",
    );
    this.name = "ReclaimedTensorError";
  }
}

export class Storage {
  /** Bumped by every in-place write, so backward can tell a saved tensor was changed. */
  version = 0;
  private readonly ticket: FreeTicket;
  private reclaimedBy: string | null = null;
  private scopeGeneration = 0;
  /** Zeros the block owes (oweZeros): written on the next read of ptr, unless forgiven first. */
  private zerosOwed = false;

  constructor(readonly backend: Backend, readonly bytes: number, stepScoped: boolean) {
    const ptr = backend.allocator.alloc(bytes, !stepScoped);
    this.ticket = { backend, ptr, freed: false };
    liveStorages++;
    finalizer?.register(this, this.ticket, this);
    if (stepScoped) this.markStepScoped();
  }

  /** The block's address; throws if it was reclaimed. Writes owed zeros first. */
  get ptr(): number {
    if (this.ticket.freed) throw new ReclaimedTensorError(this.reclaimedBy ?? "it was disposed");
    if (this.zerosOwed) {
      this.zerosOwed = false;
      this.ticket.backend.kernels.f32_fill(this.ticket.ptr, this.bytes >>> 2, 0);
    }
    return this.ticket.ptr;
  }

  /**
   * From now on the block reads as zeros, but they are written only when
   * someone next reads `ptr` (every kernel call and data view does), unless a
   * writer of every byte calls forgiveZeros() first. zeroGrad clears
   * gradients so: a Linear weight's gradient is then written whole by the
   * backward's GEMM (beta = 0) instead of filled with zeros and added onto.
   * An address read before this call and used after it sees the old bytes:
   * read `ptr` again, as every op does.
   */
  oweZeros(): void {
    if (!this.ticket.freed) this.zerosOwed = true;
  }

  /** For a writer about to write every byte: were zeros owed? They are forgiven either way. */
  forgiveZeros(): boolean {
    const owed = this.zerosOwed;
    this.zerosOwed = false;
    return owed;
  }

  get isAlive(): boolean {
    return !this.ticket.freed;
  }

  get isStepScoped(): boolean {
    return this.scopeGeneration !== 0;
  }

  markStepScoped(): void {
    if (this.scopeGeneration !== 0 || this.ticket.freed) return;
    this.scopeGeneration = generation;
    let set = scoped.get(generation);
    if (!set) scoped.set(generation, (set = new Set()));
    set.add(this);
    createdThisGeneration = true;
  }

  /** Takes the storage out of step scope: it now lives until disposed or collected. */
  keep(): void {
    if (this.scopeGeneration === 0) return;
    scoped.get(this.scopeGeneration)?.delete(this);
    this.scopeGeneration = 0;
  }

  release(reason: string): void {
    if (this.ticket.freed) return;
    this.keep();
    this.ticket.freed = true;
    this.reclaimedBy = reason;
    finalizer?.unregister(this);
    this.ticket.backend.allocator.free(this.ticket.ptr);
    liveStorages--;
  }
}

/** A step boundary (backward, or a DataLoader batch): reclaims what was made two boundaries ago. */
export function stepBoundary(): void {
  if (!createdThisGeneration) return;
  createdThisGeneration = false;
  generation++;
  for (const [gen, set] of scoped) {
    if (gen > generation - 2) continue;
    scoped.delete(gen);
    for (const s of set) s.release(`it was made during a training step, ${generation - gen} steps ago`);
  }
}

export function liveStorageCount(): number {
  return liveStorages;
}
