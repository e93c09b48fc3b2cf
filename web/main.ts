// The demo page: controls, live charts (uPlot) and a grid of predictions. All
// training happens in worker.ts; this thread only draws what the worker reports.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import type { DatasetName, EpochMessage, FromWorker, ToWorker, TrainSettings, WorkerEnv } from "./protocol.ts";

const SAMPLES = 24; // two rows of twelve
const BENCH_BATCHES = 4;
const BENCH_BATCH_SIZE = 256;
const WD_LAMBDAS = [0, 3] as const;
const COLORS = { loss: "#2563eb", trainAcc: "#9333ea", testAcc: "#16a34a", wdTrain: "#2563eb", wdTest: "#ea580c" };

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const fmtInt = (x: number) => Math.round(x).toLocaleString("en-US");

// ---- environment ------------------------------------------------------------

/** 128-bit SIMD in this engine? (A one-function module using v128, as wasm-feature-detect checks it.) */
function simdSupported(): boolean {
  const bytes = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
  return typeof WebAssembly === "object" && WebAssembly.validate(new Uint8Array(bytes));
}

function badge(id: string, ok: boolean, title?: string): void {
  const el = $(id);
  el.dataset.ok = String(ok);
  if (title) el.title = title;
}

/**
 * Reports cross-origin isolation. When the page is not isolated it says which of the
 * two headers the server did not send: once on the console and once on the page.
 */
async function checkIsolation(): Promise<void> {
  const isolated = window.crossOriginIsolated === true;
  const sab = typeof SharedArrayBuffer === "function";
  badge("env-isolated", isolated, isolated ? "COOP same-origin + COEP require-corp: threads available" : "Threads need the COOP and COEP headers");
  badge("env-sab", sab);
  if (isolated) return;
  const wanted: [string, string, string[]][] = [
    ["Cross-Origin-Opener-Policy", "same-origin", ["same-origin"]],
    ["Cross-Origin-Embedder-Policy", "require-corp", ["require-corp", "credentialless"]],
  ];
  let missing = wanted.map(([name, value]) => `${name}: ${value}`);
  try {
    const response = await fetch(location.href, { method: "HEAD", cache: "no-store" });
    missing = wanted
      .filter(([name, , accepted]) => !accepted.includes(response.headers.get(name)?.trim().toLowerCase() ?? ""))
      .map(([name, value]) => `${name}: ${value}`);
  } catch {
    // Keep both: we could not see the headers.
  }
  const why = missing.length
    ? `the server did not send ${missing.join(" and ")}`
    : "the headers are sent, but the page is not a secure context (use https or localhost)";
  console.warn(
    `wasmgrad demo: this page is not cross-origin isolated: ${why}. SharedArrayBuffer is unavailable, ` +
      "so training runs on one thread (`npm run web` sends both headers).",
  );
  const note = $("isolation-note");
  note.textContent = `Not cross-origin isolated: ${why}. Training runs on one thread; threads need both headers.`;
  note.hidden = false;
}

/** Is the full Fashion-MNIST on this server? data/datasets.json says (`npm run web` serves it when the machine has it). */
async function fullSetAvailable(): Promise<boolean> {
  try {
    const response = await fetch(new URL("data/datasets.json", document.baseURI), { cache: "no-store" });
    return response.ok && (await response.json()).full === true;
  } catch {
    return false;
  }
}

function dataUrl(name: DatasetName): string {
  return new URL(`data/${name === "full" ? "fashion-mnist" : "fashion-mnist-subset"}/`, document.baseURI).href;
}

// ---- charts -----------------------------------------------------------------

function chartWidth(el: HTMLElement): number {
  return Math.max(240, Math.floor(el.clientWidth));
}

function makeChart(el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData): uPlot {
  const chart = new uPlot({ width: chartWidth(el), height: 230, legend: { live: false }, ...opts }, data, el);
  new ResizeObserver(() => {
    const width = chartWidth(el);
    if (width !== chart.width) chart.setSize({ width, height: 230 });
  }).observe(el);
  return chart;
}

/** A log axis with a tick at every decade (every few decades when the range is wide), labelled 1e-n. */
const decadeAxis = (label: string): uPlot.Axis => ({
  label,
  labelSize: 20,
  size: 56,
  splits: (_u, _axis, min, max) => {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.ceil(Math.log10(max));
    const step = Math.max(1, Math.ceil((hi - lo) / 6));
    const out: number[] = [];
    for (let e = hi; e >= lo; e -= step) out.unshift(10 ** e);
    return out;
  },
  // Keep every split (uPlot's default filter for log axes blanks some of them).
  filter: (_u, splits) => splits,
  values: (_u, splits) =>
    splits.map((v) => {
      const e = Math.round(Math.log10(v));
      return e >= -2 && e <= 3 ? String(10 ** e) : `1e${e}`;
    }),
});

