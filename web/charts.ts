// The page's live charts (uPlot): training loss and accuracy, and the
// weight-decay experiment's losses.

import uPlot from "uplot";
import { $, fmt } from "./dom.ts";
import type { EpochMessage } from "./protocol.ts";

const HEIGHT = 230;
const COLORS = { loss: "#2563eb", trainAcc: "#9333ea", testAcc: "#16a34a", wdTrain: "#2563eb", wdTest: "#ea580c" };

function chartWidth(el: HTMLElement): number {
  return Math.max(240, Math.floor(el.clientWidth));
}

function makeChart(el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData): uPlot {
  const chart = new uPlot({ width: chartWidth(el), height: HEIGHT, legend: { live: false }, ...opts }, data, el);
  new ResizeObserver(() => {
    const width = chartWidth(el);
    if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
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

type Cell = number | null;

/** A chart's points as uPlot wants them: an x column and one column per series, grown a row at a time. */
class Columns {
  private columns: Cell[][];
  constructor(readonly width: number) {
    this.columns = this.empty();
  }
  private empty(): Cell[][] {
    return Array.from({ length: this.width }, () => []);
  }
  /** Starts afresh with new arrays (uPlot keeps the old ones until the next setData). */
  clear(): void {
    this.columns = this.empty();
  }
  push(row: Cell[]): void {
    row.forEach((v, i) => this.columns[i]!.push(v));
  }
  /** Overwrites the last row. */
  replaceLast(row: Cell[]): void {
    const last = this.rows - 1;
    row.forEach((v, i) => (this.columns[i]![last] = v));
  }
  get rows(): number {
    return this.columns[0]!.length;
  }
  /** x, then the columns at these indices. */
  select(...ys: number[]): uPlot.AlignedData {
    return [this.columns[0] as number[], ...ys.map((i) => this.columns[i]!)];
  }
  column(i: number): readonly Cell[] {
    return this.columns[i]!;
  }
}

const X = 0;
const LOSS = 1;
const TRAIN_ACC = 2;
const TEST_ACC = 3;

/** Train loss and accuracy at fractional epochs (as d2l's Animator plots them), test accuracy at each epoch's end. */
export class TrainingCharts {
  private readonly points = new Columns(4);
  private epochs = 10;
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
    this.points.clear();
    this.redraw();
  }

  addBatch(x: number, loss: number, acc: number): void {
    this.points.push([x, loss, acc, null]);
    this.redraw();
  }

  /** The epoch's end: its point replaces the last batch's when they share an x. */
  addEpoch(e: EpochMessage): void {
    const row = [e.epoch, e.trainLoss, e.trainAcc, e.testAcc];
    const rows = this.points.rows;
    if (rows > 0 && this.points.column(X)[rows - 1] === e.epoch) this.points.replaceLast(row);
    else this.points.push(row);
    this.redraw();
  }

  private redraw(): void {
    this.lossChart.setData(this.points.select(LOSS));
    this.accChart.setData(this.points.select(TRAIN_ACC, TEST_ACC));
    $("loss-chart").dataset.points = String(this.points.rows);
    $("acc-chart").dataset.points = String(this.points.column(TEST_ACC).filter((v) => v !== null).length);
  }
}

/** The weight-decay experiment's train and test loss on a log scale, one chart per λ. */
export class WeightDecayChart {
  private readonly points = new Columns(3);
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
    this.points.clear();
    this.redraw();
  }
  /** Adds a point without drawing it: the page redraws once per animation frame. */
  add(epoch: number, train: number, test: number): void {
    this.points.push([epoch, train, test]);
  }
  redraw(): void {
    this.chart.setData(this.points.select(1, 2));
    this.el.dataset.points = String(this.points.rows);
  }
}
