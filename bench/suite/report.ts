// The suite's results: their shape (bench/results.json), the issue's targets
// checked against them, and the markdown report (bench/RESULTS.md). What each
// figure means and how it is taken: docs/benchmark-design.md.

import { median, table } from "../stats.ts";

export const CONTENDERS = ["wasmgrad-wasm", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"] as const;
export type ContenderName = (typeof CONTENDERS)[number];
/** GEMM columns: the contenders, plus wasmgrad-wasm measured through its allocating op. */
export const GEMM_ENTRIES = ["wasmgrad-wasm", "wasmgrad-wasm op", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"] as const;
export type GemmEntry = (typeof GEMM_ENTRIES)[number];
type PerContender<T> = Partial<Record<ContenderName, T>>;

/** GFLOP/s of the median sample, and of the slowest (low) and fastest (high). */
export interface GemmStat { gflops: number; low: number; high: number; samples: number; repsPerSample: number; error?: string }
export interface GemmCell { m: number; k: number; n: number; layout: "NN" | "NT" | "TN"; stats: Partial<Record<GemmEntry, GemmStat>> }

/** "partial": batchesPerRepeat batches a round, extrapolated by images to the epoch (or test set). */
interface Measured { mode: "full" | "partial"; batchesPerRepeat: number; repeats: number; imagesPerSecond: number }
export interface EpochSummary extends Measured {
  /** Median seconds per 60 000-image epoch, and the range over rounds; dataShare: median share of time in the loader. */
  epochSeconds: number; epochSecondsLow: number; epochSecondsHigh: number; dataShare: number; lastLoss: number; lastAccuracy: number;
  raw: { seconds: number; batches: number; images: number; dataSeconds: number; highWater?: number }[];
}
/** seconds: median for the 10 000-image test set. */
export interface EvalSummary extends Measured { seconds: number; accuracy: number }

export interface TrainingResult {
  trainSize: number; testSize: number; batchesPerEpoch: number;
  epoch: PerContender<EpochSummary>; eval: PerContender<EvalSummary>;
  /** Peak RSS of the run, once the data was loaded (before training), and RSS at the end. */
  peakRssBytes: PerContender<number>; peakRssAfterLoadBytes: PerContender<number>; rssAtEndBytes: PerContender<number>;
  /** wasmgrad-wasm's memoryStats().highWater after the warm-up and after each timed epoch. */
  highWater: { afterWarmup: number; afterEpoch: number[] } | null; memoryStats?: Record<string, number>; errors: PerContender<string>;
}

/** ok: true ✓, false ✗, null not measured in this run. */
export interface Target { what: string; target: string; measured: string; ok: boolean | null; miss?: string; note?: string }

/** phaseSeconds: wall time of each phase; loadAverage: the 1-minute load average when the run started and ended. */
export interface Results {
  date: string; mode: "full" | "quick"; command: string; threads: number; seconds: number; notes: string[];
  machine: { cpu: string; cpuDetail: string; logicalCpus: number; memoryGiB: number; os: string };
  versions: Record<string, string>; contenders: PerContender<{ threads: number; versions: Record<string, string> }>;
  data: { dir: string; full: boolean; note?: string };
  gemm: GemmCell[] | null; training: TrainingResult | null; targets: Target[];
  phaseSeconds: { gemm?: number; training?: number }; loadAverage: { start: number; end: number };
}

// ---- targets -----------------------------------------------------------------

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const MiB = 1024 * 1024;

/** A target line: ✓, or ✗ saying how far off, in digits enough (up to 3 more) that a near miss does not print as the bound itself. */
function bound(kind: "≥" | "≤", what: string, measured: number | undefined, limit: number, unit: string, d: number, note?: string): Target {
  const target = `${kind} ${limit}${unit}`;
  if (measured === undefined || !Number.isFinite(measured)) return { what, target, measured: "not measured", ok: null, note };
  const ok = kind === "≥" ? measured >= limit : measured <= limit;
  let dd = d;
  while (!ok && dd < d + 3 && Number(fmt(measured, dd)) === Number(fmt(limit, dd))) dd++;
  const off = Math.abs(measured - limit);
  const pct = (100 * off) / limit;
  const times = kind === "≥" ? limit / measured : measured / limit;
  const factor = fmt(times, 2) === "1.00" ? fmt(times, 3) : fmt(times, 2);
  const miss = `${kind === "≥" ? "short" : "over"} by ${fmt(off, dd)}${unit} (${fmt(pct, pct < 1 ? 1 : 0)}%; needs ${factor}×${kind === "≥" ? "" : " less"})`;
  return { what, target, measured: `${fmt(measured, dd)}${unit}`, ok, note, miss: ok ? undefined : miss };
}
export const atLeast = (what: string, measured: number | undefined, min: number, unit: string, d = 1, note?: string) => bound("≥", what, measured, min, unit, d, note);
export const atMost = (what: string, measured: number | undefined, max: number, unit: string, d = 2, note?: string) => bound("≤", what, measured, max, unit, d, note);

const shapeLabel = (c: { m: number; k: number; n: number }) => `${c.m}×${c.k}×${c.n}`;

export function checkTargets(r: Results): Target[] {
  const out: Target[] = [];
  const threads = r.contenders["wasmgrad-wasm"]?.threads ?? r.threads;
  const absent = r.mode === "quick" ? "not in --quick" : undefined;
  const cells = ([[256, 784, 256, 45], [1024, 1024, 1024, 45], [256, 256, 10, 25]] as const).flatMap(([m, k, n, min]) => (["NN", "NT", "TN"] as const).map((layout) => ({
    label: `${m}×${k}×${n} ${layout}`, min, cell: r.gemm?.find((c) => c.m === m && c.k === k && c.n === n && c.layout === layout),
  })));
  for (const { label, min, cell } of cells) {
    out.push(atLeast(`GEMM ${label}, wasmgrad-wasm, ${threads} thread${threads === 1 ? "" : "s"}`, cell?.stats["wasmgrad-wasm"]?.gflops, min, " GFLOP/s", 1, cell ? undefined : absent));
  }
  for (const { label, cell } of cells) {
    const [w, j] = [cell?.stats["wasmgrad-wasm"]?.gflops, cell?.stats["wasmgrad-js"]?.gflops];
    out.push(atLeast(`Wasm/JS ${label}`, w !== undefined && j !== undefined ? w / j : undefined, 20, "×", 1, cell ? undefined : absent));
  }
  const t = r.training;
  const [we, tw, ev] = [t?.epoch["wasmgrad-wasm"], t?.epoch["tfjs-wasm"], t?.eval["wasmgrad-wasm"]];
  out.push(atMost(`training epoch, wasmgrad-wasm${threads === 1 ? "" : ` (this run: ${threads} threads)`}`, we?.epochSeconds, 2.0, " s", 2, we?.mode === "partial" ? "extrapolated from a partial epoch" : undefined));
  out.push(atLeast(
    "epoch speed-up over tfjs-wasm (same run)", we && tw ? pairedEpochRatio(tw, we) : undefined, 12, "×", 1,
    `median over rounds of the two contenders' ratio in each round${tw?.mode === "partial" ? `; tfjs-wasm timed on ${tw.batchesPerRepeat} batches × ${tw.repeats}, extrapolated` : ""}`,
  ));
  out.push(atMost("test-set evaluation (10 000 images), wasmgrad-wasm", ev?.seconds, 0.15, " s", 3, ev?.mode === "partial" ? "extrapolated from a partial pass" : undefined));
  const hw = t?.highWater?.afterEpoch ?? [];
  const flat = { what: "memoryStats().highWater flat over epochs", target: "no growth after epoch 1" };
  const [first, most] = [hw[0]!, Math.max(...hw)];
  out.push(hw.length < 2 ? { ...flat, measured: "not measured", ok: null } : {
    ...flat, measured: `${fmt(first / MiB, 2)} MiB after epoch 1, ${fmt(most / MiB, 2)} MiB at most after`,
    ok: most <= first, miss: most > first ? `grew by ${most - first} bytes after epoch 1` : undefined,
  });
  const rss = t?.peakRssBytes["wasmgrad-wasm"];
  out.push(atMost(
    "peak RSS of a wasmgrad-wasm training run", rss === undefined ? undefined : rss / MiB, 200, " MiB", 0,
    t ? `${t.trainSize === 60000 ? "full data" : `${t.trainSize}-image subset`}, ${we?.mode === "full" ? `${we.repeats} full epochs + warm-up` : "partial epochs"}, evaluations included` : undefined,
  ));
  return out;
}

/** How many times slower `slow` was than `fast` per image: the median over rounds of the ratio within each round (drift between rounds cancels). */
export function pairedEpochRatio(slow: EpochSummary, fast: EpochSummary): number | undefined {
  const rounds = Math.min(slow.raw.length, fast.raw.length);
  const perImage = (e: EpochSummary, i: number) => e.raw[i]!.seconds / e.raw[i]!.images;
  return rounds ? median(Array.from({ length: rounds }, (_, i) => perImage(slow, i) / perImage(fast, i))) : undefined;
}

/** Spread (fastest ÷ slowest sample) above which a run is called noisy: its medians still stand, its ratios less so. */
export const NOISY_SPREAD = 1.3;

/** Why this run was noisy (empty when it was not): a loaded machine, or samples of one cell far apart. */
export function noiseFindings(r: Results): string[] {
  const found: string[] = [];
  const load = Math.max(r.loadAverage.start, r.loadAverage.end);
  if (load > r.machine.logicalCpus / 2) found.push(`load average ${fmt(load, 2)} on ${r.machine.logicalCpus} logical CPUs`);
  const gemm = (r.gemm ?? []).map((c) => c.stats["wasmgrad-wasm"]).filter((s) => s && !s.error && s.low > 0).map((s) => s!.high / s!.low);
  if (Math.max(...gemm) > NOISY_SPREAD) found.push(`wasmgrad-wasm GEMM samples up to ${fmt(Math.max(...gemm), 2)}× apart within a cell`);
  for (const [c, e] of Object.entries(r.training?.epoch ?? {})) {
    if (e.epochSecondsLow > 0 && e.epochSecondsHigh / e.epochSecondsLow > NOISY_SPREAD) found.push(`${c}'s epochs ${fmt(e.epochSecondsHigh / e.epochSecondsLow, 2)}× apart`);
  }
  return found;
}

// ---- markdown ------------------------------------------------------------------

const ratio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`);
const mib = (x: number | undefined) => (x === undefined ? "–" : `${fmt(x / MiB, 0)} MiB`);
const measuredAs = (e: Measured, what: string) =>
  e.mode === "full" ? `${e.repeats} full ${what}` : `${e.batchesPerRepeat} batch${e.batchesPerRepeat === 1 ? "" : "es"} × ${e.repeats}, **extrapolated**`;
const listed = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(" · ");

function header(r: Results): string[] {
  const w = r.contenders["wasmgrad-wasm"]?.threads;
  const threads = r.threads === 1 && (w ?? 1) === 1
    ? "1 (every contender single-threaded)"
    : `${r.threads} asked (\`--threads\`), wasmgrad-wasm ran on ${w ?? "?"}, torch on ${r.contenders.torch?.threads ?? "–"}, tfjs on 1`;
  const phases = Object.entries(r.phaseSeconds).map(([k, v]) => `${k === "gemm" ? "GEMM" : k} ${fmt(v, 0)} s`).join(", ");
  const noise = noiseFindings(r);
  return [
    `# wasmgrad benchmark suite${r.mode === "quick" ? " — QUICK RUN (fewer repeats, fewer shapes, partial epochs scaled)" : ""}`, "",
    `${r.date} · \`${r.command}\` · ${r.mode} run in ${fmt(r.seconds, 0)} s (${phases}) · threads: ${threads} · load average ${fmt(r.loadAverage.start, 2)} at the start, ${fmt(r.loadAverage.end, 2)} at the end`, "",
    ...(noise.length ? [`**Noisy run** (spread above ${NOISY_SPREAD}× or a loaded machine): ${noise.join("; ")}. Ratios within a round hold better than the absolute figures; \`npm run bench:gemm -- --peak-probe\` tells a shared core from a slow kernel.`, ""] : []),
    `**Machine:** ${r.machine.cpu} (${r.machine.cpuDetail}), ${r.machine.logicalCpus} logical CPUs, ${fmt(r.machine.memoryGiB, 0)} GiB, ${r.machine.os}`, "",
    `**Versions:** ${listed(r.versions)}`, "",
    "Every contender runs in its own process; samples are taken round-robin over the contenders, the starting one rotating. Figures are medians; ratios are wasmgrad-wasm's speed-up over the other (> 1: wasmgrad-wasm is faster). Method: docs/benchmark-design.md.",
    ...r.notes.map((n, i) => `${i ? "" : "\n"}- ${n}`),
  ];
}

function targets(r: Results): string[] {
  const count = (ok: boolean | null) => r.targets.filter((t) => t.ok === ok).length;
  return ["", "## Targets (issue 4)", "", table(
    ["what", "target", "measured", "", "missed by / note"],
    r.targets.map((t) => [t.what, t.target, t.measured, t.ok === null ? "–" : t.ok ? "✓" : "✗", [t.miss, t.note].filter(Boolean).join("; ")]),
    ["l", "l", "r", "l", "l"],
  ), "", `${count(true)} met, ${count(false)} missed${count(null) ? `, ${count(null)} not measured` : ""}.`];
}

function gemm(cells: GemmCell[]): string[] {
  const g = (s: GemmStat | undefined) => (s?.error ? "error" : s ? fmt(s.gflops, s.gflops < 10 ? 2 : 1) : "–");
  const samples = GEMM_ENTRIES.map((e) => [e, cells.map((c) => c.stats[e]?.samples ?? 0).filter((x) => x > 0)] as const)
    .filter(([, ns]) => ns.length).map(([e, ns]) => `${e} ${Math.min(...ns)}–${Math.max(...ns)}`);
  return [
    "", "## GEMM, GFLOP/s (median; 2·M·N·K / time)", "",
    "M×K×N: C[M, N] = op(A)[M, K] · op(B)[K, N]; NT is Linear's forward, TN its weight gradient. wasmgrad: the `f32_gemm` kernel into a preallocated C; " +
      "*wasm op*: through the op that allocates its output (what `matmul` runs), as tfjs's `tf.matMul` and torch's `@` do. The range is wasmgrad-wasm's slowest–fastest sample.", "",
    table(["M×K×N", "layout", "wasmgrad-wasm", "(range)", "wasm op", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"], cells.map((c) => {
      const w = c.stats["wasmgrad-wasm"];
      return [shapeLabel(c), c.layout, g(w), w ? `${fmt(w.low)}–${fmt(w.high)}` : "–", ...GEMM_ENTRIES.slice(1).map((e) => g(c.stats[e]))];
    })),
    "", "wasmgrad-wasm's speed-up (its GFLOP/s ÷ the other's):", "",
    table(["M×K×N", "layout", "÷ wasmgrad-js", "÷ tfjs-wasm", "÷ tfjs-cpu", "÷ torch", "kernel ÷ op"], cells.map((c) => {
      const w = c.stats["wasmgrad-wasm"]?.gflops;
      const over = (e: GemmEntry) => (w === undefined || !c.stats[e] || c.stats[e]!.error ? "–" : ratio(w / c.stats[e]!.gflops));
      return [shapeLabel(c), c.layout, ...(["wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch", "wasmgrad-wasm op"] as const).map(over)];
    })),
    "", `Samples per cell: ${samples.join(", ")} (slow contenders get fewer, spread evenly over the rounds).`,
  ];
}

function training(t: TrainingResult): string[] {
  const [we, ev] = [t.epoch["wasmgrad-wasm"], t.eval["wasmgrad-wasm"]];
  const refs: PerContender<string> = { "wasmgrad-wasm": "target ≤ 200 MiB", "tfjs-wasm": "issue: ~390 MiB", torch: "issue: ~510 MiB" };
  const hw = t.highWater;
  const L = [
    "", "## Training: one epoch of the d2l dropout MLP", "",
    `784-256-256-10, ReLU, dropout 0.2 / 0.5, normal(0, 0.01) init, SGD lr 0.5, batch 256, the loss and batch accuracy read each step; ${t.trainSize} training images (${t.batchesPerEpoch} batches). *data*: share of the time taking batches from the loader.`, "",
    table(["contender", "s / epoch", "(range)", "images/s", "measured as", "data", "loss", "train acc", "÷ wasmgrad-wasm"],
      CONTENDERS.filter((c) => t.epoch[c] || t.errors[c]).map((c) => {
        const e = t.epoch[c];
        if (!e) return [c, "error", "", "", t.errors[c] ?? "", "", "", "", ""];
        return [c, fmt(e.epochSeconds, 2), `${fmt(e.epochSecondsLow, 2)}–${fmt(e.epochSecondsHigh, 2)}`, fmt(e.imagesPerSecond, 0), measuredAs(e, "epochs"),
          `${fmt(100 * e.dataShare, 0)}%`, fmt(e.lastLoss, 3), fmt(e.lastAccuracy, 3), we ? ratio(e.epochSeconds / we.epochSeconds) : "–"];
      }), ["l", "r", "r", "r", "l"]),
    "", "### Test-set evaluation (eval mode, no gradients, batch 256)", "",
    table(["contender", `s / ${t.testSize} images`, "images/s", "measured as", "test acc", "÷ wasmgrad-wasm"],
      CONTENDERS.filter((c) => t.eval[c]).map((c) => {
        const e = t.eval[c]!;
        return [c, fmt(e.seconds, 3), fmt(e.imagesPerSecond, 0), measuredAs(e, "passes"), fmt(e.accuracy, 3), ev ? ratio(e.seconds / ev.seconds) : "–"];
      }), ["l", "r", "r", "l"]),
    "", "### Memory", "",
    table(["contender", "peak RSS", "peak after loading the data", "RSS at the end", "reference"],
      CONTENDERS.filter((c) => t.peakRssBytes[c] !== undefined).map((c) => [c, mib(t.peakRssBytes[c]), mib(t.peakRssAfterLoadBytes[c]), mib(t.rssAtEndBytes[c]), refs[c] ?? ""]),
      ["l", "r", "r", "r", "l"]),
  ];
  if (hw) {
    const grew = Math.max(...hw.afterEpoch) > hw.afterEpoch[0]!;
    L.push("", `wasmgrad-wasm \`memoryStats().highWater\`: ${fmt(hw.afterWarmup / MiB, 2)} MiB after the warm-up; after epochs 1…${hw.afterEpoch.length}: ${hw.afterEpoch.map((x) => fmt(x / MiB, 2)).join(", ")} MiB — ${grew ? "**it grew after epoch 1**" : "flat: it did not grow after epoch 1"}.`);
  }
  if (t.memoryStats) L.push("", `wasmgrad-wasm \`memoryStats()\` at the end: ${Object.entries(t.memoryStats).map(([k, v]) => `${k} ${k.endsWith("Tensors") ? v : `${fmt(v / MiB, 2)} MiB`}`).join(", ")}.`);
  return [...L, ...Object.entries(t.errors).map(([c, e], i) => `${i ? "" : "\n"}- ${c}: ${e}`)];
}

export function renderMarkdown(r: Results): string {
  return [
    ...header(r), ...targets(r), ...(r.gemm ? gemm(r.gemm) : []), ...(r.training ? training(r.training) : []),
    "", "## Contenders", "",
    ...Object.entries(r.contenders).map(([c, info]) => `- **${c}** (${info.threads} thread${info.threads === 1 ? "" : "s"}): ${listed(info.versions)}`),
    "", `Data: ${r.data.dir}${r.data.note ? ` — ${r.data.note}` : ""}.`, "",
  ].join("\n");
}
