// The suite's results: their shape (written as bench/results.json), the issue's
// targets checked against them, and the markdown report (bench/RESULTS.md, and
// what run.ts prints).

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
  /** wasmgrad-wasm (kernel and op): the samples against the Wasm SIMD peak probe run right after each, in the same process. */
  peak?: GemmPeakStat;
}

/** A GEMM cell against the Wasm SIMD peak probe (bench/suite/peak.ts). */
export interface GemmPeakStat {
  /** Median over the cell's samples of (sample GFLOP/s ÷ the probe's GFLOP/s right after it). */
  share: number;
  /** Median of the probe samples taken after the cell's samples, GFLOP/s. */
  probeGflops: number;
  /** Each sample in order: [GEMM GFLOP/s, probe GFLOP/s right after it]. */
  pairs: [number, number][];
  /** Of the `coreSamples` samples with both probes, how many found the core shared (busy ÷ plain < CORE_SHARED_BELOW). */
  sharedSamples?: number;
  coreSamples?: number;
  /** Median GFLOP/s of the samples that had the core to themselves (absent when none did). */
  unsharedGflops?: number;
}

/** A sample whose busy probe ran below this share of the plain one counts as taken on a shared core. */
export const CORE_SHARED_BELOW = 0.85;

/** wasmgrad-wasm's Wasm SIMD peak probe over the run's GEMM samples (bench/suite/peak.ts). */
export interface ProbeSummary {
  /** "relaxed": f32x4.relaxed_madd chains (FMA); "baseline": f32x4.mul and f32x4.add chains. */
  build: "relaxed" | "baseline";
  what: string;
  /** The wasmgrad build it was paired with (getBackend().description). */
  backend: string;
  /** GFLOP/s: median, slowest and fastest probe sample, over all of wasmgrad-wasm's GEMM samples. */
  median: number;
  low: number;
  high: number;
  samples: number;
  /** About what the probe gives on this CPU when the machine is quiet; null where not known for this CPU. */
  quietGflops: number | null;
  /** The busy twin (integer work between the FMAs, see peak.ts): GFLOP/s over the same samples. */
  busy?: { median: number; low: number; high: number };
  /** Median of busy ÷ plain over the samples, and how many of them fell below CORE_SHARED_BELOW. */
  coreShare?: number;
  sharedSamples?: number;
  pairedSamples?: number;
  note?: string;
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
  raw: { seconds: number; batches: number; images: number; dataSeconds: number; highWater?: number; coreShares?: number[] }[];
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

export interface TrainingResult {
  trainSize: number;
  testSize: number;
  batchesPerEpoch: number;
  epoch: Partial<Record<ContenderName, EpochSummary>>;
  eval: Partial<Record<ContenderName, EvalSummary>>;
  peakRssBytes: Partial<Record<ContenderName, number>>;
  /** Peak RSS once the data was loaded and the model built, before any training. */
  peakRssAfterLoadBytes: Partial<Record<ContenderName, number>>;
  /** RSS at the end of the run (after the last evaluation). */
  rssAtEndBytes: Partial<Record<ContenderName, number>>;
  /** wasmgrad-wasm's memoryStats().highWater after the warm-up and after each timed epoch. */
  highWater: { afterWarmup: number; afterEpoch: number[] } | null;
  memoryStats?: Record<string, number>;
  profile?: {
    seconds: number;
    batches: number;
    rows: { name: string; seconds: number; calls: number }[];
  };
  errors: Partial<Record<ContenderName, string>>;
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
  contenders: Partial<Record<ContenderName, { threads: number; versions: Record<string, string> }>>;
  data: { dir: string; full: boolean; note?: string };
  notes: string[];
  gemm: GemmCell[] | null;
  /** The Wasm SIMD peak probe paired with wasmgrad-wasm's GEMM samples (null: GEMM not run, or no probe). */
  probe?: ProbeSummary | null;
  training: TrainingResult | null;
  targets: Target[];
  seconds: number;
  phaseSeconds: { gemm?: number; training?: number };
  /** 1-minute load average when the run started and ended: above ~1 on this 2-vCPU machine, others were computing too. */
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

/** "71% of the Wasm peak measured alongside (48.3 GFLOP/s)", for a GEMM target's note. */
function peakNote(st: GemmStat | undefined): string | undefined {
  const p = st?.peak;
  if (!p) return undefined;
  const shared = p.sharedSamples && p.coreSamples
    ? `; ${p.sharedSamples} of its ${p.coreSamples} samples ran on a shared core (a busy sibling hyperthread, see the GEMM section)` +
      (p.unsharedGflops !== undefined ? `, the others at a median ${fmt(p.unsharedGflops)} GFLOP/s` : "")
    : "";
  return `${fmt(100 * p.share, 0)}% of the Wasm peak measured alongside (${fmt(p.probeGflops)} GFLOP/s)${shared}`;
}

/** The probe's build, in words. */
const probeKind = (p: ProbeSummary) => (p.build === "relaxed" ? "FMA via `f32x4.relaxed_madd`" : "`f32x4.mul` + `f32x4.add`");

export function checkTargets(r: Results): Target[] {
  const out: Target[] = [];
  const wasmThreads = r.contenders["wasmgrad-wasm"]?.threads ?? r.threads;
  const single = wasmThreads === 1 ? "" : ` (this run: ${wasmThreads} threads)`;
  const gemmShapes: [number, number, number, number][] = [[256, 784, 256, 45], [1024, 1024, 1024, 45], [256, 256, 10, 25]];
  for (const [m, k, n, min] of gemmShapes) {
    for (const layout of ["NN", "NT", "TN"] as const) {
      const cell = r.gemm?.find((c) => c.m === m && c.k === k && c.n === n && c.layout === layout);
      const note = cell ? peakNote(cell.stats["wasmgrad-wasm"]) : r.mode === "quick" ? "not in --quick" : undefined;
      out.push(atLeast(`GEMM ${m}×${k}×${n} ${layout}, wasmgrad-wasm, ${wasmThreads} thread${wasmThreads === 1 ? "" : "s"}`, cell?.stats["wasmgrad-wasm"]?.gflops, min, " GFLOP/s", 1, note));
    }
  }
  for (const [m, k, n] of gemmShapes) {
    for (const layout of ["NN", "NT", "TN"] as const) {
      const cell = r.gemm?.find((c) => c.m === m && c.k === k && c.n === n && c.layout === layout);
      const w = cell?.stats["wasmgrad-wasm"]?.gflops;
      const j = cell?.stats["wasmgrad-js"]?.gflops;
      const note = cell ? undefined : r.mode === "quick" ? "not in --quick" : undefined;
      out.push(atLeast(`Wasm/JS ${m}×${k}×${n} ${layout}`, w !== undefined && j !== undefined ? w / j : undefined, 20, "×", 1, note));
    }
  }
  const t = r.training;
  const partial = r.mode === "quick" ? "extrapolated from a partial epoch (--quick)" : undefined;
  const we = t?.epoch["wasmgrad-wasm"];
  out.push(atMost(
    `training epoch, wasmgrad-wasm${single}`, we?.epochSeconds, 2.0, " s", 2,
    [we?.mode === "partial" ? partial ?? "extrapolated" : undefined, we ? epochCoreNote(we) : undefined].filter(Boolean).join("; ") || undefined,
  ));
  const tw = t?.epoch["tfjs-wasm"];
  out.push(atLeast(
    "epoch speed-up over tfjs-wasm (same run)",
    we && tw ? pairedEpochRatio(tw, we) : undefined, 12, "×", 1,
    [
      "median over rounds of the two contenders' ratio in each round",
      tw?.mode === "partial" ? `tfjs-wasm timed on ${tw.batchesPerRepeat} batches × ${tw.repeats}, extrapolated` : undefined,
    ].filter(Boolean).join("; "),
  ));
  const ev = t?.eval["wasmgrad-wasm"];
  out.push(atMost("test-set evaluation (10 000 images), wasmgrad-wasm", ev?.seconds, 0.15, " s", 3, ev?.mode === "partial" ? "extrapolated from a partial pass" : undefined));
  const hw = t?.highWater;
  if (hw && hw.afterEpoch.length >= 2) {
    const first = hw.afterEpoch[0]!;
    const last = Math.max(...hw.afterEpoch);
    const grew = last - first;
    out.push({
      what: "memoryStats().highWater flat over epochs", target: "no growth after epoch 1",
      measured: `${fmt(first / MiB, 2)} MiB after epoch 1, ${fmt(last / MiB, 2)} MiB at most after`,
      ok: grew <= 0, miss: grew > 0 ? `grew by ${grew} bytes after epoch 1` : undefined,
      note: we?.mode === "partial" ? "epochs were partial" : undefined,
    });
  } else out.push({ what: "memoryStats().highWater flat over epochs", target: "no growth after epoch 1", measured: "not measured", ok: null });
  const rss = t?.peakRssBytes["wasmgrad-wasm"];
  out.push(atMost(
    "peak RSS of a wasmgrad-wasm training run", rss === undefined ? undefined : rss / MiB, 200, " MiB", 0,
    t ? `${t.trainSize === 60000 ? "full data" : `${t.trainSize}-image subset`}, ${we?.mode === "full" ? `${we.repeats + 0} full epochs + warm-up` : "partial epochs"}, evaluations included` : undefined,
  ));
  return out;
}

/**
 * How many times slower `slow` was than `fast` per image: the median over
 * rounds of the ratio within each round. The contenders of a round run back to
 * back, so the machine's drift between rounds cancels out of each ratio (the
 * ratio of the two medians can pair a fast round of one with a slow one of the
 * other).
 */
/**
 * What the peak probe pair sampled between an epoch summary's batches says
 * about the core (see run.ts): how many samples found it shared, overall and
 * per timed epoch, or undefined when none were taken.
 */
export function epochCoreNote(s: EpochSummary): string | undefined {
  const epochs = s.raw.filter((r) => r.coreShares?.length);
  if (!epochs.length) return undefined;
  const sharedIn = (xs: number[]) => xs.filter((x) => x < CORE_SHARED_BELOW).length;
  const all = epochs.flatMap((r) => r.coreShares!);
  const perEpoch = epochs
    .map((r) => `${r.seconds.toFixed(2)} s: ${sharedIn(r.coreShares!)}/${r.coreShares!.length}`)
    .join(", ");
  return `the core was shared (busy probe < ${100 * CORE_SHARED_BELOW}% of plain) in ${sharedIn(all)} of ${all.length} probe samples taken between its batches (by timed epoch: ${perEpoch})`;
}

export function pairedEpochRatio(slow: EpochSummary, fast: EpochSummary): number | undefined {
  const rounds = Math.min(slow.raw.length, fast.raw.length);
  if (rounds === 0) return undefined;
  const perImage = (r: EpochSummary["raw"][number]) => r.seconds / r.images;
  return median(Array.from({ length: rounds }, (_, i) => perImage(slow.raw[i]!) / perImage(fast.raw[i]!)));
}

// ---- markdown ------------------------------------------------------------------

function table(head: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? "l" : "r"));
  return [
    `| ${head.join(" | ")} |`,
    `|${a.map((x) => (x === "r" ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

const ratio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`);

function threadsLine(r: Results): string {
  const w = r.contenders["wasmgrad-wasm"]?.threads;
  if (r.threads === 1 && (w === undefined || w === 1)) return "1 (every contender single-threaded)";
  return `${r.threads} asked (\`--threads\`), wasmgrad-wasm ran on ${w ?? "?"}, torch on ${r.contenders.torch?.threads ?? "–"}, tfjs on 1`;
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

/** The title, the run, the machine, the versions and how samples are taken. */
function headerSection(r: Results, L: string[]): void {
  L.push(`# wasmgrad benchmark suite${r.mode === "quick" ? " — QUICK RUN (fewer repeats, fewer shapes, partial epochs scaled)" : ""}`);
  L.push("");
  const phases = [r.phaseSeconds.gemm !== undefined ? `GEMM ${fmt(r.phaseSeconds.gemm, 0)} s` : "", r.phaseSeconds.training !== undefined ? `training ${fmt(r.phaseSeconds.training, 0)} s` : ""].filter(Boolean).join(", ");
  L.push(`${r.date} · \`${r.command}\` · ${r.mode} run in ${fmt(r.seconds, 0)} s (${phases}) · threads: ${threadsLine(r)} · load average ${fmt(r.loadAverage.start, 2)} at the start, ${fmt(r.loadAverage.end, 2)} at the end`);
  L.push("");
  const noise = noiseFindings(r);
  if (noise.length) {
    L.push(`**Noisy run** (spread above ${NOISY_SPREAD}× or a loaded machine): ${noise.join("; ")}. Ratios within a round hold better than the absolute figures; \`--peak-probe\` tells a shared core from a slow kernel.`);
    L.push("");
  }
  L.push(`**Machine:** ${r.machine.cpu} (${r.machine.cpuDetail}), ${r.machine.logicalCpus} logical CPUs, ${fmt(r.machine.memoryGiB, 0)} GiB, ${r.machine.os}`);
  L.push("");
  L.push(`**Versions:** ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(" · ")}`);
  L.push("");
  L.push(
    "Every contender runs in its own process, driven over JSON lines by `bench/suite/run.ts`; samples are taken " +
      "round-robin over the contenders (one sample each per round, the starting contender rotating), so machine noise " +
      "hits all of them alike. Figures are medians. Ratios are wasmgrad-wasm's speed-up over the other contender " +
      "(> 1: wasmgrad-wasm is faster).",
  );
  if (r.notes.length) {
    L.push("");
    for (const n of r.notes) L.push(`- ${n}`);
  }
}

/** The issue's targets, met or missed. */
function targetsSection(r: Results, L: string[]): void {
  L.push("");
  L.push("## Targets (issue 4)");
  L.push("");
  L.push(table(
    ["what", "target", "measured", "", "missed by / note"],
    r.targets.map((t) => [t.what, t.target, t.measured, t.ok === null ? "–" : t.ok ? "✓" : "✗", [t.miss, t.note].filter(Boolean).join("; ")]),
    ["l", "l", "r", "l", "l"],
  ));
  const pass = r.targets.filter((t) => t.ok === true).length;
  const fail = r.targets.filter((t) => t.ok === false).length;
  const none = r.targets.filter((t) => t.ok === null).length;
  L.push("");
  L.push(`${pass} met, ${fail} missed${none ? `, ${none} not measured` : ""}.`);
}

/** How fast the machine was during this run (PyTorch in the same rounds; the peak probe with --peak-probe). */
function speedSection(r: Results, L: string[]): void {
  const we = r.training?.epoch["wasmgrad-wasm"];
  const te = r.training?.epoch.torch;
  // This VM's speed drifts by a third or more from one stretch to the next: PyTorch, timed in the same rounds,
  // and the Wasm peak probe, run right after each wasmgrad-wasm GEMM sample, say how fast this run's stretches were.
  const speed: string[] = [];
  if (we && te && r.training?.trainSize === 60000) {
    speed.push(
      `PyTorch took ${fmt(te.epochSeconds, 2)} s per epoch in this run (the issue measured ` +
        `1.1–1.6 s on this kind of machine when quiet), and wasmgrad-wasm ${fmt(pairedEpochRatio(we, te) ?? NaN, 2)}× ` +
        `PyTorch's time (the median of the rounds' ratios). The ≤ 2 s target is 1.25–1.8× PyTorch's quiet-machine time.`,
    );
  }
  if (r.probe) {
    const p = r.probe;
    speed.push(
      `The Wasm SIMD peak probe (${probeKind(p)}) ran at a median ${fmt(p.median)} GFLOP/s during the GEMM samples` +
        (p.quietGflops ? ` (about ${p.quietGflops} on this CPU when the machine is quiet: ~${fmt((100 * p.median) / p.quietGflops, 0)}% of that).` : ".") +
        (p.coreShare !== undefined && p.pairedSamples
          ? ` Its busy twin says the core was shared with a busy hyperthread in ${p.sharedSamples} of ${p.pairedSamples} GEMM samples ` +
            `(busy ÷ plain probe: median ${fmt(100 * p.coreShare, 0)}%); such samples run the GEMM about a third slower.`
          : ""),
    );
  }
  if (speed.length) {
    L.push("");
    L.push(`How fast the machine was: ${speed.join(" ")}`);
  }
}

/** GEMM GFLOP/s per shape and layout, the probe, and the speed-up table. */
function gemmSection(r: Results, L: string[]): void {
  if (!r.gemm) return;
  L.push("");
  L.push("## GEMM, GFLOP/s (median; 2·M·N·K / time)");
  L.push("");
  L.push(
    "M×K×N: C[M, N] = op(A)[M, K] · op(B)[K, N]. NN: A[M,K]·B[K,N]; NT: A·B[N,K]ᵀ (Linear's forward); TN: A[K,M]ᵀ·B (Linear's weight gradient). " +
      "wasmgrad-wasm/-js: the backend's `f32_gemm` kernel into a preallocated C (the calls Linear makes; the issue's GFLOP/s targets); " +
      "*wasmgrad-wasm op*: the same through wasmgrad's op that allocates the output tensor (what `matmul` runs); " +
      "tfjs: `tf.matMul(a, b, transposeA, transposeB)` (output allocated and disposed per call); torch: `a @ b`, `a @ b.T`, `a.T @ b` on contiguous tensors. " +
      "The range is wasmgrad-wasm's slowest–fastest sample. " +
      "*% of peak*: the median over the cell's samples of wasmgrad-wasm's GFLOP/s ÷ the Wasm SIMD peak probe's, run right after that sample in the same process " +
      "(what the machine's SIMD units could do at that moment: this column moves with the kernel, much less with the machine's speed than the GFLOP/s do; " +
      "the probe touches no memory, so other work's contention for caches and memory bandwidth still lowers it). " +
      "*shared*: how many of the cell's samples ran on a shared core, told by the busy probe (the same FMA chains with an integer add per FMA, about as dense in micro-ops as the GEMM's k loop) " +
      `running below ${100 * CORE_SHARED_BELOW}% of the plain one right after the sample (near 100%, this process had the core to itself; lower, the core's other hyperthread was busy, another tenant of the host, ` +
      "and the two threads split the core's micro-op issue: the plain probe barely notices, the GEMM, ~2.5 micro-ops per FMA, and the busy probe lose about a third). " +
      "*unshared*: the median of the other samples.",
  );
  L.push("");
  const head = ["M×K×N", "layout", "wasmgrad-wasm", "(range)", "% of peak", "shared", "unshared", "wasm op", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu", "torch"];
  const rows = r.gemm.map((c) => {
    const s = c.stats;
    const g = (e: GemmEntry) => (s[e]?.error ? "error" : s[e] ? fmt(s[e]!.gflops, s[e]!.gflops < 10 ? 2 : 1) : "–");
    const w = s["wasmgrad-wasm"];
    const peak = w?.peak ? `${fmt(100 * w.peak.share, 0)}%` : "–";
    const shared = w?.peak?.coreSamples ? `${w.peak.sharedSamples}/${w.peak.coreSamples}` : "–";
    const unshared = w?.peak?.unsharedGflops !== undefined ? fmt(w.peak.unsharedGflops) : "–";
    return [shapeLabel(c), c.layout, g("wasmgrad-wasm"), w ? `${fmt(w.low)}–${fmt(w.high)}` : "–", peak, shared, unshared, g("wasmgrad-wasm op"), g("wasmgrad-js"), g("tfjs-wasm"), g("tfjs-cpu"), g("torch")];
  });
  L.push(table(head, rows));
  if (r.probe) {
    const p = r.probe;
    L.push("");
    L.push(
      `Wasm SIMD peak probe (\`bench/suite/peak.ts\`), for wasmgrad's ${p.backend} build: ${p.what}, in registers, no memory traffic. ` +
        `This run: median ${fmt(p.median)} GFLOP/s, ${fmt(p.low)}–${fmt(p.high)} over ${p.samples} samples` +
        (p.quietGflops ? ` (about ${p.quietGflops} GFLOP/s on this CPU when the machine is quiet: ${p.build === "relaxed" ? "16" : "~12"} flop/cycle at ~3.25 GHz).` : ".") +
        (p.busy && p.coreShare !== undefined
          ? ` Its busy twin: median ${fmt(p.busy.median)} GFLOP/s, ${fmt(p.busy.low)}–${fmt(p.busy.high)}, ${fmt(100 * p.coreShare, 0)}% of the plain probe; ` +
            `${p.sharedSamples} of ${p.pairedSamples} samples ran on a shared core (busy < ${100 * CORE_SHARED_BELOW}% of plain).`
          : "") +
        (p.note ? ` Note: ${p.note}.` : ""),
    );
  }
  L.push("");
  L.push("wasmgrad-wasm's speed-up (its GFLOP/s ÷ the other's):");
  L.push("");
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
  L.push("");
  L.push(
    `Samples per cell: ${samples.join(", ")} (slow contenders get fewer, spread evenly over the rounds). ` +
      "A full run measures the cells in three passes over the whole table, a third of the samples each, so that a " +
      "slow stretch of the machine is shared among the cells instead of falling on whichever ran then.",
  );
}

/** One epoch of the d2l MLP per contender, and the test-set evaluation. */
function trainingSection(r: Results, L: string[]): void {
  const t = r.training;
  if (!t) return;
  L.push("");
  L.push("## Training: one epoch of the d2l dropout MLP");
  L.push("");
  L.push(
    `Flatten → Linear(784,256) → ReLU → Dropout(0.2) → Linear(256,256) → ReLU → Dropout(0.5) → Linear(256,10); normal(0, 0.01) init; ` +
      `SGD lr 0.5; batch 256; cross-entropy; ${t.trainSize} training images (${t.batchesPerEpoch} batches), shuffled each epoch; ` +
      "each batch also reads the loss and the batch accuracy (as d2l's train_epoch_ch3 does). " +
      "*partial*: that many batches per repeat, timed and extrapolated to the epoch by images (labelled). " +
      "*data*: share of the time spent taking batches from the loader (incl. u8→float conversion).",
  );
  L.push("");
  const order = CONTENDERS.filter((c) => t.epoch[c] || t.errors[c]);
  const we = t.epoch["wasmgrad-wasm"];
  L.push(table(
    ["contender", "s / epoch", "(range)", "images/s", "measured as", "data", "loss", "train acc", "÷ wasmgrad-wasm"],
    order.map((c) => {
      const e = t.epoch[c];
      if (!e) return [c, "error", "", "", t.errors[c] ?? "", "", "", "", ""];
      const how = e.mode === "full" ? `${e.repeats} full epochs` : `${e.batchesPerRepeat} batch${e.batchesPerRepeat === 1 ? "" : "es"} × ${e.repeats}, **extrapolated**`;
      return [
        c, fmt(e.epochSeconds, 2), `${fmt(e.epochSecondsLow, 2)}–${fmt(e.epochSecondsHigh, 2)}`, fmt(e.imagesPerSecond, 0), how,
        `${fmt(100 * e.dataShare, 0)}%`, fmt(e.lastLoss, 3), fmt(e.lastAccuracy, 3), we ? ratio(e.epochSeconds / we.epochSeconds) : "–",
      ];
    }),
    ["l", "r", "r", "r", "l", "r", "r", "r", "r"],
  ));
  const core = we && epochCoreNote(we);
  if (core) {
    L.push("");
    L.push(
      "wasmgrad-wasm's timed epochs sample the peak probe and its busy twin about ten times each, between batches " +
        `(their time is left out of the epoch's; see the GEMM section for what they tell): ${core}.`,
    );
  }
  L.push("");
  L.push("### Test-set evaluation (eval mode, no gradients, batch 256)");
  L.push("");
  const ev = t.eval["wasmgrad-wasm"];
  L.push(table(
    ["contender", `s / ${t.testSize} images`, "images/s", "measured as", "test acc", "÷ wasmgrad-wasm"],
    CONTENDERS.filter((c) => t.eval[c]).map((c) => {
      const e = t.eval[c]!;
      const how = e.mode === "full" ? `${e.repeats} full passes` : `${e.batchesPerRepeat} batch${e.batchesPerRepeat === 1 ? "" : "es"} × ${e.repeats}, **extrapolated**`;
      return [c, fmt(e.seconds, 3), fmt(e.imagesPerSecond, 0), how, fmt(e.accuracy, 3), ev ? ratio(e.seconds / ev.seconds) : "–"];
    }),
    ["l", "r", "r", "l", "r", "r"],
  ));
  memorySection(t, L);
}

/** Peak RSS, wasmgrad's memoryStats, the epoch profile and the contenders' errors. */
function memorySection(t: TrainingResult, L: string[]): void {
  L.push("");
  L.push("### Memory");
  L.push("");
  const refs: Partial<Record<ContenderName, string>> = { "wasmgrad-wasm": "target ≤ 200 MiB", "tfjs-wasm": "issue: ~390 MiB", torch: "issue: ~510 MiB" };
  const mib = (x: number | undefined) => (x === undefined ? "–" : `${fmt(x / MiB, 0)} MiB`);
  L.push(table(
    ["contender", "peak RSS", "peak after loading the data", "RSS at the end", "reference"],
    CONTENDERS.filter((c) => t.peakRssBytes[c] !== undefined)
      .map((c) => [c, mib(t.peakRssBytes[c]), mib(t.peakRssAfterLoadBytes[c]), mib(t.rssAtEndBytes[c]), refs[c] ?? ""]),
    ["l", "r", "r", "r", "l"],
  ));
  L.push("");
  L.push(
    "Peak RSS is each training process's own maximum (`process.resourceUsage().maxRSS`, Python's `ru_maxrss`), over loading the data, " +
      "the warm-up, every timed epoch and evaluation; contenders timed on partial epochs ran only those batches. " +
      "The JS contenders run as an esbuild bundle under plain node (no tsx loader).",
  );
  if (t.highWater) {
    const hw = t.highWater;
    const grew = hw.afterEpoch.length > 1 && Math.max(...hw.afterEpoch) > hw.afterEpoch[0]!;
    L.push("");
    L.push(
      `wasmgrad-wasm \`memoryStats().highWater\`: ${fmt(hw.afterWarmup / MiB, 2)} MiB after the warm-up; after epochs 1…${hw.afterEpoch.length}: ` +
        `${hw.afterEpoch.map((x) => fmt(x / MiB, 2)).join(", ")} MiB — ${grew ? "**it grew after epoch 1**" : "flat: it did not grow after epoch 1"}` +
        ` (an evaluation pass runs between epochs).`,
    );
  }
  if (t.memoryStats) {
    L.push("");
    L.push(`wasmgrad-wasm \`memoryStats()\` at the end: ${Object.entries(t.memoryStats).map(([k, v]) => `${k} ${k.endsWith("Tensors") ? v : `${fmt(v / MiB, 2)} MiB`}`).join(", ")}.`);
  }
  if (t.profile) {
    const p = t.profile;
    L.push("");
    L.push(`### Where a wasmgrad-wasm epoch goes (${p.batches} batches, ${fmt(p.seconds, 2)} s with every kernel call timed)`);
    L.push("");
    L.push(table(
      ["part", "seconds", "share", "calls"],
      p.rows.map((x) => [x.name, fmt(x.seconds, 3), `${fmt((100 * x.seconds) / p.seconds, 1)}%`, x.calls ? String(x.calls) : ""]),
      ["l", "r", "r", "r"],
    ));
    L.push("");
    L.push(
      "Kernel rows: time inside the Wasm kernels, by family. Phase rows: wall time of each part of the loop; " +
        "*TS* is that phase's time outside the kernels (the TypeScript layer: tensor handles, autograd, allocator, step-scoped reclaim). " +
        "GC: V8's collector pauses during the epoch (they fall inside the phases).",
    );
  }
  const errs = Object.entries(t.errors);
  if (errs.length) {
    L.push("");
    for (const [c, e] of errs) L.push(`- ${c}: ${e}`);
  }
}

export function renderMarkdown(r: Results): string {
  const L: string[] = [];
  headerSection(r, L);
  targetsSection(r, L);
  speedSection(r, L);
  gemmSection(r, L);
  trainingSection(r, L);
  L.push("");
  L.push("## Contenders");
  L.push("");
  for (const [c, info] of Object.entries(r.contenders)) {
    L.push(`- **${c}** (${info!.threads} thread${info!.threads === 1 ? "" : "s"}): ${Object.entries(info!.versions).map(([k, v]) => `${k} ${v}`).join(" · ")}`);
  }
  L.push("");
  L.push(`Data: ${r.data.dir}${r.data.note ? ` — ${r.data.note}` : ""}.`);
  L.push("");
  return L.join("\n");
}

