// The benchmark report's target lines (bench/suite/report.ts): a miss always
// says by how much, in digits that show it, however close it came.

import { describe, expect, it } from "vitest";
import { atLeast, atMost, noiseFindings, type Results } from "../bench/suite/report.ts";

describe("a target line", () => {
  it("is met on the boundary itself", () => {
    expect(atMost("eval", 0.15, 0.15, " s", 3).ok).toBe(true);
    expect(atLeast("gemm", 45, 45, " GFLOP/s").ok).toBe(true);
  });

  it("missed by a hair prints the digits that show the miss, not 'over by 0.000 s'", () => {
    const t = atMost("eval", 0.15043, 0.15, " s", 3);
    expect(t.ok).toBe(false);
    expect(t.measured).toBe("0.1504 s");
    expect(t.miss).toBe("over by 0.0004 s (0.3%; needs 1.003× less)");
    const g = atLeast("gemm", 44.97, 45, " GFLOP/s");
    expect(g.measured).toBe("44.97 GFLOP/s");
    expect(g.miss).toBe("short by 0.03 GFLOP/s (0.1%; needs 1.001×)");
  });

  it("missed clearly keeps the usual digits", () => {
    expect(atMost("epoch", 2.34, 2, " s").miss).toBe("over by 0.34 s (17%; needs 1.17× less)");
    expect(atLeast("gemm", 32.1, 45, " GFLOP/s").miss).toBe("short by 12.9 GFLOP/s (29%; needs 1.40×)");
  });

  it("is not measured when there is no figure", () => {
    expect(atMost("eval", undefined, 0.15, " s", 3)).toMatchObject({ ok: null, measured: "not measured" });
    expect(atLeast("gemm", NaN, 45, " GFLOP/s")).toMatchObject({ ok: null, measured: "not measured" });
  });
});

describe("noiseFindings", () => {
  const run = (load: number, low: number, high: number) =>
    ({
      loadAverage: { start: load, end: load },
      machine: { logicalCpus: 2 },
      gemm: [{ stats: { "wasmgrad-wasm": { low, high } } }],
    }) as unknown as Results;

  it("calls a run on an idle machine with close samples quiet", () => {
    expect(noiseFindings(run(0.2, 30, 33))).toEqual([]);
  });

  it("calls a loaded machine noisy, naming the load", () => {
    expect(noiseFindings(run(1.5, 30, 33))).toEqual(["load average 1.50 on 2 logical CPUs"]);
  });

  it("calls a cell whose samples lie far apart noisy, naming the spread", () => {
    expect(noiseFindings(run(0.2, 20, 40))).toEqual(["wasmgrad-wasm GEMM samples up to 2.00× apart within a cell"]);
  });
});
