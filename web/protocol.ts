// The messages between the demo page (main.ts) and its training worker (worker.ts).

import type { BatchProgress, EpochStats } from "../src/training.ts";

export type DatasetName = "subset" | "full";

export interface TrainSettings {
  /** Absolute URL of the directory holding the four IDX files (gzipped or not). */
  dataUrl: string;
  /** "mlp": the dropout MLP; "lenet": d2l's LeNet (dropout, weight decay and L1 do not apply). */
  model: "mlp" | "lenet";
  dropout: [number, number];
  lr: number;
  weightDecay: number;
  l1: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** How many test images the page shows with their predictions. */
  samples: number;
  /** setNumThreads for the Wasm backend (1 unless the page is cross-origin isolated). */
  threads: number;
}

export type ToWorker =
  | { type: "train"; settings: TrainSettings }
  | { type: "weight-decay"; lambdas: number[] }
  /** threads: the Wasm backend is timed on that many threads and, when more than one, on one thread too. */
  | { type: "bench"; dataUrl: string; batches: number; batchSize: number; threads: number };

export interface WorkerEnv {
  simd: boolean;
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  /** The backend training uses: "wasm-simd128", "wasm-simd128-relaxed" or "js". */
  backend: string;
  /** Threads the Wasm backend runs on now (getNumThreads). */
  threads: number;
  /** Can this worker run threads (cross-origin isolated, Wasm backend)? */
  threadsAvailable: boolean;
  classNames: readonly string[];
}

/** An epoch's EpochStats (the CLI's JSON epoch record), with the predictions for the sample images. */
export type EpochMessage = { type: "epoch" } & EpochStats & {
  /** Predicted classes of the sample test images. */
  predictions: number[];
};

/**
 * How a training run times its threads against one (live-speedup.ts shows it).
 * "measure": a run on n > 1 threads first trains `oneThreadBatches` batches on
 * one thread (results are bitwise the same on any count), then switches to n.
 * Otherwise the run is on one thread, or too short to spare the batches, and
 * `why` says which in words.
 */
export type SpeedupPlan =
  | { kind: "measure"; threads: number; oneThreadBatches: number }
  | { kind: "none"; threads: number; why: "one-thread" | "not-isolated" | "js-backend" | "too-short" };

/** A batch's own timing, taken in the worker around its training step. */
export interface BatchTiming {
  /** Batches trained so far in this run, over all epochs (1-based). */
  step: number;
  /** Images in this batch. */
  images: number;
  /** Seconds its step took: forward, loss, backward, optimizer step and reading the loss. */
  seconds: number;
  /** Threads it ran on (getNumThreads). */
  threads: number;
  /**
   * False for a warm-up batch (the first ones on a thread count: JIT, Wasm
   * tier-up, new workers starting) and for a short last batch of an epoch: the
   * live speed-up leaves those out.
   */
  counted: boolean;
}

export type FromWorker =
  | ({ type: "env" } & WorkerEnv)
  | { type: "loading"; what: string }
  | {
      type: "start";
      /** Threads the first batch runs on (getNumThreads after setNumThreadsAsync): 1 when the plan times one thread first. */
      threads: number;
      speedupPlan: SpeedupPlan;
      trainSize: number;
      testSize: number;
      batchesPerEpoch: number;
      /** The first test images (28·28 bytes each) and their labels, shown with predictions after each epoch. */
      sampleImages: Uint8Array;
      sampleLabels: number[];
    }
  | ({ type: "batch"; epoch: number; timing: BatchTiming } & BatchProgress)
  | EpochMessage
  | { type: "done"; seconds: number }
  | { type: "wd-epoch"; lambd: number; epoch: number; trainLoss: number; testLoss: number }
  | { type: "wd-done"; lambd: number; trainLoss: number; testLoss: number; wNorm: number; seconds: number }
  | { type: "bench-result"; backend: string; threads: number; images: number; seconds: number }
  | { type: "error"; message: string };
