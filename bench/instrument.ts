// Timers put around the shared training loop from outside, for the profiles
// (bench/epoch.ts --profile, the suite's profile_epoch): each kernel call, and
// the wall time of each step of src/training.ts's trainEpoch.

import { workerTilesPosted } from "../src/backend/threads.ts";
import type { nn, Tensor } from "../src/index.ts";
import { trainEpoch, type Batches, type EpochResult } from "../src/training.ts";

/** The steps of one training batch, as trainEpoch takes them; "metrics" is the rest (the loss and accuracy reads). */
export const PHASES = ["data", "forward", "loss", "zeroGrad", "backward", "step", "metrics"] as const;
export type Phase = (typeof PHASES)[number];

/** parallel: whether the thread pool handed part of the call to a worker. */
export interface KernelCall { name: string; ms: number; phase: Phase; parallel: boolean }

/** Wall time by phase; the kernel calls made, each with its phase, when recording. */
export class EpochClock {
  phase: Phase = "metrics";
  readonly phaseMs = new Map<Phase, number>();
  readonly calls: KernelCall[] = [];
  private t = performance.now();

  private lap(next: Phase): void {
    const now = performance.now();
    this.phaseMs.set(this.phase, (this.phaseMs.get(this.phase) ?? 0) + now - this.t);
    this.t = now;
    this.phase = next;
  }

  /** `fn` with its time counted to `phase`. */
  wrap<A extends unknown[], R>(phase: Phase, fn: (...args: A) => R): (...args: A) => R {
    return (...args) => {
      const outer = this.phase;
      this.lap(phase);
      const out = fn(...args);
      this.lap(outer);
      return out;
    };
  }

  /** Closes the last lap (call after the epoch). */
  stop(): void {
    this.lap(this.phase);
  }
}

/**
 * Wraps every function of a kernel table in a timer that records each
 * outermost call on `clock` (a kernel calling another through the table counts
 * once). Returns the function that puts the table back.
 */
export function timeKernels(table: object, clock: EpochClock): () => void {
  const t = table as Record<string, unknown>;
  const original = { ...t };
  let depth = 0;
  for (const [name, f] of Object.entries(original)) {
    if (typeof f !== "function") continue;
    const inner = f as (...args: number[]) => unknown;
    t[name] = (...args: number[]) => {
      if (depth > 0) return inner(...args);
      depth++;
      const [tiles, t0] = [workerTilesPosted(), performance.now()];
      const out = inner(...args);
      depth--;
      clock.calls.push({ name, ms: performance.now() - t0, phase: clock.phase, parallel: workerTilesPosted() !== tiles });
      return out;
    };
  }
  return () => Object.assign(t, original);
}

/** One trainEpoch, each step of each batch timed on `clock`: the same calls as an untimed epoch. */
export async function timedEpoch(
  net: nn.Module, loader: Batches, opt: { zeroGrad(): void; step(): void }, lossFn: nn.CrossEntropyLoss, clock: EpochClock, maxBatches?: number,
): Promise<EpochResult> {
  const batches: Batches = {
    length: loader.length,
    [Symbol.iterator]() {
      const it = loader[Symbol.iterator]();
      return { next: clock.wrap("data", () => it.next()), return: (v?: unknown) => it.return?.(v) ?? { done: true, value: v } };
    },
  } as Batches;
  const net0 = net.forward;
  const loss0 = lossFn.forward;
  const timedOpt = { zeroGrad: clock.wrap("zeroGrad", () => opt.zeroGrad()), step: clock.wrap("step", () => opt.step()) };
  net.forward = clock.wrap("forward", net0);
  lossFn.forward = clock.wrap("loss", (...args: Tensor[]) => {
    const loss = loss0(...(args as [Tensor, Tensor]));
    const backward = loss.backward.bind(loss);
    loss.backward = clock.wrap("backward", backward);
    return loss;
  });
  try {
    return await trainEpoch(net, batches, timedOpt, lossFn, { maxBatches });
  } finally {
    clock.stop();
    net.forward = net0;
    lossFn.forward = loss0;
  }
}
