// The suite's results: their shape (bench/results.json), the issue's targets
// checked against them, and the markdown report (bench/RESULTS.md). What each
// figure means and how it is taken: docs/benchmark-design.md.

import { median } from "../stats.ts";

export const CONTENDERS = ["wasmgrad-wasm", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"] as const;
export type ContenderName = (typeof CONTENDERS)[number];
/** GEMM columns: the contenders, plus wasmgrad-wasm measured through its allocating op. */
export const GEMM_ENTRIES = ["wasmgrad-wasm", "wasmgrad-wasm op", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"] as const;
export type GemmEntry = (typeof GEMM_ENTRIES)[number];

export interface GemmStat {
  /** GFLOP/s of the median sample, and of the slowest and fastest sample. */
  gflops: number;
  low: number;
  high: number;
  samples: number;
  repsPerSample: number;
  error?: string;
}

export interface GemmCell {
  m: number;
  k: number;
  n: number;
  layout: "NN" | "NT" | "TN";
  stats: Partial<Record<GemmEntry, GemmStat>>;
}

export interface EpochSummary {
  /** "full" epochs, or "partial": a fixed number of batches per repeat, extrapolated to the epoch. */
  mode: "full" | "partial";
  batchesPerRepeat: number;
  repeats: number;
  /** Median seconds per epoch (extrapolated by images when partial), and the range over repeats. */
  epochSeconds: number;
  epochSecondsLow: number;
  epochSecondsHigh: number;
  imagesPerSecond: number;
  /** Median share of the time spent taking batches from the loader. */
  dataShare: number;
  lastLoss: number;
  lastAccuracy: number;
  raw: { seconds: number; batches: number; images: number; dataSeconds: number; highWater?: number }[];
}

export interface EvalSummary {
  mode: "full" | "partial";
  batchesPerRepeat: number;
  repeats: number;
  /** Median seconds for the whole test set (extrapolated by images when partial). */
  seconds: number;
  imagesPerSecond: number;
  accuracy: number;
}

type PerContender<T> = Partial<Record<ContenderName, T>>;

export interface TrainingResult {
  trainSize: number;
  testSize: number;
  batchesPerEpoch: number;
  epoch: PerContender<EpochSummary>;
  eval: PerContender<EvalSummary>;
  peakRssBytes: PerContender<number>;
  /** Peak RSS once the data was loaded and the model built, before any training. */
  peakRssAfterLoadBytes: PerContender<number>;
  rssAtEndBytes: PerContender<number>;
  /** wasmgrad-wasm's memoryStats().highWater after the warm-up and after each timed epoch. */
  highWater: { afterWarmup: number; afterEpoch: number[] } | null;
  memoryStats?: Record<string, number>;
  errors: PerContender<string>;
}

export interface Target {
  what: string;
  target: string;
  measured: string;
  /** true ✓, false ✗, null: not measured in this run. */
  ok: boolean | null;
  miss?: string;
  note?: string;
}

export interface Results {
  date: string;
  mode: "full" | "quick";
  command: string;
  threads: number;
  machine: { cpu: string; cpuDetail: string; logicalCpus: number; memoryGiB: number; os: string };
  versions: Record<string, string>;
  contenders: PerContender<{ threads: number; versions: Record<string, string> }>;
  data: { dir: string; full: boolean; note?: string };
  notes: string[];
  gemm: GemmCell[] | null;
  training: TrainingResult | null;
  targets: Target[];
  seconds: number;
  phaseSeconds: { gemm?: number; training?: number };
  /** 1-minute load average when the run started and ended. */
  loadAverage: { start: number; end: number };
}

// ---- targets -----------------------------------------------------------------

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const MiB = 1024 * 1024;

/**
 * Digits enough (from `d`, at most 3 more) that a measurement on the wrong side
 * of its target does not print as the target itself ("0.150 s, over by 0.000 s").
 */
function digitsApart(measured: number, bound: number, d: number): number {
  let digits = d;
  while (digits < d + 3 && measured !== bound && Number(fmt(measured, digits)) === Number(fmt(bound, digits))) digits++;
  return digits;
}

/** A miss as a percentage of the target: whole percents, or one decimal below 1%. */
const missPercent = (miss: number, bound: number) => {
  const pct = (100 * miss) / bound;
  return pct < 1 ? fmt(pct, 1) : fmt(pct, 0);
};

/** A factor > 1 with two decimals, or three where two would print 1.00. */
const factor = (x: number) => (fmt(x, 2) === "1.00" ? fmt(x, 3) : fmt(x, 2));

/** At least `min`: ✓, or ✗ with how far short. */
export function atLeast(what: string, measured: number | undefined, min: number, unit: string, d = 1, note?: string): Target {
  if (measured === undefined || !Number.isFinite(measured)) return { what, target: `≥ ${min}${unit}`, measured: "not measured", ok: null, note };
  const ok = measured >= min;
  const dd = ok ? d : digitsApart(measured, min, d);
  return {
    what, target: `≥ ${min}${unit}`, measured: `${fmt(measured, dd)}${unit}`, ok, note,
    miss: ok ? undefined : `short by ${fmt(min - measured, dd)}${unit} (${missPercent(min - measured, min)}%; needs ${factor(min / measured)}×)`,
  };
}

/** At most `max`: ✓, or ✗ with how far over. */
export function atMost(what: string, measured: number | undefined, max: number, unit: string, d = 2, note?: string): Target {
  if (measured === undefined || !Number.isFinite(measured)) return { what, target: `≤ ${max}${unit}`, measured: "not measured", ok: null, note };
  const ok = measured <= max;
  const dd = ok ? d : digitsApart(measured, max, d);
  return {
    what, target: `≤ ${max}${unit}`, measured: `${fmt(measured, dd)}${unit}`, ok, note,
    miss: ok ? undefined : `over by ${fmt(measured - max, dd)}${unit} (${missPercent(measured - max, max)}%; needs ${factor(measured / max)}× less)`,
  };
}

const shapeLabel = (c: { m: number; k: number; n: number }) => `${c.m}×${c.k}×${c.n}`;

export function checkTargets(r: Results): Target[] {
  const out: Target[] = [];
  const threads = r.contenders["wasmgrad-wasm"]?.threads ?? r.threads;
  const shapes: [number, number, number, number][] = [[256, 784, 256, 45], [1024, 1024, 1024, 45], [256, 256, 10, 25]];
  const cells = shapes.flatMap(([m, k, n, min]) => (["NN", "NT", "TN"] as const).map((layout) => ({
    label: `${m}×${k}×${n} ${layout}`, min,
    cell: r.gemm?.find((c) => c.m === m && c.k === k && c.n === n && c.layout === layout),
  })));
  const absent = r.mode === "quick" ? "not in --quick" : undefined;
  for (const { label, min, cell } of cells) {
    out.push(atLeast(`GEMM ${label}, wasmgrad-wasm, ${threads} thread${threads === 1 ? "" : "s"}`, cell?.stats["wasmgrad-wasm"]?.gflops, min, " GFLOP/s", 1, cell ? undefined : absent));
  }
  for (const { label, cell } of cells) {
    const [w, j] = [cell?.stats["wasmgrad-wasm"]?.gflops, cell?.stats["wasmgrad-js"]?.gflops];
    out.push(atLeast(`Wasm/JS ${label}`, w !== undefined && j !== undefined ? w / j : undefined, 20, "×", 1, cell ? undefined : absent));
  }
  const t = r.training;
  const we = t?.epoch["wasmgrad-wasm"];
  const tw = t?.epoch["tfjs-wasm"];
  const ev = t?.eval["wasmgrad-wasm"];
  out.push(atMost(`training epoch, wasmgrad-wasm${threads === 1 ? "" : ` (this run: ${threads} threads)`}`, we?.epochSeconds, 2.0, " s", 2, we?.mode === "partial" ? "extrapolated from a partial epoch" : undefined));
  out.push(atLeast(
    "epoch speed-up over tfjs-wasm (same run)", we && tw ? pairedEpochRatio(tw, we) : undefined, 12, "×", 1,
    `median over rounds of the two contenders' ratio in each round${tw?.mode === "partial" ? `; tfjs-wasm timed on ${tw.batchesPerRepeat} batches × ${tw.repeats}, extrapolated` : ""}`,
  ));
  out.push(atMost("test-set evaluation (10 000 images), wasmgrad-wasm", ev?.seconds, 0.15, " s", 3, ev?.mode === "partial" ? "extrapolated from a partial pass" : undefined));
  const hw = t?.highWater;
  const flat = { what: "memoryStats().highWater flat over epochs", target: "no growth after epoch 1" };
  if (hw && hw.afterEpoch.length >= 2) {
    const [first, last] = [hw.afterEpoch[0]!, Math.max(...hw.afterEpoch)];
    out.push({
      ...flat, measured: `${fmt(first / MiB, 2)} MiB after epoch 1, ${fmt(last / MiB, 2)} MiB at most after`,
      ok: last <= first, miss: last > first ? `grew by ${last - first} bytes after epoch 1` : undefined,
    });
  } else out.push({ ...flat, measured: "not measured", ok: null });
  const rss = t?.peakRssBytes["wasmgrad-wasm"];
  out.push(atMost(
    "peak RSS of a wasmgrad-wasm training run", rss === undefined ? undefined : rss / MiB, 200, " MiB", 0,
    t ? `${t.trainSize === 60000 ? "full data" : `${t.trainSize}-image subset`}, ${we?.mode === "full" ? `${we.repeats} full epochs + warm-up` : "partial epochs"}, evaluations included` : undefined,
  ));
  return out;
}

/**
 * How many times slower `slow` was than `fast` per image: the median over
 * rounds of the ratio within each round (the machine's drift between rounds
 * cancels out of each ratio).
 */
export function pairedEpochRatio(slow: EpochSummary, fast: EpochSummary): number | undefined {
  const rounds = Math.min(slow.raw.length, fast.raw.length);
  if (rounds === 0) return undefined;
  const perImage = (r: EpochSummary["raw"][number]) => r.seconds / r.images;
  return median(Array.from({ length: rounds }, (_, i) => perImage(slow.raw[i]!) / perImage(fast.raw[i]!)));
}

/** Spread (fastest ÷ slowest sample) above which a run is called noisy: its medians still stand, its ratios less so. */
export const NOISY_SPREAD = 1.3;

/** Why this run was noisy (empty when it was not): a loaded machine, or samples of one cell far apart. */
export function noiseFindings(r: Results): string[] {
  const found: string[] = [];
  const load = Math.max(r.loadAverage.start, r.loadAverage.end);
  if (load > r.machine.logicalCpus / 2) found.push(`load average ${fmt(load, 2)} on ${r.machine.logicalCpus} logical CPUs`);
  const gemm = (r.gemm ?? []).map((c) => c.stats["wasmgrad-wasm"]).filter((s) => s && !s.error && s.low > 0).map((s) => s!.high / s!.low);
  if (gemm.length && Math.max(...gemm) > NOISY_SPREAD) found.push(`wasmgrad-wasm GEMM samples up to ${fmt(Math.max(...gemm), 2)}× apart within a cell`);
  for (const [c, e] of Object.entries(r.training?.epoch ?? {})) {
    if (e && e.epochSecondsLow > 0 && e.epochSecondsHigh / e.epochSecondsLow > NOISY_SPREAD) found.push(`${c}'s epochs ${fmt(e.epochSecondsHigh / e.epochSecondsLow, 2)}× apart`);
  }
  return found;
}


// ---- markdown ------------------------------------------------------------------

function table(head: string[], rows: string[][], align = head.map((_, i) => (i === 0 ? "l" : "r"))): string {
  return [`| ${head.join(" | ")} |`, `|${align.map((x) => (x === "r" ? "---:" : "---")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

const ratio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`);
const mib = (x: number | undefined) => (x === undefined ? "–" : `${fmt(x / MiB, 0)} MiB`);
const measuredAs = (e: { mode: string; repeats: number; batchesPerRepeat: number }, full: string) =>
  e.mode === "full" ? `${e.repeats} full ${full}` : `${e.batchesPerRepeat} batch${e.batchesPerRepeat === 1 ? "" : "es"} × ${e.repeats}, **extrapolated**`;

function headerSection(r: Results, L: string[]): void {
  const w = r.contenders["wasmgrad-wasm"]?.threads;
  const threads = r.threads === 1 && (w === undefined || w === 1)
    ? "1 (every contender single-threaded)"
    : `${r.threads} asked (\`--threads\`), wasmgrad-wasm ran on ${w ?? "?"}, torch on ${r.contenders.torch?.threads ?? "–"}, tfjs on 1`;
  const phases = Object.entries(r.phaseSeconds).map(([k, v]) => `${k === "gemm" ? "GEMM" : k} ${fmt(v, 0)} s`).join(", ");
  L.push(`# wasmgrad benchmark suite${r.mode === "quick" ? " — QUICK RUN (fewer repeats, fewer shapes, partial epochs scaled)" : ""}`, "");
  L.push(`${r.date} · \`${r.command}\` · ${r.mode} run in ${fmt(r.seconds, 0)} s (${phases}) · threads: ${threads} · load average ${fmt(r.loadAverage.start, 2)} at the start, ${fmt(r.loadAverage.end, 2)} at the end`, "");
  const noise = noiseFindings(r);
  if (noise.length) L.push(`**Noisy run** (spread above ${NOISY_SPREAD}× or a loaded machine): ${noise.join("; ")}. Ratios within a round hold better than the absolute figures; \`npm run bench:gemm -- --peak-probe\` tells a shared core from a slow kernel.`, "");
  L.push(`**Machine:** ${r.machine.cpu} (${r.machine.cpuDetail}), ${r.machine.logicalCpus} logical CPUs, ${fmt(r.machine.memoryGiB, 0)} GiB, ${r.machine.os}`, "");
  L.push(`**Versions:** ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(" · ")}`, "");
  L.push("Every contender runs in its own process; samples are taken round-robin over the contenders, the starting one rotating. Figures are medians; ratios are wasmgrad-wasm's speed-up over the other (> 1: wasmgrad-wasm is faster). Method: docs/benchmark-design.md.");
  if (r.notes.length) L.push("", ...r.notes.map((n) => `- ${n}`));
}

function targetsSection(r: Results, L: string[]): void {
  const count = (ok: boolean | null) => r.targets.filter((t) => t.ok === ok).length;
  L.push("", "## Targets (issue 4)", "");
  L.push(table(
    ["what", "target", "measured", "", "missed by / note"],
    r.targets.map((t) => [t.what, t.target, t.measured, t.ok === null ? "–" : t.ok ? "✓" : "✗", [t.miss, t.note].filter(Boolean).join("; ")]),
    ["l", "l", "r", "l", "l"],
  ));
  L.push("", `${count(true)} met, ${count(false)} missed${count(null) ? `, ${count(null)} not measured` : ""}.`);
}

function gemmSection(r: Results, L: string[]): void {
  if (!r.gemm) return;
  L.push("", "## GEMM, GFLOP/s (median; 2·M·N·K / time)", "");
  L.push(
    "M×K×N: C[M, N] = op(A)[M, K] · op(B)[K, N]; NT is Linear's forward, TN its weight gradient. wasmgrad: the `f32_gemm` kernel into a preallocated C; " +
      "*wasm op*: through the op that allocates its output (what `matmul` runs), as tfjs's `tf.matMul` and torch's `@` do. The range is wasmgrad-wasm's slowest–fastest sample.",
    "",
  );
  const g = (s: GemmStat | undefined) => (s?.error ? "error" : s ? fmt(s.gflops, s.gflops < 10 ? 2 : 1) : "–");
  L.push(table(
    ["M×K×N", "layout", "wasmgrad-wasm", "(range)", "wasm op", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"],
    r.gemm.map((c) => {
      const w = c.stats["wasmgrad-wasm"];
      return [shapeLabel(c), c.layout, g(w), w ? `${fmt(w.low)}–${fmt(w.high)}` : "–", ...GEMM_ENTRIES.slice(1).map((e) => g(c.stats[e]))];
    }),
  ));
  L.push("", "wasmgrad-wasm's speed-up (its GFLOP/s ÷ the other's):", "");
  L.push(table(
    ["M×K×N", "layout", "÷ wasmgrad-js", "÷ tfjs-wasm", "÷ tfjs-cpu", "÷ torch", "kernel ÷ op"],
    r.gemm.map((c) => {
      const w = c.stats["wasmgrad-wasm"]?.gflops;
      const over = (e: GemmEntry) => (w === undefined || !c.stats[e] || c.stats[e]!.error ? "–" : ratio(w / c.stats[e]!.gflops));
      return [shapeLabel(c), c.layout, over("wasmgrad-js"), over("tfjs-wasm"), over("tfjs-cpu"), over("torch"), over("wasmgrad-wasm op")];
    }),
  ));
  const samples = GEMM_ENTRIES.map((e) => {
    const ns = r.gemm!.map((c) => c.stats[e]?.samples ?? 0).filter((x) => x > 0);
    return ns.length ? `${e} ${Math.min(...ns)}–${Math.max(...ns)}` : null;
  }).filter(Boolean);
  L.push("", `Samples per cell: ${samples.join(", ")} (slow contenders get fewer, spread evenly over the rounds).`);
}

function trainingSection(r: Results, L: string[]): void {
  const t = r.training;
  if (!t) return;
  const we = t.epoch["wasmgrad-wasm"];
  const ev = t.eval["wasmgrad-wasm"];
  L.push("", "## Training: one epoch of the d2l dropout MLP", "");
  L.push(`784-256-256-10, ReLU, dropout 0.2 / 0.5, normal(0, 0.01) init, SGD lr 0.5, batch 256, the loss and batch accuracy read each step; ${t.trainSize} training images (${t.batchesPerEpoch} batches). *data*: share of the time taking batches from the loader.`, "");
  L.push(table(
    ["contender", "s / epoch", "(range)", "images/s", "measured as", "data", "loss", "train acc", "÷ wasmgrad-wasm"],
    CONTENDERS.filter((c) => t.epoch[c] || t.errors[c]).map((c) => {
      const e = t.epoch[c];
      if (!e) return [c, "error", "", "", t.errors[c] ?? "", "", "", "", ""];
      return [c, fmt(e.epochSeconds, 2), `${fmt(e.epochSecondsLow, 2)}–${fmt(e.epochSecondsHigh, 2)}`, fmt(e.imagesPerSecond, 0), measuredAs(e, "epochs"),
        `${fmt(100 * e.dataShare, 0)}%`, fmt(e.lastLoss, 3), fmt(e.lastAccuracy, 3), we ? ratio(e.epochSeconds / we.epochSeconds) : "–"];
    }),
    ["l", "r", "r", "r", "l", "r", "r", "r", "r"],
  ));
  L.push("", "### Test-set evaluation (eval mode, no gradients, batch 256)", "");
  L.push(table(
    ["contender", `s / ${t.testSize} images`, "images/s", "measured as", "test acc", "÷ wasmgrad-wasm"],
    CONTENDERS.filter((c) => t.eval[c]).map((c) => {
      const e = t.eval[c]!;
      return [c, fmt(e.seconds, 3), fmt(e.imagesPerSecond, 0), measuredAs(e, "passes"), fmt(e.accuracy, 3), ev ? ratio(e.seconds / ev.seconds) : "–"];
    }),
    ["l", "r", "r", "l", "r", "r"],
  ));
  L.push("", "### Memory", "");
  const refs: PerContender<string> = { "wasmgrad-wasm": "target ≤ 200 MiB", "tfjs-wasm": "issue: ~390 MiB", torch: "issue: ~510 MiB" };
  L.push(table(
    ["contender", "peak RSS", "peak after loading the data", "RSS at the end", "reference"],
    CONTENDERS.filter((c) => t.peakRssBytes[c] !== undefined).map((c) => [c, mib(t.peakRssBytes[c]), mib(t.peakRssAfterLoadBytes[c]), mib(t.rssAtEndBytes[c]), refs[c] ?? ""]),
    ["l", "r", "r", "r", "l"],
  ));
  if (t.highWater) {
    const hw = t.highWater;
    const grew = hw.afterEpoch.length > 1 && Math.max(...hw.afterEpoch) > hw.afterEpoch[0]!;
    L.push("", `wasmgrad-wasm \`memoryStats().highWater\`: ${fmt(hw.afterWarmup / MiB, 2)} MiB after the warm-up; after epochs 1…${hw.afterEpoch.length}: ${hw.afterEpoch.map((x) => fmt(x / MiB, 2)).join(", ")} MiB — ${grew ? "**it grew after epoch 1**" : "flat: it did not grow after epoch 1"}.`);
  }
  if (t.memoryStats) L.push("", `wasmgrad-wasm \`memoryStats()\` at the end: ${Object.entries(t.memoryStats).map(([k, v]) => `${k} ${k.endsWith("Tensors") ? v : `${fmt(v / MiB, 2)} MiB`}`).join(", ")}.`);
  const errs = Object.entries(t.errors);
  if (errs.length) L.push("", ...errs.map(([c, e]) => `- ${c}: ${e}`));
}

export function renderMarkdown(r: Results): string {
  const L: string[] = [];
  headerSection(r, L);
  targetsSection(r, L);
  gemmSection(r, L);
  trainingSection(r, L);
  L.push("", "## Contenders", "");
  for (const [c, info] of Object.entries(r.contenders)) {
    L.push(`- **${c}** (${info!.threads} thread${info!.threads === 1 ? "" : "s"}): ${Object.entries(info!.versions).map(([k, v]) => `${k} ${v}`).join(" · ")}`);
  }
  L.push("", `Data: ${r.data.dir}${r.data.note ? ` — ${r.data.note}` : ""}.`, "");
  return L.join("\n");
}
