// The JSON-lines protocol between the suite's orchestrator (run.ts) and its
// contender processes (worker.ts for the JS libraries, torch_worker.py for
// PyTorch): one request per line on the child's stdin, one reply per line on
// its stdout, echoing the request's id. Timings are taken inside the child, so
// the pipe's latency is never part of a measurement.

export type Layout = "NN" | "NT" | "TN";

export type Request =
  | { id: number; cmd: "info" }
  /** Makes and fills the operands, warms up; replies { once } (seconds per call). */
  | { id: number; cmd: "gemm_setup"; m: number; k: number; n: number; layout: Layout; warmupMs: number }
  /** `reps` back-to-back calls; replies { seconds } per call. */
  | { id: number; cmd: "gemm_sample"; reps: number; variant?: "kernel" | "op" }
  | { id: number; cmd: "gemm_free" }
  /** Loads Fashion-MNIST from `dir`, builds the MLP; replies { trainSize, testSize, batchesPerEpoch, loadSeconds }. */
  | { id: number; cmd: "train_setup"; dir: string; seed: number }
  /** Trains on a fresh shuffle, stopping after maxBatches (0: the whole epoch). */
  | { id: number; cmd: "train_epoch"; maxBatches: number }
  /** Eval-mode accuracy over the test set (or its first maxBatches batches of 256). */
  | { id: number; cmd: "eval"; maxBatches: number }
  /** Peak RSS and, for wasmgrad, memoryStats(). */
  | { id: number; cmd: "stats" }
  | { id: number; cmd: "exit" };

export interface InfoReply {
  contender: string;
  /** Library and runtime versions, free-form key → value. */
  versions: Record<string, string>;
  notes: string[];
  threads: number;
}

export interface EpochReply {
  seconds: number;
  batches: number;
  images: number;
  loss: number;
  accuracy: number;
  /** Seconds of `seconds` spent taking batches from the data loader (conversion to float included). */
  dataSeconds: number;
  /** wasmgrad: memoryStats().highWater after the epoch. */
  highWater?: number;
}

export interface EvalReply {
  seconds: number;
  batches: number;
  images: number;
  accuracy: number;
}

export interface StatsReply {
  maxRssBytes: number;
  rssBytes: number;
  memory?: { liveBytes: number; pooledBytes: number; highWater: number; heapBytes: number; liveTensors: number };
}
