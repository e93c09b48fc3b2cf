// The settings form: reading it into TrainSettings, presetting it from the URL,
// and fitting its controls to what the worker and server offer.

import { $, input } from "./dom.ts";
import { dataUrl } from "./environment.ts";
import type { DatasetName, TrainSettings, WorkerEnv } from "./protocol.ts";

const SAMPLES = 24; // two rows of twelve

/** The form's settings, each clamped to its range. threadsAvailable: false makes it one thread whatever the control says. */
export function readSettings(threadsAvailable: boolean): TrainSettings {
  const num = (id: string, min: number, max: number, fallback: number) => {
    const v = Number(input(id).value);
    return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
  };
  return {
    dataUrl: dataUrl($<HTMLSelectElement>("dataset").value as DatasetName),
    model: $<HTMLSelectElement>("model").value === "lenet" ? "lenet" : "mlp",
    dropout: [num("dropout1", 0, 0.99, 0.2), num("dropout2", 0, 0.99, 0.5)],
    lr: num("lr", 0, 100, 0.5),
    weightDecay: num("weight-decay", 0, 10, 0),
    l1: num("l1", 0, 10, 0),
    batchSize: Math.round(num("batch-size", 1, 65536, 256)),
    epochs: Math.round(num("epochs", 1, 1000, 10)),
    seed: 0,
    samples: SAMPLES,
    threads: threadsAvailable ? Math.round(num("threads", 1, 64, 1)) : 1,
  };
}

/** Controls can be preset from the URL: ?epochs=3&lr=0.1&dataset=full&autorun */
export function applyUrlParams(): void {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of params) {
    const el = document.getElementById(key);
    if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) el.value = value;
  }
}

/** LeNet trains with the book's lr 0.9 and no dropout or penalties: choosing it sets the MLP's controls aside. */
export function watchModelChoice(): void {
  $<HTMLSelectElement>("model").addEventListener("change", (event) => {
    const lenet = (event.target as HTMLSelectElement).value === "lenet";
    input("lr").value = lenet ? "0.9" : "0.5";
    for (const id of ["dropout1", "dropout2", "weight-decay", "l1"]) input(id).disabled = lenet;
  });
}

/** The dataset control offers the full set only when the server has it. */
export function offerFullSet(full: boolean): void {
  const dataset = $<HTMLSelectElement>("dataset");
  const option = dataset.querySelector<HTMLOptionElement>("option[value=full]")!;
  if (!full) {
    option.disabled = true;
    option.textContent += " (not on this server)";
    option.title = "npm run web serves the full set when this machine has it ($FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)";
    if (dataset.value === "full") dataset.value = "subset";
  }
  $("controls").dataset.fullSet = String(full);
}

/** Threads a run takes unless the page's control says otherwise: the logical cores, at most 8. */
function defaultThreads(cores: number): number {
  return Math.max(1, Math.min(8, cores));
}

/** The threads control: enabled on a cross-origin isolated page (the worker can share its memory), up to the cores. */
export function setupThreadsControl(e: WorkerEnv): void {
  const el = input("threads");
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  el.max = String(Math.min(64, Math.max(cores, Number(el.value) || 1)));
  el.title = e.threadsAvailable
    ? `Threads for the matrix products (Web Workers over one shared memory; this machine reports ${cores} logical cores). ` +
      "Results are bitwise the same for every count."
    : e.backend.startsWith("wasm")
      ? "Threads need a cross-origin isolated page (Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)."
      : "Threads need the Wasm backend (this engine has no WebAssembly SIMD).";
  el.closest("label")!.title = el.title;
  if (!e.threadsAvailable) el.value = "1";
  // Threads by default: one per logical core, at most 8 (past that an epoch gains little), unless the URL set a count.
  else if (!new URLSearchParams(location.search).has("threads")) el.value = String(defaultThreads(cores));
}
