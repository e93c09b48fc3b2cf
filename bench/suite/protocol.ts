// The JSON-lines protocol between the suite's orchestrator (run.ts) and its
// contender processes (worker.ts for the JS libraries, torch_worker.py for
// PyTorch). One request per line on the child's stdin, one reply per line on
// its stdout; every reply echoes the request's id. Timings are taken inside the
// child, so the pipe's latency is never part of a measurement.

export type Layout = "NN" | "NT" | "TN";

export type Request =
  | { id: number; cmd: "info" }
  /** Allocates and fills the operands, warms up; replies { once } (seconds per call), and with peakProbe wasmgrad-wasm its { probe } (ProbeInfo). */
  | { id: number; cmd: "gemm_setup"; m: number; k: number; n: number; layout: Layout; warmupMs: number; peakProbe?: boolean }
  /**
   * Calls the product `reps` times back to back; replies { seconds } per call.
   * wasmgrad-wasm then runs its Wasm SIMD peak probe (bench/suite/peak.ts) in
   * the same process and adds { probeGflops }: what the machine could do right
   * after this sample; and { busyProbeGflops }, its busy twin (the same FMA
   * chains with integer work, as dense in micro-ops as the GEMM): below the
   * plain probe when the core's other hyperthread is busy.
   */
  | { id: number; cmd: "gemm_sample"; reps: number; variant?: "kernel" | "op" }
  | { id: number; cmd: "gemm_free" }
  /** Loads Fashion-MNIST from `dir`, builds the MLP; replies { trainSize, testSize, batchesPerEpoch, loadSeconds }. */
  | { id: number; cmd: "train_setup"; dir: string; seed: number }
  /**
   * Trains on a fresh shuffle of the training set, stopping after maxBatches (0: the whole epoch).
   * probeEvery > 0 (wasmgrad's Wasm backend): after every probeEvery-th batch, one sample of the
   * peak probe and one of its busy twin, their time left out of the epoch's.
   */
  | { id: number; cmd: "train_epoch"; maxBatches: number; probeEvery?: number }
  /** Eval-mode accuracy over the test set (or its first maxBatches batches of 256). */
  | { id: number; cmd: "eval"; maxBatches: number }
  /** Peak RSS and, for wasmgrad, memoryStats(). */
  | { id: number; cmd: "stats" }
  /** wasmgrad only: one more (partial) epoch with every kernel call timed, by family. */
  | { id: number; cmd: "profile_epoch"; maxBatches: number }
  | { id: number; cmd: "exit" };

export interface InfoReply {
  contender: string;
  /** Library and runtime versions, free-form key → value. */
  versions: Record<string, string>;
  notes: string[];
  threads: number;
}

/** wasmgrad-wasm's Wasm SIMD peak probe (bench/suite/peak.ts), in the gemm_setup reply. */
export interface ProbeInfo {
  /** "relaxed": f32x4.relaxed_madd chains (FMA); "baseline": f32x4.mul and f32x4.add chains. */
  build: "relaxed" | "baseline";
  what: string;
  /** The wasmgrad build it stands for: getBackend().description. */
  backend: string;
  note?: string;
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
  /** With probeEvery: busy ÷ plain probe GFLOP/s of each probe sample taken between batches. */
  coreShares?: number[];
  /** With probeEvery: seconds the probe samples took, not counted in `seconds`. */
  probeSeconds?: number;
}

export interface EvalReply {
  seconds: number;
  batches: number;
  images: number;
  accuracy: number;
}

export interface StatsReply {
  /** process peak resident set size, bytes. */
  maxRssBytes: number;
  /** process resident set size now, bytes. */
  rssBytes: number;
  memory?: { liveBytes: number; pooledBytes: number; highWater: number; heapBytes: number; liveTensors: number };
}

export interface ProfileReply {
  seconds: number;
  batches: number;
  /** Family → { seconds, calls } for the kernel calls made during the epoch. */
  families: Record<string, { seconds: number; calls: number }>;
  /** Seconds spent producing batches (the DataLoader's iterator, kernels included). */
  dataSeconds: number;
}
