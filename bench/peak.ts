// The Wasm SIMD peak probe and its busy twin (the --peak-probe diagnostic):
// what this machine's Wasm engine can do right now, and whether the core is
// shared. Their design and the measurements behind them: docs/benchmark-design.md.

export type ProbeBuild = "relaxed" | "baseline";

const CHAINS = 12;
const UNROLL = 2;
const LANES = 4;

/** Flop per loop iteration: an FMA lane is 2 flop, a mul or add lane 1. */
export const PROBE_FLOPS_PER_ITERATION: Record<ProbeBuild, number> = {
  relaxed: CHAINS * UNROLL * LANES * 2,
  baseline: CHAINS * UNROLL * LANES * 1,
};

/** The probe's arguments: the loop multiplies by X and adds Y (or X·Y). */
const X = 1;
const Y = 2 ** -20;

/** What `peak(n, 1, 2^-20)` returns (exact in f32 for n up to ~2^15). */
export function probeExpected(build: ProbeBuild, iterations: number): number {
  return build === "relaxed" ? CHAINS + 2 * CHAINS * iterations * X * Y : CHAINS + CHAINS * iterations * Y;
}

/** The busy probe, in words (see the top of this file). */
export const PROBE_BUSY_WHAT: Record<ProbeBuild, string> = {
  relaxed: "the same chains plus an independent i32.add per FMA (~2 micro-ops per FMA, near the GEMM k loop's ~2.5)",
  baseline: "the same chains plus an independent i32.add per two vector ops",
};

/** A short description of the probe, for the report. */
export const PROBE_WHAT: Record<ProbeBuild, string> = {
  relaxed: "12 independent chains of `f32x4.relaxed_madd` (one FMA each, as the relaxed-SIMD build's GEMM multiply-adds)",
  baseline: "12 independent chains, half `f32x4.mul`, half `f32x4.add` (1:1, as the baseline-SIMD build's GEMM multiply-adds)",
};

// ---- a minimal WebAssembly encoder ---------------------------------------------

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** A vector: its length, then its items. */
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
/** A section: id, byte size, contents. */
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];

const I32 = 0x7f;
/** Integer locals the busy probe adds into. */
const INTS = 6;
const F32 = 0x7d;
const V128 = 0x7b;
const localGet = (i: number) => [0x20, ...leb(i)];
const localSet = (i: number) => [0x21, ...leb(i)];
const localTee = (i: number) => [0x22, ...leb(i)];
/** Signed LEB128 (i32.const's immediate). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}
const i32Const = (v: number) => [0x41, ...sleb(v)];
const I32_ADD = 0x6a;
const I32_XOR = 0x73;
const I32_EQ = 0x46;
const F32_CONVERT_I32_S = 0xb2;
const SELECT = 0x1b;
/** A SIMD instruction: prefix 0xfd, then its opcode as LEB128. */
const simd = (op: number) => [0xfd, ...leb(op)];
const F32X4_SPLAT = simd(0x13);
const F32X4_EXTRACT_LANE_0 = [...simd(0x1f), 0];
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
/** Relaxed SIMD: f32x4.relaxed_madd(a, b, c) = a·b + c, fused or not (0xfd 0x105). */
const F32X4_RELAXED_MADD = simd(0x105);

/** The probe module's bytes (see the top of this file); `busy` adds the integer work. */
export function peakProbeBytes(build: ProbeBuild, busy = false): Uint8Array<ArrayBuffer> {
  // Locals: params 0 n (i32), 1 x (f32), 2 y (f32); then v128 accumulators 3..14, splat(x) 15,
  // splat(y) 16; the busy probe's i32 sums 17..22.
  const acc = (i: number) => 3 + i;
  const vx = 3 + CHAINS;
  const vy = 4 + CHAINS;
  const int = (j: number) => 5 + CHAINS + j;
  const chain = (i: number): number[] => {
    if (build === "relaxed") return [...localGet(vx), ...localGet(vy), ...localGet(acc(i)), ...F32X4_RELAXED_MADD, ...localSet(acc(i))];
    return i % 2
      ? [...localGet(acc(i)), ...localGet(vx), ...F32X4_MUL, ...localSet(acc(i))]
      : [...localGet(acc(i)), ...localGet(vy), ...F32X4_ADD, ...localSet(acc(i))];
  };
  // int_j += n (the loop counter): no two sums alike, so none can be merged. The
  // baseline's mul / add chains already take three of the core's ALU ports, so
  // it gets one i32.add per two vector ops: one each would make the probe bound
  // by the integer ports left, not by issue width.
  const every = build === "relaxed" ? 1 : 2;
  let adds = 0;
  const intWork = (i: number): number[] => {
    if (!busy || i % every !== every - 1) return [];
    const j = adds++ % INTS; // round robin: each sum gets the same adds, 4 (relaxed) or 2 (baseline) per iteration
    return [...localGet(int(j)), ...localGet(0), I32_ADD, ...localSet(int(j))];
  };
  const code: number[] = [
    ...vec(busy ? [[...leb(CHAINS + 2), V128], [...leb(INTS), I32]] : [[...leb(CHAINS + 2), V128]]),
    ...localGet(1), ...F32X4_SPLAT, ...localSet(vx),
    ...localGet(2), ...F32X4_SPLAT, ...localSet(vy),
  ];
  for (let i = 0; i < CHAINS; i++) code.push(...localGet(1), ...F32X4_SPLAT, ...localSet(acc(i))); // acc_i = splat(x)
  if (busy) for (let j = 1; j < INTS; j++) code.push(...i32Const(j), ...localSet(int(j))); // int_j = j (int_0 starts at 0)
  code.push(0x03, 0x40); // loop (no result)
  for (let u = 0; u < UNROLL; u++) for (let i = 0; i < CHAINS; i++) code.push(...chain(i), ...intWork(i));
  // n -= 1; br_if 0 (n != 0)   (the caller passes n >= 1)
  code.push(...localGet(0), 0x41, 1, 0x6b, ...localTee(0), 0x0d, 0, 0x0b); // i32.const 1, i32.sub, br_if, end loop
  if (busy) {
    // select's first operand: f32(xor of the sums), taken only if int_0 xor int_5 == -1, never (see the top).
    code.push(...localGet(int(0)));
    for (let j = 1; j < INTS; j++) code.push(...localGet(int(j)), I32_XOR);
    code.push(F32_CONVERT_I32_S);
  }
  code.push(...localGet(acc(0)));
  for (let i = 1; i < CHAINS; i++) code.push(...localGet(acc(i)), ...F32X4_ADD);
  code.push(...F32X4_EXTRACT_LANE_0);
  if (busy) code.push(...localGet(int(0)), ...localGet(int(INTS - 1)), I32_XOR, ...i32Const(-1), I32_EQ, SELECT);
  code.push(0x0b); // end function
  const name = [..."peak"].map((c) => c.charCodeAt(0));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [F32], [F32]]), ...vec([[F32]])]])), // type 0: (i32, f32, f32) -> f32
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(7, vec([[...vec(name.map((c) => [c])), 0x00, 0]])), // export "peak" = function 0
    ...section(10, vec([[...leb(code.length), ...code]])), // its body
  ]);
}