const line = (label: string, stroke: string, extra: Partial<uPlot.Series> = {}): uPlot.Series => ({
  label, stroke, width: 2, points: { show: false }, ...extra,
});

/** Train loss and accuracy at fractional epochs (as d2l's Animator plots them), test accuracy at each epoch's end. */
class TrainingCharts {
  xs: number[] = [];
  loss: (number | null)[] = [];
  trainAcc: (number | null)[] = [];
  testAcc: (number | null)[] = [];
  epochs = 10;
  readonly lossChart: uPlot;
  readonly accChart: uPlot;

  constructor() {
    const xScale: uPlot.Scale = { time: false, range: (_u, _min, max) => [0, Math.max(this.epochs, max)] };
    const xAxis: uPlot.Axis = { label: "epoch", labelSize: 20 };
    this.lossChart = makeChart($("loss-chart"), {
      scales: { x: xScale, y: { range: (_u, _min, max) => [0, Math.max(0.5, Math.ceil((max || 2.5) * 4) / 4)] } },
      axes: [xAxis, { label: "cross-entropy", labelSize: 20 }],
      series: [{ label: "epoch", value: (_u, v) => (v == null ? "–" : v.toFixed(2)) }, line("train loss", COLORS.loss, { value: (_u, v) => fmt(v) })],
    }, [[], []]);
    this.accChart = makeChart($("acc-chart"), {
      scales: { x: xScale, y: { range: [0, 1] } },
      axes: [xAxis, { label: "accuracy", labelSize: 20 }],
      series: [
        { label: "epoch", value: (_u, v) => (v == null ? "–" : v.toFixed(2)) },
        line("train acc", COLORS.trainAcc, { dash: [6, 4], value: (_u, v) => fmt(v) }),
        line("test acc", COLORS.testAcc, { spanGaps: true, points: { show: true, size: 7 }, value: (_u, v) => fmt(v) }),
      ],
    }, [[], [], []]);
  }

  reset(epochs: number): void {
    this.epochs = epochs;
    this.xs = [];
    this.loss = [];
    this.trainAcc = [];
    this.testAcc = [];
    this.redraw();
  }

  addBatch(x: number, loss: number, acc: number): void {
    this.xs.push(x);
    this.loss.push(loss);
    this.trainAcc.push(acc);
    this.testAcc.push(null);
    this.redraw();
  }

  addEpoch(e: EpochMessage): void {
    const last = this.xs.length - 1;
    if (last >= 0 && this.xs[last] === e.epoch) {
      this.loss[last] = e.trainLoss;
      this.trainAcc[last] = e.trainAcc;
      this.testAcc[last] = e.testAcc;
    } else {
      this.xs.push(e.epoch);
      this.loss.push(e.trainLoss);
      this.trainAcc.push(e.trainAcc);
      this.testAcc.push(e.testAcc);
    }
    this.redraw();
  }

  private redraw(): void {
    this.lossChart.setData([this.xs, this.loss]);
    this.accChart.setData([this.xs, this.trainAcc, this.testAcc]);
    $("loss-chart").dataset.points = String(this.xs.length);
    $("acc-chart").dataset.points = String(this.testAcc.filter((v) => v !== null).length);
  }
}

/** The weight-decay experiment's train and test loss on a log scale, one chart per λ. */
class WeightDecayChart {
  xs: number[] = [];
  train: number[] = [];
  test: number[] = [];
  readonly chart: uPlot;
  constructor(readonly el: HTMLElement) {
    this.chart = makeChart(el, {
      scales: { x: { time: false, range: [0, 100] }, y: { distr: 3, log: 10 } },
      axes: [{ label: "epoch", labelSize: 20 }, decadeAxis("squared loss")],
      series: [
        { label: "epoch" },
        line("train", COLORS.wdTrain, { value: (_u, v) => (v == null ? "–" : v.toExponential(2)) }),
        line("test", COLORS.wdTest, { dash: [6, 4], value: (_u, v) => (v == null ? "–" : v.toExponential(2)) }),
      ],
    }, [[], [], []]);
  }
  reset(): void {
    this.xs = [];
    this.train = [];
    this.test = [];
    this.redraw();
  }
  add(epoch: number, train: number, test: number): void {
    this.xs.push(epoch);
    this.train.push(train);
    this.test.push(test);
  }
  redraw(): void {
    this.chart.setData([this.xs, this.train, this.test]);
    this.el.dataset.points = String(this.xs.length);
  }
}

