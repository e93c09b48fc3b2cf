// The Wasm SIMD peak probe and its busy twin (the --peak-probe diagnostic):
// what this machine's Wasm engine can do right now, and whether the core is
// shared. Their design and the measurements behind them: docs/benchmark-design.md.

export type ProbeBuild = "relaxed" | "baseline";

const CHAINS = 12;
const UNROLL = 2;
/** Flop per loop iteration: 4 lanes, an FMA lane 2 flop, a mul or add lane 1. */
export const PROBE_FLOPS_PER_ITERATION: Record<ProbeBuild, number> = { relaxed: CHAINS * UNROLL * 4 * 2, baseline: CHAINS * UNROLL * 4 };
/** The probe's arguments: the loop multiplies by X and adds Y (or X·Y). */
const [X, Y] = [1, 2 ** -20];

/** What `peak(n, 1, 2^-20)` returns (exact in f32 for n up to ~2^15). */
export const probeExpected = (build: ProbeBuild, iterations: number) => CHAINS + (build === "relaxed" ? 2 : 1) * CHAINS * iterations * X * Y;

const WHAT: Record<ProbeBuild, [string, string]> = {
  relaxed: ["12 independent chains of `f32x4.relaxed_madd` (one FMA each, as the relaxed-SIMD build's GEMM multiply-adds)",
    "the same chains plus an independent i32.add per FMA (~2 micro-ops per FMA, near the GEMM k loop's ~2.5)"],
  baseline: ["12 independent chains, half `f32x4.mul`, half `f32x4.add` (1:1, as the baseline-SIMD build's GEMM multiply-adds)",
    "the same chains plus an independent i32.add per two vector ops"],
};

// ---- a minimal WebAssembly encoder (every immediate here is below 64, or -1: one LEB128 byte) ----

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  return [...out, n];
}
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32Const = (v: number) => [0x41, v & 0x7f];
const [I32_ADD, I32_SUB, I32_XOR, I32_EQ, F32_CONVERT_I32_S, SELECT] = [0x6a, 0x6b, 0x73, 0x46, 0xb2, 0x1b];
const simd = (op: number) => [0xfd, ...leb(op)];
const [SPLAT, ADD, MUL, MADD] = [simd(0x13), simd(0xe4), simd(0xe6), simd(0x105)];
/** The integer sums the busy probe adds into. */
const INTS = 6;

/** The probe module: `peak(n, x, y)` runs CHAINS multiply-add chains n times; `busy` adds integer work that cannot be dropped. */
export function peakProbeBytes(build: ProbeBuild, busy = false): Uint8Array<ArrayBuffer> {
  // Locals: params 0 n, 1 x, 2 y; v128 accumulators 3..14, splat(x) 15, splat(y) 16; the busy probe's i32 sums 17..22.
  const acc = (i: number) => 3 + i;
  const [vx, vy] = [3 + CHAINS, 4 + CHAINS];
  const int = (j: number) => 5 + CHAINS + j;
  const chain = (i: number) => build === "relaxed"
    ? [...get(vx), ...get(vy), ...get(acc(i)), ...MADD, ...set(acc(i))]
    : [...get(acc(i)), ...get(i % 2 ? vx : vy), ...(i % 2 ? MUL : ADD), ...set(acc(i))];
  // int_j += n, round robin: no two sums alike, so none can be merged. The baseline's mul / add chains
  // already take three ALU ports, so it gets one i32.add per two vector ops, not one each.
  const every = build === "relaxed" ? 1 : 2;
  let adds = 0;
  const intWork = (i: number) => (busy && i % every === every - 1 ? [...get(int(adds++ % INTS)), ...get(0), I32_ADD, ...set(int((adds - 1) % INTS))] : []);
  const code = [
    ...vec(busy ? [[CHAINS + 2, V128], [INTS, I32]] : [[CHAINS + 2, V128]]),
    ...get(1), ...SPLAT, ...set(vx), ...get(2), ...SPLAT, ...set(vy),
  ];
  for (let i = 0; i < CHAINS; i++) code.push(...get(1), ...SPLAT, ...set(acc(i)));
  if (busy) for (let j = 1; j < INTS; j++) code.push(...i32Const(j), ...set(int(j)));
  code.push(0x03, 0x40); // loop
  for (let u = 0; u < UNROLL; u++) for (let i = 0; i < CHAINS; i++) code.push(...chain(i), ...intWork(i));
  code.push(...get(0), ...i32Const(1), I32_SUB, 0x22, 0, 0x0d, 0, 0x0b); // n = n - 1 (tee); br_if 0; end (callers pass n >= 1)
  // The busy result is select(f32(xor of the sums), the accumulators' sum, int_0 xor int_5 == -1): never taken, but never provably so.
  if (busy) code.push(...get(int(0)), ...[1, 2, 3, 4, 5].flatMap((j) => [...get(int(j)), I32_XOR]), F32_CONVERT_I32_S);
  code.push(...get(acc(0)));
  for (let i = 1; i < CHAINS; i++) code.push(...get(acc(i)), ...ADD);
  code.push(...simd(0x1f), 0); // f32x4.extract_lane 0
  if (busy) code.push(...get(int(0)), ...get(int(INTS - 1)), I32_XOR, ...i32Const(-1), I32_EQ, SELECT);
  code.push(0x0b);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [F32], [F32]]), ...vec([[F32]])]])), // type 0: (i32, f32, f32) -> f32
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(7, vec([[...vec([..."peak"].map((c) => [c.charCodeAt(0)])), 0x00, 0]])), // export "peak" = function 0
    ...section(10, vec([[...leb(code.length), ...code]])),
  ]);
}

