// Storage: a block of a backend's heap that one or more tensors (views) read,
// and the rule that gives it back without dispose(), keep() or the garbage
// collector (whose FinalizationRegistry callbacks never run inside a loop).
//
// The rule (the README states it for users):
// - Memory is aged in generations. A generation starts at each backward()
//   (without retainGraph) and each DataLoader batch, but once per training
//   step: a batch right after a backward is that step's end seen again. A loop
//   with neither (evaluation, a forward with no backward) is paced instead by
//   the end of an outermost noGrad() callback or a top-level Module forward()
//   (QUIET_BOUNDARIES). A boundary with no memory made since the last counts
//   for nothing.
// - Every storage is a temporary except what a long-lived holder owns:
//   parameters and requiresGrad leaves, gradients, optimizer state, dataset
//   contents, clone() and keep(). A temporary is stamped with the generation
//   whenever it is made or used (any read of its address), and a tensor in a
//   graph shares the stamp of its whole graph (a union-find cell: reading the
//   logits keeps the activations backward needs). A temporary not used in the
//   last SURVIVES generations is given back when the next one starts.
// - A temporary that nothing has read by then was set aside (a test set made
//   before training, a value returned out of noGrad and stored): it becomes
//   owned instead, freed by dispose(). Graph tensors, gradient temporaries
//   and DataLoader batches are never set aside: they belong to a step.
// - So is a read one made at top level (no noGrad or forward running) before
//   the first generation ended: a script's data (X, y, folds cut from them
//   with cat), read once and needed again after training. Unless the same op
//   made one of the same size at top level in a later generation: that was a
//   loop's first iteration, given back as usual; or it was read only by the
//   op right after it (nothing else made in between): an intermediate of an
//   expression (raw.sub(mean) in raw.sub(mean).div(sd), std()'s steps).
// - A gradient backward made that the user drops (p.grad = null) is disowned:
//   a step temporary from then on; one the user assigned stays theirs.
// - Reading reclaimed memory throws a ReclaimedTensorError naming the op and
//   shape that made the tensor, when it was reclaimed, and the fix.
// The bookkeeping per op is one stamp per address read; each generation
// sweeps the live temporaries twice (tens in a training loop).

import type { Backend } from "./backend/backend.ts";
import { setLiveTensorCounter } from "./backend/allocator.ts";

/**
 * "owned": freed by dispose() (or the garbage collector, as a backstop);
 * "temporary": reclaimed after its last use, or owned if set aside unread;
 * "step": reclaimed after its last use, never set aside.
 */
export type Lifetime = "owned" | "temporary" | "step";

/**
 * A temporary is given back once it has gone unused for this many
 * generations: it lives through the step after its last use, so this step's
 * loss can be read after opt.step(), and a tensor read once a step lives on.
 */
export const SURVIVES = 2;
/**
 * noGrad / forward / optimizer.step boundaries start generations only after
 * this many in a row with no backward or batch between them. A training
 * loop's clock is then its backward (or batch) alone, so a tensor made before
 * the loop and read once an iteration stays alive however many noGrad and
 * forward calls an iteration makes. An evaluation loop, which has no backward,
 * is paced by one site (a module's forward, a noGrad callback's code): the
 * first to end after the quiet ones, each time the loop comes round to it.
 */
const QUIET_BOUNDARIES = 6;

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
setLiveTensorCounter(() => liveStorages);
let generation = 1;
let madeSinceBoundary = false;
let quietBoundaries = 0;
let backwardSinceBatch = false;
/** The site whose boundary starts a generation in a loop without backward, and boundaries since it last did. */
let pace: unknown = null;
let sincePace = 0;
/** The kind of a DataLoader batch's boundary. */
export const BATCH = "DataLoader batch";
/** Bumped at the start of every op and read: a block read when the serial differs from its birth was used. */
let opSerial = 0;
let sweepId = 0;
/** What the next storages are made by, for the error that names it. */
let origin = "an op";
const temporaries = new Set<Storage>();
/** Storages made so far. */
let births = 0;
/**
 * Top-level temporaries made before the first generation ended (the data a
 * script makes before its first loop) are keyed by op and size: a key made
 * at top level again in a later generation is a loop's per-iteration tensor.
 */