// ---- the test-image grid ----------------------------------------------------

let classNames: readonly string[] = [];
let sampleLabels: number[] = [];

function showSamples(images: Uint8Array, labels: number[]): void {
  sampleLabels = labels;
  const grid = $("grid");
  grid.replaceChildren();
  labels.forEach((label, i) => {
    const card = document.createElement("figure");
    card.className = "sample";
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    const ctx = canvas.getContext("2d")!;
    const pixels = ctx.createImageData(28, 28);
    for (let p = 0; p < 28 * 28; p++) {
      // Dark garments on a light card: the inverse of the IDX intensities.
      const v = 255 - images[i * 784 + p]!;
      pixels.data.set([v, v, v, 255], p * 4);
    }
    ctx.putImageData(pixels, 0, 0);
    const caption = document.createElement("figcaption");
    caption.innerHTML = `<span class="pred">…</span><span class="true">${classNames[label] ?? label}</span>`;
    card.append(canvas, caption);
    grid.append(card);
  });
}

function showPredictions(predictions: number[]): void {
  const cards = $("grid").querySelectorAll<HTMLElement>(".sample");
  let wrong = 0;
  predictions.forEach((pred, i) => {
    const card = cards[i];
    if (!card) return;
    const ok = pred === sampleLabels[i];
    if (!ok) wrong++;
    card.classList.toggle("wrong", !ok);
    card.classList.toggle("right", ok);
    card.querySelector(".pred")!.textContent = `${ok ? "✓" : "✗"} ${classNames[pred] ?? pred}`;
  });
  $("grid").dataset.wrong = String(wrong);
}

// ---- the worker ---------------------------------------------------------------

const charts = new TrainingCharts();
const wdCharts = new Map(WD_LAMBDAS.map((l) => [l as number, new WeightDecayChart($(`wd-chart-${l}`))]));
let worker: Worker;
let env: WorkerEnv | null = null;
let busy = false;
let task = "";
let batchesPerEpoch = 1;
let epochsPlanned = 1;
let benchRows: { backend: string; threads: number; imagesPerSecond: number }[] = [];
let pendingWdDraw = false;
let autorunDone = false;

function setStatus(state: string, text: string): void {
  const el = $("status");
  el.dataset.state = state;
  el.dataset.task = task;
  el.textContent = text;
}

function setBusy(b: boolean): void {
  busy = b;
  const ready = env !== null;
  $<HTMLButtonElement>("train").disabled = b || !ready;
  $<HTMLButtonElement>("wd-run").disabled = b || !ready;
  $<HTMLButtonElement>("bench-run").disabled = b || !ready;
  $<HTMLButtonElement>("stop").disabled = !b;
  for (const el of $("controls").querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")) {
    el.disabled = b || (el.id === "threads" && !env?.threadsAvailable);
  }
}

function send(message: ToWorker, what: string): void {
  task = what;
  setBusy(true);
  worker.postMessage(message);
}

function finish(text: string): void {
  setBusy(false);
  setStatus("done", text);
}

function startWorker(): void {
  worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "wasmgrad-training" });
  worker.onmessage = (event: MessageEvent<FromWorker>) => onWorkerMessage(event.data);
  worker.onerror = (event) => {
    task = "error";
    setStatus("error", `Worker error: ${event.message || "could not start"}`);
    setBusy(false);
  };
}

function showBackend(threads: number): void {
  const backend = !env?.backend.startsWith("wasm") ? "JS" : env.backend.endsWith("relaxed") ? "Wasm relaxed SIMD" : "Wasm SIMD";
  $("backend-name").textContent = `${backend}, ${threads} thread${threads === 1 ? "" : "s"}`;
}

/** Threads a run takes unless the page's control says otherwise: the logical cores, at most 8. */
function defaultThreads(cores: number): number {
  return Math.max(1, Math.min(8, cores));
}

