// The benchmark report's target lines (bench/suite/report.ts): a miss always
// says by how much, in digits that show it, however close it came.

import { describe, expect, it } from "vitest";
import { atLeast, atMost } from "../bench/suite/report.ts";

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
