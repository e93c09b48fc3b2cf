// DataLoader: batches of a dataset, in order or shuffled by the seeded
// generator. Each batch is a step boundary (see storage.ts): the loader
// reclaims what the step two batches back made, so a plain training loop
// runs in constant memory without dispose() calls.

import { getBackend } from "../backend/index.ts";
import { describeValue } from "../graph.ts";
import { takeStream } from "../random.ts";
import { BATCH, beginOp, boundary } from "../storage.ts";
import { fmt } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import type { Dataset } from "./dataset.ts";

export interface DataLoaderOptions {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Draw a new order every epoch from the seeded generator (default false). */
  shuffle?: boolean;
  /** Leave out the last batch when it would be smaller than batchSize (default false). */
  dropLast?: boolean;
}

export class DataLoader<T extends readonly Tensor[] = Tensor[]> implements Iterable<T> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;

  constructor(readonly dataset: Dataset<T>, options: DataLoaderOptions = {}) {
    // Anything without a length would iterate as an empty loader: no batches, no error, no training.
    if (dataset === null || typeof dataset !== "object" || !Number.isInteger(dataset.length) || typeof dataset.get !== "function") {
      const hint = dataset instanceof Tensor ? ": wrap tensors in new data.TensorDataset(X, y)" : "";
      throw new TypeError(`DataLoader: expected a Dataset (an integer length and get(i)), got ${describeValue(dataset)}${hint}`);
    }
    const { batchSize = 1, shuffle = false, dropLast = false } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new RangeError(`batchSize should be a positive integer value, but got batchSize=${batchSize}`);
    }
    for (const [name, v] of [["shuffle", shuffle], ["dropLast", dropLast]] as const) {
      if (typeof v !== "boolean") throw new TypeError(`DataLoader: ${name} must be true or false, got ${describeValue(v)}`);
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One epoch. Shuffling draws a new order for each epoch, as iter() of a torch DataLoader does. */
  *[Symbol.iterator](): Iterator<T> {
    const order = this.shuffle ? randomPermutation(this.dataset.length) : identity(this.dataset.length);
    const batches = this.length;
    for (let b = 0; b < batches; b++) {
      const indices = order.subarray(b * this.batchSize, (b + 1) * this.batchSize);
      boundary(BATCH, true);
      yield this.dataset.getBatch ? this.dataset.getBatch(indices) : stackItems(this.dataset, indices);
    }
  }
}

function identity(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * Fisher–Yates driven by n uniforms from the library's generator (the same on
 * every backend), so manualSeed fixes the order.
 */
function randomPermutation(n: number): Int32Array {
  const order = identity(n);
  const be = getBackend();
  const uniforms = be.allocator.alloc(n * 4);
  try {
    const stream = takeStream(be, n);
    be.kernels.random_uniform(uniforms, n, stream.seedLo, stream.seedHi, stream.offset, 0, 1);
    const u = be.heap.f32.subarray(uniforms >>> 2, (uniforms >>> 2) + n);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(u[i]! * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  } finally {
    be.allocator.free(uniforms);
  }
  return order;
}

/** The batch of a dataset without getBatch: its items copied row by row into step-scoped tensors. */
function stackItems<T extends readonly Tensor[]>(dataset: Dataset<T>, indices: Int32Array): T {
  const items = Array.from(indices, (i) => dataset.get(i));
  const first = items[0]!;
  return first.map((field, f) => {
    const rowBytes = field.numel() * 4;
    beginOp("a DataLoader batch");
    const out = Tensor.empty([items.length, ...field.shape], field.dtype, field.backend, "step");
    const bytes = field.backend.heap.u8;
    items.forEach((item, row) => {
      const part = item[f]!;
      if (part.backend !== field.backend || part.dtype !== field.dtype || part.shape.join() !== field.shape.join()) {
        throw new RangeError(
          `DataLoader: cannot stack tensor ${f} of the batch's items: item ${indices[0]} has ${describe(field)}, ` +
            `item ${indices[row]} has ${describe(part)}`,
        );
      }
      bytes.copyWithin(out.ptr + row * rowBytes, part.ptr, part.ptr + rowBytes);
    });
    return out;
  }) as unknown as T;
}

function describe(t: Tensor): string {
  return `${t.dtype} ${fmt(t.shape)} on the ${t.backend.name} backend`;
}
