// The benchmark suite's Wasm SIMD peak probe (bench/suite/peak.ts): its
// hand-encoded modules validate, compute what they claim (so the loop runs the
// chains it counts as flop), and the probe reports a positive GFLOP/s with the
// flop it did. Behaviour only: nothing here depends on how fast the machine is.

import { describe, expect, it } from "vitest";
import {
  PeakProbe, PROBE_FLOPS_PER_ITERATION, peakProbeBytes, probeExpected, probeForBackend,
} from "../bench/suite/peak.ts";
import { createWasmBackend, relaxedSimdSupported } from "../src/backend/wasm.ts";

describe("the peak probe's modules", () => {
  it("the baseline module validates on any SIMD engine", () => {
    expect(WebAssembly.validate(peakProbeBytes("baseline"))).toBe(true);
  });

  it("the relaxed module validates exactly where wasmgrad's relaxed-SIMD build does", () => {
    // relaxedSimdSupported() turns on Node 20/21's --experimental-wasm-relaxed-simd where it can.
    const supported = relaxedSimdSupported();
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
  it.runIf(relaxedSimdSupported())("runs the loop n times: the result is exactly 12 + 24·n·2^-20", () => {
    const p = new PeakProbe("relaxed");
    for (const n of [1, 2, 1000, 4096]) expect(p.run(n)).toBe(probeExpected("relaxed", n));
    const s = p.warmUp(0.2, 2).sample(1);
    expect(s.flops).toBe(p.iterationsPerCall * 192);
    expect(s.gflops).toBeGreaterThan(0);
  });
});

describe("probeForBackend", () => {
  it("picks the probe of the build wasmgrad runs", () => {
    expect(probeForBackend("wasm-simd128").probe.build).toBe("baseline");
    const relaxed = probeForBackend("wasm-simd128-relaxed");
    if (relaxedSimdSupported()) {
      expect(relaxed.probe.build).toBe("relaxed");
      expect(relaxed.note).toBeUndefined();
    } else {
      expect(relaxed.probe.build).toBe("baseline");
      expect(relaxed.note).toMatch(/did not validate/);
    }
  });

  it("knows the names the Wasm backend gives its builds", () => {
    expect(createWasmBackend(undefined, { simd: "baseline" }).description).toBe("wasm-simd128");
    if (relaxedSimdSupported()) expect(createWasmBackend(undefined, { simd: "relaxed" }).description).toBe("wasm-simd128-relaxed");
  });
});
