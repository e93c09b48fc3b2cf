// The TensorFlow.js contender (4.22, the "wasm" or "cpu" backend), written as
// its documentation and examples do: variables, tf.train.sgd's minimize() under
// tf.tidy, tf.dropout, tf.losses.softmaxCrossEntropy on one-hot labels, and
// batches made with tf.tensor2d from a Float32Array, as tfjs-examples/mnist does.
// In Node the wasm backend runs single-threaded (no threaded build is used
// there), SIMD on.

import type * as TF from "@tensorflow/tfjs";
import { timeCalls } from "../stats.ts";
import { fillRandom, operandShapes, readSplit, rss, shuffled, warmUp, type Contender, type EpochReply, type EvalReply, type InfoReply, type Layout, type StatsReply } from "./contender.ts";

type Split = ReturnType<typeof readSplit>;

const PIXELS = 784;
const BATCH = 256;

export async function createTfjsContender(backend: "wasm" | "cpu"): Promise<TfjsContender> {
  const tf = await import("@tensorflow/tfjs");
  const versions: Record<string, string> = { "@tensorflow/tfjs": tf.version.tfjs, "tfjs backend": backend, node: process.version };
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setThreadsCount(1); // one thread, like everyone here (Node does not use the threaded build anyway)
    versions["@tensorflow/tfjs-backend-wasm"] = wasm.version_wasm;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: the ${backend} backend failed to initialise`);
  await tf.ready();
  if (backend === "wasm") versions["wasm SIMD"] = String(tf.env().features["WASM_HAS_SIMD_SUPPORT"]);
  return new TfjsContender(tf, versions);
}

interface Model {
  vars: TF.Variable[];
  opt: TF.SGDOptimizer;
  train: Split;
  test: Split;
}

export class TfjsContender implements Contender {
  private gemmState: { a: TF.Tensor2D; b: TF.Tensor2D; tA: boolean; tB: boolean } | null = null;
  private model: Model | null = null;

  constructor(private readonly tf: typeof TF, private readonly versions: Record<string, string>) {}

  info(): InfoReply {
    return { contender: `tfjs-${this.versions["tfjs backend"]}`, versions: this.versions, notes: [], threads: 1 };
  }

  gemmSetup(m: number, k: number, n: number, layout: Layout, warmupMs: number): number {
    this.gemmFree();
    const tf = this.tf;
    const shapes = operandShapes(m, k, n, layout);
    const av = new Float32Array(m * k);
    const bv = new Float32Array(k * n);
    fillRandom(av, 1);
    fillRandom(bv, 2);
    this.gemmState = { a: tf.tensor2d(av, shapes.a), b: tf.tensor2d(bv, shapes.b), tA: layout === "TN", tB: layout === "NT" };
    // Check once that the product is what it should be (and is computed).
    const c = this.call();
    if (c.shape[0] !== m || c.shape[1] !== n) throw new Error(`tfjs matMul gave ${c.shape}, expected ${m}×${n}`);
    c.dataSync();
    c.dispose();
    return warmUp(() => this.call().dispose(), warmupMs);
  }

  /** tf.matMul is computed when called on the cpu and wasm backends (both are synchronous). */
  private call(): TF.Tensor {
    const { a, b, tA, tB } = this.gemmState!;
    return this.tf.matMul(a, b, tA, tB);
  }

  gemmSample(reps: number): number {
    return timeCalls(() => this.call().dispose(), reps);
  }

  gemmFree(): void {
    if (!this.gemmState) return;
    this.gemmState.a.dispose();
    this.gemmState.b.dispose();
    this.gemmState = null;
  }

  async trainSetup(dir: string, seed: number) {
    const tf = this.tf;
    const train = readSplit(dir, true);
    const test = readSplit(dir, false);
    const init = (shape: number[], s: number) => tf.variable(tf.randomNormal(shape, 0, 0.01, "float32", seed + s));
    const vars = [
      init([784, 256], 1), init([256], 2),
      init([256, 256], 3), init([256], 4),
      init([256, 10], 5), init([10], 6),
    ];
    this.model = { vars, opt: tf.train.sgd(0.5), train, test };
    return { trainSize: train.n, testSize: test.n, batchesPerEpoch: Math.ceil(train.n / BATCH) };
  }

  /** Flatten → Linear → ReLU → Dropout(0.2) → Linear → ReLU → Dropout(0.5) → Linear. */
  private forward(x: TF.Tensor2D, training: boolean): TF.Tensor2D {
    const tf = this.tf;
    const [w1, b1, w2, b2, w3, b3] = this.model!.vars as [TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable];
    let h = tf.relu(tf.add(tf.matMul(x, w1 as TF.Tensor2D), b1));
    if (training) h = tf.dropout(h, 0.2);
    h = tf.relu(tf.add(tf.matMul(h as TF.Tensor2D, w2 as TF.Tensor2D), b2));
    if (training) h = tf.dropout(h, 0.5);
    return tf.add(tf.matMul(h as TF.Tensor2D, w3 as TF.Tensor2D), b3) as TF.Tensor2D;
  }

  /** A batch as tfjs-examples/mnist makes one: a Float32Array in [0, 1], then tf.tensor2d. */
  private batch(split: Split, order: Int32Array | null, start: number): { xs: TF.Tensor2D; ys: TF.Tensor1D; n: number } {
    const n = Math.min(BATCH, split.n - start);
    const x = new Float32Array(n * PIXELS);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const i = order ? order[start + r]! : start + r;
      const src = i * PIXELS;
      const dst = r * PIXELS;
      for (let p = 0; p < PIXELS; p++) x[dst + p] = split.images[src + p]! / 255;
      y[r] = split.labels[i]!;
    }
    return { xs: this.tf.tensor2d(x, [n, PIXELS]), ys: this.tf.tensor1d(y, "int32"), n };
  }

  trainEpoch(maxBatches: number): EpochReply {
    const tf = this.tf;
    const { opt, train } = this.model!;
    const t0 = performance.now();
    const order = shuffled(train.n);
    const total = Math.ceil(train.n / BATCH);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batches = 0;
    let dataMs = 0;
    for (let b = 0; b < total; b++) {
      const d0 = performance.now();
      const { xs, ys, n } = this.batch(train, order, b * BATCH);
      dataMs += performance.now() - d0;
      let right: TF.Scalar | null = null;
      const cost = tf.tidy((): TF.Scalar =>
        opt.minimize(() => {
          const logits = this.forward(xs, true);
          right = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), "float32")) as TF.Scalar);
          return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), logits) as TF.Scalar;
        }, true)!,
      );
      lossSum += cost.dataSync()[0]! * n;
      correct += (right as TF.Scalar | null)!.dataSync()[0]!;
      tf.dispose([cost, right!, xs, ys]);
      seen += n;
      batches++;
      if (maxBatches > 0 && batches >= maxBatches) break;
    }
    return {
      seconds: (performance.now() - t0) / 1000, batches, images: seen,
      loss: lossSum / seen, accuracy: correct / seen, dataSeconds: dataMs / 1000,
    };
  }

  evaluate(maxBatches: number): EvalReply {
    const tf = this.tf;
    const { test } = this.model!;
    const t0 = performance.now();
    let correct = 0;
    let seen = 0;
    let batches = 0;
    for (let start = 0; start < test.n; start += BATCH) {
      const { xs, ys, n } = this.batch(test, null, start);
      const right = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(this.forward(xs, false), 1), ys), "float32")));
      correct += right.dataSync()[0]!;
      tf.dispose([right, xs, ys]);
      seen += n;
      batches++;
      if (maxBatches > 0 && batches >= maxBatches) break;
    }
    return { seconds: (performance.now() - t0) / 1000, batches, images: seen, accuracy: correct / seen };
  }

  stats(): StatsReply {
    return rss();
  }
}
