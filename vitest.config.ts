import { defineConfig } from "vitest/config";

// Two projects. "auto": every test on the build the library picks by itself
// (relaxed SIMD wherever the engine runs it: Node 20+ and Chrome 114+). "baseline":
// the files that exercise GEMM, the one kernel family whose code differs between
// the builds, again on the baseline-SIMD build that engines without relaxed SIMD
// (and WASMGRAD_SIMD=baseline) get.
const BASELINE_FILES = [
  "test/gemm.test.ts",
  "test/threads.test.ts",
  "test/determinism.test.ts",
  "test/parity.test.ts",
  "test/autograd.test.ts",
  "test/relaxed-simd.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "auto", include: ["test/**/*.test.ts"] } },
      { extends: true, test: { name: "baseline", include: BASELINE_FILES, env: { WASMGRAD_SIMD: "baseline" } } },
    ],
  },
});