const earlyKeys = new Set<string>();
/** The sizes in earlyKeys: a later top-level block of another size needs no key built. */
const earlySizes = new Set<number>();
const repeatedKeys = new Set<string>();

/** A graph's shared stamp: a tensor of a graph lives while any tensor of it is used. */
export class Cell {
  parent: Cell | null = null;
  sweep = 0;
  lastUse = 0;
}

function root(c: Cell): Cell {
  while (c.parent) {
    if (c.parent.parent) c.parent = c.parent.parent;
    c = c.parent;
  }
  return c;
}

/** Merges two graphs' cells (an op reading both joins them). */
export function unite(a: Cell, b: Cell): Cell {
  const ra = root(a);
  const rb = root(b);
  if (ra !== rb) rb.parent = ra;
  return ra;
}

/** Marks the start of an op or read: blocks whose address is read from now on count as used. */
export function beginOp(name?: string): void {
  opSerial++;
  if (name !== undefined) origin = name;
}

export class ReclaimedTensorError extends Error {
  constructor(what: string, detail: string, fix = true) {
    super(
      `wasmgrad: ${what}: its memory was given back (${detail}).` +
        (fix
          ? " A temporary is given back at the end of the step after its last use (a step ends at backward() " +
            "and at each DataLoader batch; in a loop without them, at its noGrad() callback or top-level forward()). " +
            "Fix: call .keep() on it where you make it (or .clone() it), or copy its values out with .item() / .toArray()."
          : ""),
    );
    this.name = "ReclaimedTensorError";
  }
}

export class Storage {
  /** Bumped by every in-place write, so backward can tell a saved tensor was changed. */
  version = 0;
  /** The op that made the block ("randn", "mul", "a DataLoader batch"). */
  readonly origin: string;
  private readonly ticket: FreeTicket;
  private reclaimedBy: string | null = null;
  private lifetime: Lifetime;
  private readonly serial: number;
  private readonly born: number;
  /** The generation it was last made or used in. */
  private lastUse: number;
  /** Read by a later op than the one that made it. */
  private read = false;
  /** The graph it belongs to (or, for a graph's input, the latest graph that saved it). */
  cell: Cell | null = null;
  /** Zeros pending (zeroOnNextRead): written on the next read of ptr, unless cancelled first. */
  private zerosPending = false;
  /** Made at top level before the first generation ended: its op and size (earlyKeys), else null. */
  private earlyKey: string | null = null;
  /** For an early block: the last op that read it, and whether only the op right after it read it. */
  private lastReadOp = 0;
  private intermediate = false;
  private readonly birth = ++births;

  constructor(readonly backend: Backend, readonly bytes: number, lifetime: Lifetime) {
    const ptr = backend.allocator.alloc(bytes, lifetime === "owned");
    this.ticket = { backend, ptr, freed: false };
    this.origin = origin;
    this.lifetime = lifetime;
    this.serial = opSerial;
    this.born = this.lastUse = generation;
    liveStorages++;
    if (lifetime === "owned") finalizer?.register(this, this.ticket, this);
    else {
      temporaries.add(this);
      madeSinceBoundary = true;
      if (lifetime === "temporary" && scopeDepth === 0) noteTopLevel(this);
    }
  }

  /** @internal Stamps a top-level temporary made before the first generation ended as the script's data. */
  markEarly(key: string): void {
    this.earlyKey = key;
  }

  /**
   * An early block read by one op only, the very next one, is an intermediate
   * of an expression (raw.sub(mean) in raw.sub(mean).div(sd), the steps of
   * std()), not data the script named: it is given back as usual.
   */
  private noteEarlyRead(): void {
    // Every read so far came before anything but the reader's own output was made.
    const late = births - this.birth > 1;
    this.intermediate = (this.lastReadOp === 0 || this.intermediate) && !late;
    this.lastReadOp = opSerial;
  }

