// The TensorFlow.js contender (4.22, "wasm" or "cpu"), written as its examples do
// (variables, sgd.minimize() under tf.tidy, batches via tf.tensor2d): docs/benchmark-design.md.

import type * as TF from "@tensorflow/tfjs";
import { fillRandom, timeCalls, warmUp } from "../stats.ts";
import { operandShapes, readSplit, rss, shuffled, type Contender, type EpochReply, type EvalReply, type Layout } from "./contender.ts";

type Split = ReturnType<typeof readSplit>;
const BATCH = 256;

export async function createTfjsContender(backend: "wasm" | "cpu"): Promise<TfjsContender> {
  const tf = await import("@tensorflow/tfjs");
  const versions: Record<string, string> = { "@tensorflow/tfjs": tf.version.tfjs, "tfjs backend": backend, node: process.version };
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setThreadsCount(1);
    versions["@tensorflow/tfjs-backend-wasm"] = wasm.version_wasm;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: the ${backend} backend failed to initialise`);
  await tf.ready();
  if (backend === "wasm") versions["wasm SIMD"] = String(tf.env().features["WASM_HAS_SIMD_SUPPORT"]);
  return new TfjsContender(tf, versions);
}

export class TfjsContender implements Contender {
  private gemmState: { a: TF.Tensor2D; b: TF.Tensor2D; tA: boolean; tB: boolean } | null = null;
  private model: { vars: TF.Tensor2D[]; opt: TF.SGDOptimizer; train: Split; test: Split } | null = null;

  constructor(private readonly tf: typeof TF, private readonly versions: Record<string, string>) {}

  info() {
    return { contender: `tfjs-${this.versions["tfjs backend"]}`, versions: this.versions, notes: [], threads: 1 };
  }

  gemmSetup(m: number, k: number, n: number, layout: Layout, warmupMs: number): number {
    this.gemmFree();
    const shapes = operandShapes(m, k, n, layout);
    const [av, bv] = [new Float32Array(m * k), new Float32Array(k * n)];
    fillRandom(av, 1);
    fillRandom(bv, 2);
    this.gemmState = { a: this.tf.tensor2d(av, shapes.a), b: this.tf.tensor2d(bv, shapes.b), tA: layout === "TN", tB: layout === "NT" };
    const c = this.matMul();
    if (c.shape[0] !== m || c.shape[1] !== n) throw new Error(`tfjs matMul gave ${c.shape}, expected ${m}×${n}`);
    c.dataSync();
    c.dispose();
    return warmUp(() => this.matMul().dispose(), warmupMs);
  }

  /** tf.matMul is computed when called on the cpu and wasm backends (both are synchronous). */
  private matMul(): TF.Tensor {
    const { a, b, tA, tB } = this.gemmState!;
    return this.tf.matMul(a, b, tA, tB);
  }

  gemmSample(reps: number): number {
    return timeCalls(() => this.matMul().dispose(), reps);
  }

  gemmFree(): void {
    this.tf.dispose([this.gemmState?.a ?? [], this.gemmState?.b ?? []].flat());
    this.gemmState = null;
  }

  async trainSetup(dir: string, seed: number) {
    const [train, test] = [readSplit(dir, true), readSplit(dir, false)];
    const shapes = [[784, 256], [256], [256, 256], [256], [256, 10], [10]];
    const vars = shapes.map((shape, i) => this.tf.variable(this.tf.randomNormal(shape, 0, 0.01, "float32", seed + i + 1)) as unknown as TF.Tensor2D);
    this.model = { vars, opt: this.tf.train.sgd(0.5), train, test };
    return { trainSize: train.n, testSize: test.n, batchesPerEpoch: Math.ceil(train.n / BATCH) };
  }

  /** Flatten → Linear → ReLU → Dropout(0.2) → Linear → ReLU → Dropout(0.5) → Linear. */
  private forward(x: TF.Tensor2D, training: boolean): TF.Tensor2D {
    const tf = this.tf;
    const [w1, b1, w2, b2, w3, b3] = this.model!.vars as [TF.Tensor2D, TF.Tensor2D, TF.Tensor2D, TF.Tensor2D, TF.Tensor2D, TF.Tensor2D];
    const drop = (h: TF.Tensor2D, p: number) => (training ? (tf.dropout(h, p) as TF.Tensor2D) : h);
    const h = drop(tf.relu(tf.add(tf.matMul(x, w1), b1)), 0.2);
    return tf.add(tf.matMul(drop(tf.relu(tf.add(tf.matMul(h, w2), b2)), 0.5), w3), b3);
  }

  /** A batch as tfjs-examples/mnist makes one: a Float32Array in [0, 1], then tf.tensor2d. */
  private batch(split: Split, order: Int32Array | null, start: number) {
    const n = Math.min(BATCH, split.n - start);
    const x = new Float32Array(n * 784);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const i = order ? order[start + r]! : start + r;
      for (let p = 0; p < 784; p++) x[r * 784 + p] = split.images[i * 784 + p]! / 255;
      y[r] = split.labels[i]!;
    }
    return { xs: this.tf.tensor2d(x, [n, 784]), ys: this.tf.tensor1d(y, "int32"), n };
  }

  /** Batches of `split` (shuffled when training) until maxBatches (0: all): the seconds, and what `step` summed. */
  private pass(split: Split, shuffle: boolean, maxBatches: number, step: (xs: TF.Tensor2D, ys: TF.Tensor1D) => [number, number]) {
    const t0 = performance.now();
    const order = shuffle ? shuffled(split.n) : null;
    let [loss, correct, images, batches, dataMs] = [0, 0, 0, 0, 0];
    for (let start = 0; start < split.n && (maxBatches === 0 || batches < maxBatches); start += BATCH, batches++) {
      const d0 = performance.now();
      const { xs, ys, n } = this.batch(split, order, start);
      dataMs += performance.now() - d0;
      const [l, c] = step(xs, ys);
      this.tf.dispose([xs, ys]);
      [loss, correct, images] = [loss + l * n, correct + c, images + n];
    }
    return { seconds: (performance.now() - t0) / 1000, batches, images, loss: loss / images, accuracy: correct / images, dataSeconds: dataMs / 1000 };
  }

  private correct(logits: TF.Tensor, ys: TF.Tensor1D): TF.Scalar {
    const tf = this.tf;
    return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), "float32"));
  }

  trainEpoch(maxBatches: number): EpochReply {
    const { tf, model } = this;
    return this.pass(model!.train, true, maxBatches, (xs, ys) => {
      let right: TF.Scalar | null = null;
      const cost = tf.tidy(() => model!.opt.minimize(() => {
        const logits = this.forward(xs, true);
        right = tf.keep(this.correct(logits, ys));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), logits) as TF.Scalar;
      }, true)!);
      const out: [number, number] = [cost.dataSync()[0]!, right!.dataSync()[0]!];
      tf.dispose([cost, right!]);
      return out;
    });
  }

  evaluate(maxBatches: number): EvalReply {
    const { seconds, batches, images, accuracy } = this.pass(this.model!.test, false, maxBatches, (xs, ys) => {
      const right = this.tf.tidy(() => this.correct(this.forward(xs, false), ys));
      const c = right.dataSync()[0]!;
      right.dispose();
      return [0, c];
    });
    return { seconds, batches, images, accuracy };
  }

  stats() {
    return rss();
  }
}
