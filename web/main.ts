// The demo page: controls, live charts (uPlot) and a grid of predictions. All
// training happens in worker.ts; this thread only draws what the worker reports.
// This file holds the page's state and routes the worker's messages to the
// sections that show them.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import { TrainingCharts, WeightDecayChart } from "./charts.ts";
import { applyUrlParams, offerFullSet, readSettings, setupThreadsControl, watchModelChoice } from "./controls.ts";
import { $, badge, fmt, fmtInt } from "./dom.ts";
import { checkIsolation, fullSetAvailable, simdSupported } from "./environment.ts";
import { addBatchTiming, endLiveSpeedup, resetLiveSpeedup, startLiveSpeedup } from "./live-speedup.ts";
import type { FromWorker, ToWorker, WorkerEnv } from "./protocol.ts";
import { setClassNames, showPredictions, showSamples } from "./samples.ts";
import { describeBenchmark, showBenchResult, startBenchmark } from "./speedup.ts";

const WD_LAMBDAS = [0, 3] as const;

const charts = new TrainingCharts();
const wdCharts = new Map(WD_LAMBDAS.map((l) => [l as number, new WeightDecayChart($(`wd-chart-${l}`))]));
let worker: Worker;
let env: WorkerEnv | null = null;
let busy = false;
let task = "";
let batchesPerEpoch = 1;
let epochsPlanned = 1;
let pendingWdDraw = false;
let autorunDone = false;
/** The thread count the backend badge shows: a run that times one thread against n changes it after its first batches. */
let shownThreads = 1;

// ---- the worker ---------------------------------------------------------------

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
  shownThreads = threads;
  const backend = !env?.backend.startsWith("wasm") ? "JS" : env.backend.endsWith("relaxed") ? "Wasm relaxed SIMD" : "Wasm SIMD";
  $("backend-name").textContent = `${backend}, ${threads} thread${threads === 1 ? "" : "s"}`;
}

function onWorkerMessage(m: FromWorker): void {
  switch (m.type) {
    case "env": {
      env = m;
      setClassNames(m.classNames);
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
      startLiveSpeedup(m.speedupPlan);
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
      if (m.timing.threads !== shownThreads) showBackend(m.timing.threads);
      addBatchTiming(m.timing);
      setStatus("training", `Epoch ${m.epoch} of ${epochsPlanned} · batch ${m.batch} of ${batchesPerEpoch}`);
      break;
    }
    case "epoch":
      charts.addEpoch(m);
      $("stat-loss").textContent = fmt(m.trainLoss);
      $("stat-train-acc").textContent = fmt(m.trainAcc);
      $("stat-test-acc").textContent = fmt(m.testAcc);
      // The epoch's figures in full, for comparing runs (the same on any thread count).
      $("stats").dataset.epochResult = JSON.stringify([m.epoch, m.trainLoss, m.trainAcc, m.testAcc]);
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
    case "bench-result":
      if (showBenchResult(m)) finish("Wasm vs JS timed");
      else setStatus("bench", "Timing the JS backend (slow)…");
      break;
    case "error":
      console.error(`wasmgrad demo: ${m.message}`);
      endLiveSpeedup();
      task = "error";
      setBusy(false);
      setStatus("error", `Error: ${m.message}`);
      break;
  }
}

// ---- controls -----------------------------------------------------------------

$<HTMLFormElement>("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  if (busy || !env) return;
  const s = readSettings(env.threadsAvailable);
  epochsPlanned = s.epochs;
  charts.reset(s.epochs);
  $<HTMLProgressElement>("progress").value = 0;
  for (const id of ["stat-epoch", "stat-loss", "stat-train-acc", "stat-test-acc", "stat-ips"]) $(id).textContent = "–";
  delete $("stats").dataset.epochResult;
  resetLiveSpeedup();
  send({ type: "train", settings: s }, "train");
  setStatus("loading", "Loading Fashion-MNIST…");
});

watchModelChoice();

$("stop").addEventListener("click", () => {
  worker.terminate();
  endLiveSpeedup();
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

describeBenchmark();
$("bench-run").addEventListener("click", () => {
  send(startBenchmark(readSettings(env?.threadsAvailable ?? false).threads), "bench");
  setStatus("bench", "Timing the Wasm backend…");
});

// ---- start ----------------------------------------------------------------------

async function main(): Promise<void> {
  applyUrlParams();
  badge("env-simd", simdSupported());
  $("grid").innerHTML = `<p class="empty">Train the network to see its predictions here.</p>`;
  setBusy(false);
  const [, full] = await Promise.all([checkIsolation(), fullSetAvailable()]);
  offerFullSet(full);
  startWorker();
}

void main();