// ---- the probe -----------------------------------------------------------------

/** gflops: the median call's; flops and seconds: over all the sample's calls. */
export interface ProbeSample { gflops: number; flops: number; seconds: number; calls: number }

export class PeakProbe {
  readonly flopsPerIteration: number;
  readonly what: string;
  /** Iterations per timed call (sized at warm-up for ~callMs). */
  iterationsPerCall = 1000;
  private readonly fn: (n: number, x: number, y: number) => number;

  /** Throws where the engine does not validate the module (relaxed SIMD off). */
  constructor(readonly build: ProbeBuild, readonly busy = false) {
    const module = new WebAssembly.Module(peakProbeBytes(build, busy));
    this.fn = new WebAssembly.Instance(module).exports.peak as PeakProbe["fn"];
    this.flopsPerIteration = PROBE_FLOPS_PER_ITERATION[build];
    this.what = busy ? `${WHAT[build][0]}; busy: ${WHAT[build][1]}` : WHAT[build][0];
  }

  /** Runs the loop `iterations` (≥ 1) times; returns its result (see probeExpected). */
  run(iterations: number): number {
    return this.fn(Math.max(1, Math.floor(iterations)), X, Y);
  }

  /** `calls` timed calls of `n` iterations: the seconds of each. */
  private time(calls: number, n: number): number[] {
    return Array.from({ length: calls }, () => {
      const t = performance.now();
      this.run(n);
      return (performance.now() - t) / 1000;
    });
  }

  /** Many short calls (V8 tiers the function up to TurboFan between calls), then sizes a call to last about callMs. */
  warmUp(callMs = 1, minMs = 15): this {
    const t0 = performance.now();
    for (let calls = 0; (calls < 20 || performance.now() - t0 < minMs) && performance.now() - t0 < 500; calls++) this.run(2000);
    const fastest = this.time(5, 20000).sort((a, b) => a - b)[2]!;
    this.iterationsPerCall = Math.max(1000, Math.round((20000 / Math.max(fastest * 1000, 1e-3)) * callMs));
    return this;
  }

  /** `calls` timed calls of iterationsPerCall each; GFLOP/s of the median one. */
  sample(calls = 3): ProbeSample {
    const flops = this.iterationsPerCall * this.flopsPerIteration;
    const seconds = this.time(calls, this.iterationsPerCall);
    const slowestFirst = [...seconds].sort((a, b) => b - a);
    return { gflops: flops / Math.max(slowestFirst[(calls - 1) >> 1]!, 1e-9) / 1e9, flops: calls * flops, seconds: seconds.reduce((a, b) => a + b, 0), calls };
  }
}

/**
 * The probe for a wasmgrad backend, with its busy twin: the relaxed one for the
 * relaxed-SIMD build ("wasm-simd128-relaxed"), else the baseline one; a relaxed
 * build whose probe does not validate gets the baseline probes and a note.
 */
export function probeForBackend(description: string): { probe: PeakProbe; busy: PeakProbe; note?: string } {
  const relaxed = description === "wasm-simd128-relaxed";
  const build = relaxed && WebAssembly.validate(peakProbeBytes("relaxed")) ? "relaxed" : "baseline";
  const note = relaxed && build === "baseline" ? "the relaxed-SIMD peak probe did not validate, so GEMM is compared with the mul+add (baseline) probe" : undefined;
  return { probe: new PeakProbe(build).warmUp(), busy: new PeakProbe(build, true).warmUp(), ...(note ? { note } : {}) };
}
