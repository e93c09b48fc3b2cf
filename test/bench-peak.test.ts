// The Wasm SIMD peak probe (bench/peak.ts, `npm run bench:gemm -- --peak-probe`): its
// hand-encoded modules validate, compute what they claim (so the loop runs the
// chains it counts as flop), and the probe reports a positive GFLOP/s with the
// flop it did. Its busy twin runs the same chains plus integer work that cannot
// be dropped, and returns the same result. Behaviour only: nothing here depends
// on how fast the machine is.

import { describe, expect, it } from "vitest";
import {
  PeakProbe, PROBE_FLOPS_PER_ITERATION, peakProbeBytes, probeExpected, probeForBackend,
} from "../bench/peak.ts";
import { createWasmBackend, enableRelaxedSimdIfSupported } from "../src/backend/wasm.ts";

describe("the peak probe's modules", () => {
  it("the baseline module validates on any SIMD engine", () => {
    expect(WebAssembly.validate(peakProbeBytes("baseline"))).toBe(true);
  });

  it("the relaxed module validates exactly where wasmgrad's relaxed-SIMD build does", () => {
    // enableRelaxedSimdIfSupported() turns on Node 20/21's --experimental-wasm-relaxed-simd where it can.
    const supported = enableRelaxedSimdIfSupported();
    expect(WebAssembly.validate(peakProbeBytes("relaxed"))).toBe(supported);
  });

  it("differ only in the loop body: relaxed_madd (0xfd 0x85 0x02) in one, f32x4.mul (0xfd 0xe6 0x01) in the other", () => {
    const has = (bytes: Uint8Array, seq: number[]) => {
      for (let i = 0; i + seq.length <= bytes.length; i++) if (seq.every((b, j) => bytes[i + j] === b)) return true;
      return false;
    };
    expect(has(peakProbeBytes("relaxed"), [0xfd, 0x85, 0x02])).toBe(true);
    expect(has(peakProbeBytes("relaxed"), [0xfd, 0xe6, 0x01])).toBe(false);
    expect(has(peakProbeBytes("baseline"), [0xfd, 0xe6, 0x01])).toBe(true);
    expect(has(peakProbeBytes("baseline"), [0xfd, 0x85, 0x02])).toBe(false);
  });

  it("count 2 flop per FMA lane and 1 per mul or add lane: 12 chains × 2 (unrolled) × 4 lanes", () => {
    expect(PROBE_FLOPS_PER_ITERATION).toEqual({ relaxed: 192, baseline: 96 });
  });
});

describe("the baseline probe", () => {
  it("runs the loop n times: the result is exactly 12 + 12·n·2^-20", () => {
    const p = new PeakProbe("baseline");
    for (const n of [1, 2, 1000, 4096]) expect(p.run(n)).toBe(probeExpected("baseline", n));
    expect(probeExpected("baseline", 1000)).toBe(12 + (12 * 1000) / 2 ** 20);
  });

  it("after warm-up, a sample is a positive finite GFLOP/s, with the flop it did", () => {
    const p = new PeakProbe("baseline").warmUp(0.2, 2);
    expect(p.iterationsPerCall).toBeGreaterThanOrEqual(1000);
    const s = p.sample();
    expect(s.calls).toBe(3);
    expect(s.flops).toBe(3 * p.iterationsPerCall * 96);
    expect(s.seconds).toBeGreaterThan(0);
    expect(Number.isFinite(s.gflops)).toBe(true);
    expect(s.gflops).toBeGreaterThan(0);
  });
});

describe("the relaxed probe", () => {
  it.runIf(enableRelaxedSimdIfSupported())("runs the loop n times: the result is exactly 12 + 24·n·2^-20", () => {
    const p = new PeakProbe("relaxed");
    for (const n of [1, 2, 1000, 4096]) expect(p.run(n)).toBe(probeExpected("relaxed", n));
    const s = p.warmUp(0.2, 2).sample(1);
    expect(s.flops).toBe(p.iterationsPerCall * 192);
    expect(s.gflops).toBeGreaterThan(0);
  });
});

describe("the busy probe", () => {
  /** How many times `op` (one byte) follows a local.get in the module: the loop's integer adds. */
  const countAfterLocalGet = (bytes: Uint8Array, op: number) => {
    let n = 0;
    for (let i = 2; i < bytes.length; i++) if (bytes[i] === op && bytes[i - 2] === 0x20) n++;
    return n;
  };

  it("adds an i32.add per FMA (relaxed) or per two vector ops (baseline): 24 and 12 per iteration", () => {
    // local.get a; local.get n; i32.add (0x6a): the byte before 0x6a is local.get's index, two before is 0x20.
    expect(countAfterLocalGet(peakProbeBytes("relaxed", true), 0x6a)).toBe(24);
    expect(countAfterLocalGet(peakProbeBytes("baseline", true), 0x6a)).toBe(12);
    expect(countAfterLocalGet(peakProbeBytes("relaxed"), 0x6a)).toBe(0);
  });

  it("validates wherever its plain twin does", () => {
    expect(WebAssembly.validate(peakProbeBytes("baseline", true))).toBe(true);
    expect(WebAssembly.validate(peakProbeBytes("relaxed", true))).toBe(enableRelaxedSimdIfSupported());
  });

  it("returns exactly the plain probe's result, for short and long loops (the select never takes the integers)", () => {
    const builds = enableRelaxedSimdIfSupported() ? (["baseline", "relaxed"] as const) : (["baseline"] as const);
    for (const build of builds) {
      const busy = new PeakProbe(build, true);
      for (const n of [1, 2, 3, 1000, 4096, 65537, 300001]) expect(busy.run(n)).toBe(new PeakProbe(build).run(n));
      for (const n of [1, 1000, 4096]) expect(busy.run(n)).toBe(probeExpected(build, n));
    }
  });

  it("counts the same flop as the plain probe and samples a positive GFLOP/s", () => {
    const p = new PeakProbe("baseline", true).warmUp(0.2, 2);
    expect(p.busy).toBe(true);
    expect(p.what).toMatch(/busy: .*i32\.add/);
    const s = p.sample();
    expect(s.flops).toBe(3 * p.iterationsPerCall * 96);
    expect(s.gflops).toBeGreaterThan(0);
  });
});

describe("probeForBackend", () => {
  it("picks the probe of the build wasmgrad runs, with a busy twin of the same build", () => {
    const base = probeForBackend("wasm-simd128");
    expect(base.probe.build).toBe("baseline");
    expect([base.busy.build, base.busy.busy, base.probe.busy]).toEqual(["baseline", true, false]);
    const relaxed = probeForBackend("wasm-simd128-relaxed");
    expect(relaxed.busy.build).toBe(relaxed.probe.build);
    if (enableRelaxedSimdIfSupported()) {
      expect(relaxed.probe.build).toBe("relaxed");
      expect(relaxed.note).toBeUndefined();
    } else {
      expect(relaxed.probe.build).toBe("baseline");
      expect(relaxed.note).toMatch(/did not validate/);
    }
  });

  it("knows the names the Wasm backend gives its builds", () => {
    expect(createWasmBackend(undefined, { simd: "baseline" }).description).toBe("wasm-simd128");
    if (enableRelaxedSimdIfSupported()) expect(createWasmBackend(undefined, { simd: "relaxed" }).description).toBe("wasm-simd128-relaxed");
  });
});