  private get isScriptData(): boolean {
    return this.earlyKey !== null && !this.intermediate && !repeatedKeys.has(this.earlyKey);
  }

  /** The block's address; throws if it was reclaimed. Stamps the block as used. Writes owed zeros first. */
  get ptr(): number {
    if (this.ticket.freed) throw new ReclaimedTensorError("this tensor cannot be read", this.reclaimedBy ?? "it was disposed");
    this.lastUse = generation;
    if (this.serial !== opSerial) {
      this.read = true;
      if (this.earlyKey !== null && this.lastReadOp !== opSerial) this.noteEarlyRead();
    }
    if (this.zerosPending) {
      this.zerosPending = false;
      this.ticket.backend.kernels.f32_fill(this.ticket.ptr, this.bytes >>> 2, 0);
    }
    return this.ticket.ptr;
  }

  /** Stamps the block as used now, without counting as a read. */
  touch(): void {
    this.lastUse = generation;
  }

  /** Why the block is gone, or null while it is alive. */
  get reclaimedReason(): string | null {
    return this.ticket.freed ? this.reclaimedBy ?? "it was disposed" : null;
  }

  /**
   * From now on the block reads as zeros, but they are written only when
   * someone next reads `ptr` (every kernel call and data view does), unless a
   * writer of every byte calls cancelPendingZeros() first. zeroGrad clears
   * gradients so: a Linear weight's gradient is then written whole by the
   * backward's GEMM (beta = 0) instead of filled with zeros and added onto.
   * An address read before this call and used after it sees the old bytes:
   * read `ptr` again, as every op does.
   */
  zeroOnNextRead(): void {
    if (!this.ticket.freed) this.zerosPending = true;
  }

  /** For a writer about to write every byte: were zeros pending? They are cancelled either way. */
  cancelPendingZeros(): boolean {
    const owed = this.zerosPending;
    this.zerosPending = false;
    return owed;
  }

  get isAlive(): boolean {
    return !this.ticket.freed;
  }

  /** Reclaimed after its last use (not owned). */
  get isTemporary(): boolean {
    return this.lifetime !== "owned";
  }

  /** Part of a step (a graph, a gradient temporary, a batch): reclaimed after its last use even if never read. */
  get isStepScoped(): boolean {
    return this.lifetime === "step";
  }

  markStepScoped(): void {
    if (this.lifetime === "temporary") this.lifetime = "step";
  }

  /** A creation function wrote it: only what reads it from now on counts as use. */
  markFresh(): void {
    this.read = false;
  }

  /** Takes the storage out of the temporaries: it now lives until disposed (or collected). */
  keep(): void {
    if (this.lifetime === "owned" || this.ticket.freed) return;
    this.lifetime = "owned";
    this.cell = null;
    temporaries.delete(this);
    finalizer?.register(this, this.ticket, this);
  }

  /**
   * The opposite of keep(): an owned block its holder dropped (a gradient of
   * backward's set to null) joins this step's temporaries, given back once
   * unused for SURVIVES generations, instead of waiting for the garbage collector.
   */
  disown(): void {
    if (this.lifetime !== "owned" || this.ticket.freed) return;
    finalizer?.unregister(this);
    this.lifetime = "step";
    this.lastUse = generation;
    temporaries.add(this);
  }

  release(reason: string): void {
    if (this.ticket.freed) return;
    temporaries.delete(this);
    this.ticket.freed = true;
    this.reclaimedBy = reason;
    this.cell = null;
    finalizer?.unregister(this);
    this.ticket.backend.allocator.free(this.ticket.ptr);
    liveStorages--;
  }

  /** @internal The boundary's sweep, pass 1: the newest use of each graph. */
  stampCell(): void {
    if (!this.cell) return;
    const r = root(this.cell);
    if (r.sweep !== sweepId) {
      r.sweep = sweepId;
      r.lastUse = this.lastUse;
    } else if (this.lastUse > r.lastUse) r.lastUse = this.lastUse;
  }