/** The threads control: enabled on a cross-origin isolated page (the worker can share its memory), up to the cores. */
function setupThreadsControl(e: WorkerEnv): void {
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

function onWorkerMessage(m: FromWorker): void {
  switch (m.type) {
    case "env": {
      env = m;
      classNames = m.classNames;
      badge("env-simd", m.simd, m.simd ? "128-bit SIMD available" : "No WebAssembly SIMD: training uses the JS backend");
      showBackend(m.threads);
      setupThreadsControl(m);
      badge("env-backend", m.backend.startsWith("wasm"), `wasmgrad backend: ${m.backend}`);
      $("env-backend").dataset.backend = m.backend;
      task = "";
      setBusy(false);
      setStatus("ready", "Ready");
      if (!autorunDone && new URLSearchParams(location.search).has("autorun")) {
        autorunDone = true;
        $<HTMLFormElement>("controls").requestSubmit();
      }
      break;
    }
    case "loading":
      setStatus("loading", "Loading Fashion-MNIST…");
      break;
    case "start":
      showBackend(m.threads);
      batchesPerEpoch = m.batchesPerEpoch;
      setStatus("training", `Training on ${fmtInt(m.trainSize)} images, testing on ${fmtInt(m.testSize)}`);
      showSamples(m.sampleImages, m.sampleLabels);
      break;
    case "batch": {
      const every = Math.max(1, Math.ceil(m.total / 8));
      if (m.batch % every === 0 || m.batch === m.total) charts.addBatch(m.epoch - 1 + m.batch / m.total, m.trainLoss, m.trainAcc);
      $<HTMLProgressElement>("progress").value = (m.epoch - 1 + m.batch / m.total) / epochsPlanned;
      $("stat-epoch").textContent = `${m.epoch} / ${epochsPlanned}`;
      $("stat-loss").textContent = fmt(m.trainLoss);
      $("stat-train-acc").textContent = fmt(m.trainAcc);
      $("stat-ips").textContent = fmtInt(m.imagesPerSecond);
      setStatus("training", `Epoch ${m.epoch} of ${epochsPlanned} · batch ${m.batch} of ${batchesPerEpoch}`);
      break;
    }
    case "epoch":
      charts.addEpoch(m);
      $("stat-loss").textContent = fmt(m.trainLoss);
      $("stat-train-acc").textContent = fmt(m.trainAcc);
      $("stat-test-acc").textContent = fmt(m.testAcc);
      $("stat-ips").textContent = fmtInt(m.imagesPerSecond);
      showPredictions(m.predictions);
      break;
    case "done":
      $<HTMLProgressElement>("progress").value = 1;
      finish(`Done: ${epochsPlanned} epoch${epochsPlanned === 1 ? "" : "s"} in ${m.seconds.toFixed(1)} s`);
      break;
    case "wd-epoch": {
      wdCharts.get(m.lambd)?.add(m.epoch, m.trainLoss, m.testLoss);
      if (!pendingWdDraw) {
        pendingWdDraw = true;
        requestAnimationFrame(() => {
          pendingWdDraw = false;
          for (const c of wdCharts.values()) c.redraw();
        });
      }
      setStatus("weight-decay", `Weight decay: λ = ${m.lambd}, epoch ${m.epoch} of 100`);
      break;
    }
    case "wd-done": {
      wdCharts.get(m.lambd)?.redraw();
      const summary = $(`wd-summary-${m.lambd}`);
      summary.dataset.trainLoss = String(m.trainLoss);
      summary.dataset.testLoss = String(m.testLoss);
      summary.textContent =
        `train ${m.trainLoss.toExponential(2)} · test ${m.testLoss.toExponential(2)} · ‖w‖ ${m.wNorm.toFixed(3)} · ${m.seconds.toFixed(2)} s`;
      if (m.lambd === WD_LAMBDAS[WD_LAMBDAS.length - 1]) finish("Weight-decay experiment done");
      break;
    }
    case "bench-result": {
      const ips = m.images / m.seconds;
      benchRows.push({ backend: m.backend, threads: m.threads, imagesPerSecond: ips });
      const row = document.createElement("tr");
      row.dataset.backend = m.backend;
      row.innerHTML = `<td>${m.backend}</td><td>${fmtInt(m.images)}</td><td>${m.seconds.toFixed(2)}</td><td>${fmtInt(ips)}</td>`;
      $("bench-table").querySelector("tbody")!.append(row);
      const wasm = benchRows.find((r) => r.backend.startsWith("wasm"));
      const js = benchRows.find((r) => r.backend === "js");
      const wasmOne = benchRows.find((r) => r.backend.startsWith("wasm") && r.threads === 1);
      if (wasm && wasmOne && wasm !== wasmOne) {
        const speedup = wasm.imagesPerSecond / wasmOne.imagesPerSecond;
        const el = $("bench-threads");
        el.dataset.speedup = String(speedup);
        el.textContent = `${wasm.threads} threads are ${speedup.toFixed(2)}× as fast as one (bitwise the same results).`;
      }
      if (js) {
        const ratio = wasm ? wasm.imagesPerSecond / js.imagesPerSecond : NaN;
        const el = $("bench-ratio");
        el.dataset.ratio = String(ratio);
        el.textContent = wasm ? `Wasm SIMD is ${ratio.toFixed(1)}× as fast as the JS backend.` : "This engine has no WebAssembly SIMD: only the JS backend ran.";
        finish("Wasm vs JS timed");
      } else {
        setStatus("bench", "Timing the JS backend (slow)…");
      }
      break;
    }
    case "error":
      console.error(`wasmgrad demo: ${m.message}`);
      task = "error";
      setBusy(false);
      setStatus("error", `Error: ${m.message}`);
      break;
  }
}

// ---- controls -----------------------------------------------------------------

function settings(): TrainSettings {
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
    threads: env?.threadsAvailable ? Math.round(num("threads", 1, 64, 1)) : 1,
  };
}

