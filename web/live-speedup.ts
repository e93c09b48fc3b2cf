// The training view's live thread speed-up: images per second of the batches a
// run trains on n threads against those of its first batches, trained on one
// thread for the comparison. Both are timed in the worker (protocol.ts
// BatchTiming), each without its warm-up batches, and each is the median batch
// (other work on the machine makes single batches slow at random); the n-thread
// median takes in every counted batch so far, so it settles as training goes.

import { $, fmtInt } from "./dom.ts";
import type { BatchTiming, SpeedupPlan } from "./protocol.ts";

/** Counted batches on one thread count: each one's seconds per image, and the first and last step. */
interface Span {
  secondsPerImage: number[];
  first: number;
  last: number;
}

type NoPlan = Extract<SpeedupPlan, { kind: "none" }>;

/** What the page says instead of a number, and why. */
function noSpeedup(p: NoPlan): string {
  switch (p.why) {
    case "one-thread":
      return "One thread: nothing to compare. Set Threads to 2 or more to see the speed-up live.";
    case "not-isolated":
      return "One thread: this page is not cross-origin isolated, so threads are unavailable.";
    case "js-backend":
      return "One thread: the JS backend (this engine has no WebAssembly SIMD) has no threads.";
    case "too-short":
      return `${p.threads} threads, no speed-up shown: this run is too short to spare batches for timing one thread.`;
  }
}

let plan: SpeedupPlan | null = null;
let one: Span | null = null;
let many: Span | null = null;
let manyThreads = 1;

/** Images per second of the median batch. */
function rate(s: Span): number {
  const sorted = [...s.secondsPerImage].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return 1 / (sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2);
}
const range = (s: Span) => (s.first === s.last ? `batch ${s.first}` : `batches ${s.first}–${s.last}`);

function show(state: string, stat: string, text: string, speedup?: number): void {
  const el = $("live-speedup");
  el.dataset.state = state;
  el.textContent = text;
  if (speedup === undefined) delete el.dataset.speedup;
  else el.dataset.speedup = String(speedup);
  $("stat-speedup").textContent = stat;
}

function add(span: Span | null, t: BatchTiming): Span {
  if (!span) return { secondsPerImage: [t.seconds / t.images], first: t.step, last: t.step };
  span.secondsPerImage.push(t.seconds / t.images);
  span.last = t.step;
  return span;
}

/** A new run: nothing known until the worker says how it will time its threads. */
export function resetLiveSpeedup(): void {
  plan = null;
  one = many = null;
  show("idle", "–", "");
}

/** The run ended early (stopped, or an error): a speed-up still being timed is cleared, a measured one stays. */
export function endLiveSpeedup(): void {
  const state = $("live-speedup").dataset.state;
  if (state === "calibrating" || state === "warming") resetLiveSpeedup();
  plan = null;
}

/** The worker's plan for this run (its start message). */
export function startLiveSpeedup(p: SpeedupPlan): void {
  plan = p;
  one = many = null;
  if (p.kind === "none") show("none", p.threads === 1 ? "1 thread" : "–", noSpeedup(p));
  else show("calibrating", "…", `Timing one thread on batches 1–${p.oneThreadBatches} to compare with ${p.threads} threads (the results are the same on any count)…`);
}

/** A batch's timing: updates the speed-up once both one thread and n threads have counted batches. */
export function addBatchTiming(t: BatchTiming): void {
  if (plan?.kind !== "measure") return;
  const calibrating = t.step <= plan.oneThreadBatches;
  if (calibrating) {
    if (t.counted) one = add(one, t);
    return;
  }
  if (t.threads === 1) {
    show("none", "1 thread", `One thread: the ${plan.threads} threads asked for did not start.`);
    return;
  }
  if (t.counted) {
    many = add(many, t);
    manyThreads = t.threads;
  }
  if (!one) return;
  if (!many) {
    show("warming", "…", `Starting ${t.threads} threads… (one thread: ${fmtInt(rate(one))} images/s on ${range(one)})`);
    return;
  }
  const speedup = rate(many) / rate(one);
  show(
    "measured",
    `${speedup.toFixed(2)}×`,
    `${manyThreads} threads: ${speedup.toFixed(2)}× one thread (median batch: ${fmtInt(rate(many))} images/s on ${manyThreads} threads, ` +
      `${range(many)}; ${fmtInt(rate(one))} on one, ${range(one)})`,
    speedup,
  );
}