  /** @internal Pass 2: give back, or keep as set aside, what was not used in the last SURVIVES generations. */
  sweep(boundary: string): void {
    const used = this.cell ? root(this.cell).lastUse : this.lastUse;
    if (used > generation - SURVIVES) return;
    if (this.lifetime === "temporary" && (!this.read || this.isScriptData)) {
      this.keep();
      return;
    }
    this.release(
      `made by ${this.origin} in step ${this.born}, last used in step ${used}, ` +
        `given back at the ${boundary} that ended step ${generation - 1}`,
    );
  }
}

/**
 * A boundary (see the rule above): `step` for backward and a DataLoader batch,
 * which always start a generation; the others do only in a loop without them
 * (QUIET_BOUNDARIES). Back-to-back boundaries with no memory made in between
 * count once, so a zeroGrad/step/noGrad with nothing new ages nothing.
 */
export function boundary(kind: string, step: boolean, site: unknown = kind): void {
  if (step) {
    // A batch after a backward is the same step's end seen twice: one generation per training step.
    const repeat = kind === BATCH && backwardSinceBatch;
    // The first step after a paced loop (evaluation, then training) already had its end of a
    // forward() counted as a boundary: counting the backward as well would age what that
    // step read by two generations, and labels made before the loop would be given back.
    const afterPace = pace !== null;
    backwardSinceBatch = kind !== BATCH;
    quietBoundaries = 0;
    pace = null;
    if (repeat || afterPace) return;
  }
  if (!madeSinceBoundary) return;
  madeSinceBoundary = false;
  if (!step) {
    if (++quietBoundaries <= QUIET_BOUNDARIES) return;
    // A site other than the pace's starts none, unless the pace has not come round for a while (the loop changed).
    const key = typeof site === "function" ? String(site) : site;
    if (pace !== null && key !== pace && ++sincePace <= QUIET_BOUNDARIES) return;
    pace = key;
    sincePace = 0;
  }
  generation++;
  origin = "an op";
  sweepId++;
  for (const s of temporaries) s.stampCell();
  for (const s of temporaries) s.sweep(kind);
}

let scopeDepth = 0;

function noteTopLevel(s: Storage): void {
  if (generation === 1) {
    const key = `${s.origin}:${s.bytes}`;
    earlyKeys.add(key);
    earlySizes.add(s.bytes);
    s.markEarly(key);
  } else if (earlySizes.has(s.bytes)) {
    const key = `${s.origin}:${s.bytes}`;
    if (earlyKeys.has(key)) repeatedKeys.add(key);
  }
}

/**
 * Runs fn as a user-level scope (a noGrad callback, a Module forward): the
 * return of the outermost one is a boundary, and what it returns is stamped
 * as used then (a tensor, or the tensors of an array or object it returns).
 */
export function scope<T>(kind: string, fn: () => T, site: unknown = kind): T {
  scopeDepth++;
  let out: T;
  try {
    out = fn();
  } finally {
    scopeDepth--;
  }
  if (scopeDepth === 0 && madeSinceBoundary) {
    touchReturned(out);
    boundary(kind, false, site);
    touchReturned(out);
  }
  return out;
}

/** A boundary unless inside a scope (optimizer.step() called from a forward is not the end of a step). */
export function boundaryOutsideScopes(kind: string, site: unknown = kind): void {
  if (scopeDepth === 0) boundary(kind, false, site);
}

function touchReturned(out: unknown): void {
  if (out === null || typeof out !== "object") return;
  const storage = (out as { storage?: unknown }).storage;
  if (storage instanceof Storage) {
    if (storage.isAlive) storage.touch();
    return;
  }
  const items = Array.isArray(out) ? out : Object.getPrototypeOf(out) === Object.prototype ? Object.values(out) : [];
  for (const v of items) {
    const s = v !== null && typeof v === "object" ? (v as { storage?: unknown }).storage : undefined;
    if (s instanceof Storage && s.isAlive) s.touch();
  }
}

export function liveStorageCount(): number {
  return liveStorages;
}
