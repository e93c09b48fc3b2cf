// The benchmark report's target lines (bench/suite/report.ts): a miss always
// says by how much, in digits that show it, however close it came.

import { describe, expect, it } from "vitest";
import { atLeast, atMost, epochCoreNote, noiseFindings, type EpochSummary, type Results } from "../bench/suite/report.ts";

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

describe("the epoch target's note on core sharing", () => {
  const summary = (raws: { seconds: number; coreShares?: number[] }[]): EpochSummary => ({
    mode: "full", batchesPerRepeat: 235, repeats: raws.length, epochSeconds: 2.2, epochSecondsLow: 2, epochSecondsHigh: 2.7,
    imagesPerSecond: 27000, dataShare: 0.03, lastLoss: 0.5, lastAccuracy: 0.8,
    raw: raws.map((r) => ({ ...r, batches: 235, images: 60000, dataSeconds: 0.06 })),
  });

  it("counts the probe samples below 85% busy ÷ plain, overall and per timed epoch", () => {
    const note = epochCoreNote(summary([
      { seconds: 2.05, coreShares: [1.01, 0.99, 0.97] },
      { seconds: 2.72, coreShares: [0.62, 0.84, 0.86] },
    ]));
    expect(note).toBe(
      "the core was shared (busy probe < 85% of plain) in 2 of 6 probe samples taken between its batches " +
        "(by timed epoch: 2.05 s: 0/3, 2.72 s: 2/3)",
    );
  });

  it("says nothing when no samples were taken (--quick, other contenders)", () => {
    expect(epochCoreNote(summary([{ seconds: 2.1 }, { seconds: 2.2 }]))).toBeUndefined();
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