// ---- the probe -----------------------------------------------------------------

export interface ProbeSample {
  /** The median call's GFLOP/s. */
  gflops: number;
  /** Flop and seconds over all the sample's calls. */
  flops: number;
  seconds: number;
  calls: number;
}

export class PeakProbe {
  readonly flopsPerIteration: number;
  readonly what: string;
  /** Iterations per timed call (sized at warm-up for ~callMs). */
  iterationsPerCall = 1000;
  private readonly fn: (n: number, x: number, y: number) => number;

  /** Throws where the engine does not validate the module (relaxed SIMD off). */
  constructor(readonly build: ProbeBuild, readonly busy = false) {
    const bytes = peakProbeBytes(build, busy);
    if (!WebAssembly.validate(bytes)) throw new Error(`the ${build} peak probe does not validate on this engine`);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    this.fn = instance.exports.peak as (n: number, x: number, y: number) => number;
    this.flopsPerIteration = PROBE_FLOPS_PER_ITERATION[build];
    this.what = busy ? `${PROBE_WHAT[build]}; busy: ${PROBE_BUSY_WHAT[build]}` : PROBE_WHAT[build];
  }

  /** Runs the loop `iterations` (≥ 1) times; returns its result (see probeExpected). */
  run(iterations: number): number {
    return this.fn(Math.max(1, Math.floor(iterations)), X, Y);
  }

  /**
   * Many short calls (V8 tiers the function up to TurboFan between calls),
   * then sizes a call to last about callMs.
   */
  warmUp(callMs = 1, minMs = 15): this {
    const t0 = performance.now();
    let calls = 0;
    while (calls < 20 || performance.now() - t0 < minMs) {
      this.run(2000);
      calls++;
      if (performance.now() - t0 > 500) break;
    }
    const rates: number[] = [];
    for (let i = 0; i < 5; i++) {
      const n = 20000;
      const t = performance.now();
      this.run(n);
      rates.push(n / Math.max(performance.now() - t, 1e-3));
    }
    rates.sort((a, b) => a - b);
    this.iterationsPerCall = Math.max(1000, Math.round(rates[2]! * callMs));
    return this;
  }

  /** `calls` timed calls of iterationsPerCall each; GFLOP/s of the median one. */
  sample(calls = 3): ProbeSample {
    const n = this.iterationsPerCall;
    const rates: number[] = [];
    let seconds = 0;
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      this.run(n);
      const dt = (performance.now() - t) / 1000;
      seconds += dt;
      rates.push((n * this.flopsPerIteration) / Math.max(dt, 1e-9) / 1e9);
    }
    rates.sort((a, b) => a - b);
    return { gflops: rates[(calls - 1) >> 1]!, flops: calls * n * this.flopsPerIteration, seconds, calls };
  }
}

/**
 * The probe for a wasmgrad backend: the relaxed one for the relaxed-SIMD build
 * (`getBackend().description` "wasm-simd128-relaxed"; wasmgrad has by then
 * turned on Node 20/21's --experimental-wasm-relaxed-simd), else the baseline
 * one, each with its busy twin. A relaxed build whose probe does not validate
 * gets the baseline probes and a note.
 */
export function probeForBackend(description: string): { probe: PeakProbe; busy: PeakProbe; note?: string } {
  const pair = (build: ProbeBuild) => ({ probe: new PeakProbe(build).warmUp(), busy: new PeakProbe(build, true).warmUp() });
  if (description === "wasm-simd128-relaxed") {
    if (WebAssembly.validate(peakProbeBytes("relaxed"))) return pair("relaxed");
    return {
      ...pair("baseline"),
      note: "the relaxed-SIMD peak probe did not validate, so GEMM is compared with the mul+add (baseline) probe",
    };
  }
  return pair("baseline");
}
