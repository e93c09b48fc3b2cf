// The "Wasm vs JS, threads vs one" section: what it times, its table, and the
// speed-ups it states.

import { $, fmtInt } from "./dom.ts";
import { dataUrl } from "./environment.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

const BENCH_BATCHES = 4;
const BENCH_BATCH_SIZE = 256;

type BenchResult = Extract<FromWorker, { type: "bench-result" }>;

let rows: { backend: string; threads: number; imagesPerSecond: number }[] = [];

export function describeBenchmark(): void {
  $("bench-what").textContent =
    `Times ${BENCH_BATCHES} training steps of the dropout MLP (forward, backward, SGD; ${BENCH_BATCHES} batches of ` +
    `${BENCH_BATCH_SIZE} subset images = ${BENCH_BATCHES * BENCH_BATCH_SIZE} images) on each backend, after one untimed warm-up step; ` +
    "the Wasm backend on the Threads control's count and, when that is more than one, on one thread too. " +
    "The JS backend takes a few seconds.";
}

/** Clears the previous run's table and speed-ups, and returns the request that starts a new one. */
export function startBenchmark(threads: number): ToWorker {
  rows = [];
  $("bench-table").querySelector("tbody")!.replaceChildren();
  $("bench-ratio").textContent = "";
  delete $("bench-ratio").dataset.ratio;
  $("bench-threads").textContent = "";
  delete $("bench-threads").dataset.speedup;
  return { type: "bench", dataUrl: dataUrl("subset"), batches: BENCH_BATCHES, batchSize: BENCH_BATCH_SIZE, threads };
}

/** Adds a backend's timing to the table and states the speed-ups it makes known. True once the JS backend (timed last) is in. */
export function showBenchResult(m: BenchResult): boolean {
  const ips = m.images / m.seconds;
  rows.push({ backend: m.backend, threads: m.threads, imagesPerSecond: ips });
  const row = document.createElement("tr");
  row.dataset.backend = m.backend;
  row.innerHTML = `<td>${m.backend}</td><td>${fmtInt(m.images)}</td><td>${m.seconds.toFixed(2)}</td><td>${fmtInt(ips)}</td>`;
  $("bench-table").querySelector("tbody")!.append(row);
  const wasm = rows.find((r) => r.backend.startsWith("wasm"));
  const js = rows.find((r) => r.backend === "js");
  const wasmOne = rows.find((r) => r.backend.startsWith("wasm") && r.threads === 1);
  if (wasm && wasmOne && wasm !== wasmOne) {
    const speedup = wasm.imagesPerSecond / wasmOne.imagesPerSecond;
    const el = $("bench-threads");
    el.dataset.speedup = String(speedup);
    el.textContent = `${wasm.threads} threads are ${speedup.toFixed(2)}× as fast as one (bitwise the same results).`;
  }
  if (!js) return false;
  const ratio = wasm ? wasm.imagesPerSecond / js.imagesPerSecond : NaN;
  const el = $("bench-ratio");
  el.dataset.ratio = String(ratio);
  el.textContent = wasm ? `Wasm SIMD is ${ratio.toFixed(1)}× as fast as the JS backend.` : "This engine has no WebAssembly SIMD: only the JS backend ran.";
  return true;
}
