// The book's figures as SVG: Vega-Lite specs compiled to Vega and rendered
// headlessly (renderer "none" → toSVG(), no canvas or browser needed).
//
// Weight decay: per λ, train and test loss against epochs on a log scale (the
// chapter's semilogy plots, one panel per λ). Dropout: train loss, train
// accuracy and test accuracy against epochs (d2l's train_ch3 animator).

import { writeFileSync } from "node:fs";
import * as vega from "vega";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { EpochStats } from "../training.ts";
import type { WeightDecayEpoch } from "../experiments/weight-decay.ts";

// d2l's default line formats: '-' (blue), 'm--', 'g-.'.
const BLUE = "#1f77b4";
const MAGENTA = "#bf00bf";
const GREEN = "#008000";
const SOLID = [1, 0];
const DASHED = [6, 4];
const DASH_DOT = [6, 3, 1, 3];

// Without a canvas, Vega estimates a text's width as 0.8 em per character,
// nearly twice the real width: titles and legends then get far too much room.
// Helvetica's widths (Arial's are the same; DejaVu Sans, Linux's usual
// fallback, is a little wider, hence the 5%) for printable ASCII, per 1000 em.
const HELVETICA = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
  556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
  1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
  667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
  333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
  556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
];

export function textWidth(text: string, fontSize: number): number {
  let units = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    units += code >= 32 && code < 127 ? HELVETICA[code - 32] : 600;
  }
  return (units / 1000) * fontSize * 1.05;
}

type TextItem = { text?: unknown; fontSize?: number };
const metrics = (vega as unknown as {
  textMetrics: { width: (item: TextItem, text?: unknown) => number; estimateWidth: unknown; height: (item: TextItem) => number };
}).textMetrics;
if (metrics.width === metrics.estimateWidth) {
  metrics.width = (item, text) => textWidth(text == null ? "" : String(text).trim(), metrics.height(item));
}

const CONFIG = {
  font: "Helvetica, Arial, DejaVu Sans, sans-serif",
  view: { stroke: "#444" },
  axis: { grid: true, gridColor: "#e6e6e6", labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal" as const },
  legend: { labelFontSize: 12, symbolStrokeWidth: 2, symbolSize: 300, symbolType: "stroke" as const },
  title: { fontSize: 14, fontWeight: "normal" as const, anchor: "start" as const },
  header: { labelFontSize: 13, labelFontWeight: "bold" as const },
};

const DECADE = "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6";

export interface WeightDecaySeries {
  /** Panel title: "λ = 3", "L1, λ = 1". */
  label: string;
  history: WeightDecayEpoch[];
}

/** One panel per λ: train and test loss (log scale) against epochs. */
export function weightDecaySpec(series: WeightDecaySeries[], title = "Weight decay: train and test loss"): TopLevelSpec {
  const values = series.flatMap((s) =>
    s.history.flatMap((h) => [
      { panel: s.label, epoch: h.epoch, split: "train", loss: h.trainLoss },
      { panel: s.label, epoch: h.epoch, split: "test", loss: h.testLoss },
    ]),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values },
    // A log scale has no place for 0 (a loss that underflowed) or a diverged NaN.
    transform: [{ filter: "isFinite(datum.loss) && datum.loss > 0" }],
    // Up to three panels a row, as the book lays out its figures side by side.
    facet: { field: "panel", type: "nominal", title: null, sort: series.map((s) => s.label) },
    columns: Math.min(3, Math.max(1, series.length)),
    spec: {
      width: 260,
      height: 200,
      mark: { type: "line", strokeWidth: 2, clip: true },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epochs", scale: { nice: false, zero: false } },
        y: {
          field: "loss", type: "quantitative", title: "loss", scale: { type: "log" },
          // Grid lines and ticks at powers of ten only (a log axis over a few decades adds 2, 3, … 9).
          axis: { format: "~e", tickCount: 6, gridOpacity: { condition: { test: DECADE, value: 1 }, value: 0 }, tickOpacity: { condition: { test: DECADE, value: 1 }, value: 0 } },
        },
        color: { field: "split", type: "nominal", title: null, scale: { domain: ["train", "test"], range: [BLUE, MAGENTA] } },
        strokeDash: { field: "split", type: "nominal", title: null, scale: { domain: ["train", "test"], range: [SOLID, DASHED] } },
      },
    },
    resolve: { scale: { y: "independent" } },
    config: CONFIG,
  };
}

/** Train loss, train accuracy and test accuracy against epochs. */
export function mlpSpec(history: EpochStats[], title = "Dropout MLP on Fashion-MNIST"): TopLevelSpec {
  const series = ["train loss", "train acc", "test acc"];
  const values = history.flatMap((h) => [
    { epoch: h.epoch, series: "train loss", value: h.trainLoss },
    { epoch: h.epoch, series: "train acc", value: h.trainAcc },
    { epoch: h.epoch, series: "test acc", value: h.testAcc },
  ]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values },
    width: 360,
    height: 240,
    mark: { type: "line", strokeWidth: 2, point: history.length < 2 },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, format: "d" }, scale: { nice: false } },
      y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null, sort: series, scale: { domain: series, range: [BLUE, MAGENTA, GREEN] } },
      strokeDash: { field: "series", type: "nominal", title: null, sort: series, scale: { domain: series, range: [SOLID, DASHED, DASH_DOT] } },
    },
    config: CONFIG,
  };
}

/** Both figures, one above the other (the demo's). */
export function stackedSpec(specs: TopLevelSpec[]): TopLevelSpec {
  const parts = specs.map((s) => {
    const { $schema: _schema, config: _config, ...rest } = s as unknown as Record<string, unknown>;
    return rest;
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    vconcat: parts as never,
    spacing: 40,
    resolve: { scale: { color: "independent", strokeDash: "independent" }, legend: { color: "independent", strokeDash: "independent" } },
    config: CONFIG,
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function writeSvg(path: string, spec: TopLevelSpec): Promise<void> {
  writeFileSync(path, await renderSvg(spec));
}