/** Controls can be preset from the URL: ?epochs=3&lr=0.1&dataset=full&autorun */
function applyUrlParams(): void {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of params) {
    const el = document.getElementById(key);
    if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) el.value = value;
  }
}

$<HTMLFormElement>("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  if (busy || !env) return;
  const s = settings();
  epochsPlanned = s.epochs;
  charts.reset(s.epochs);
  $<HTMLProgressElement>("progress").value = 0;
  for (const id of ["stat-epoch", "stat-loss", "stat-train-acc", "stat-test-acc", "stat-ips"]) $(id).textContent = "–";
  send({ type: "train", settings: s }, "train");
  setStatus("loading", "Loading Fashion-MNIST…");
});

// LeNet trains with the book's lr 0.9 and no dropout or penalties: the MLP's controls are set aside.
$<HTMLSelectElement>("model").addEventListener("change", (event) => {
  const lenet = (event.target as HTMLSelectElement).value === "lenet";
  input("lr").value = lenet ? "0.9" : "0.5";
  for (const id of ["dropout1", "dropout2", "weight-decay", "l1"]) input(id).disabled = lenet;
});

$("stop").addEventListener("click", () => {
  worker.terminate();
  env = null;
  task = "stopped";
  setBusy(false);
  setStatus("stopped", "Stopped · restarting the worker…");
  startWorker();
});

$("wd-run").addEventListener("click", () => {
  for (const c of wdCharts.values()) c.reset();
  for (const l of WD_LAMBDAS) $(`wd-summary-${l}`).textContent = "";
  send({ type: "weight-decay", lambdas: [...WD_LAMBDAS] }, "weight-decay");
  setStatus("weight-decay", "Weight decay: λ = 0…");
});

$("bench-what").textContent =
  `Times ${BENCH_BATCHES} training steps of the dropout MLP (forward, backward, SGD; ${BENCH_BATCHES} batches of ` +
  `${BENCH_BATCH_SIZE} subset images = ${BENCH_BATCHES * BENCH_BATCH_SIZE} images) on each backend, after one untimed warm-up step; ` +
  "the Wasm backend on the Threads control's count and, when that is more than one, on one thread too. " +
  "The JS backend takes a few seconds.";
$("bench-run").addEventListener("click", () => {
  benchRows = [];
  $("bench-table").querySelector("tbody")!.replaceChildren();
  $("bench-ratio").textContent = "";
  delete $("bench-ratio").dataset.ratio;
  $("bench-threads").textContent = "";
  delete $("bench-threads").dataset.speedup;
  send({ type: "bench", dataUrl: dataUrl("subset"), batches: BENCH_BATCHES, batchSize: BENCH_BATCH_SIZE, threads: settings().threads }, "bench");
  setStatus("bench", "Timing the Wasm backend…");
});

// ---- start ----------------------------------------------------------------------

async function main(): Promise<void> {
  applyUrlParams();
  badge("env-simd", simdSupported());
  $("grid").innerHTML = `<p class="empty">Train the network to see its predictions here.</p>`;
  setBusy(false);
  const [, full] = await Promise.all([checkIsolation(), fullSetAvailable()]);
  const option = $<HTMLSelectElement>("dataset").querySelector<HTMLOptionElement>("option[value=full]")!;
  if (!full) {
    option.disabled = true;
    option.textContent += " (not on this server)";
    option.title = "npm run web serves the full set when this machine has it ($FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)";
    if ($<HTMLSelectElement>("dataset").value === "full") $<HTMLSelectElement>("dataset").value = "subset";
  }
  $("controls").dataset.fullSet = String(full);
  startWorker();
}

void main();
