// What max(dim) and min(dim) return: PyTorch's named tuple (values, indices),
// readable by name (`x.max(1).values`) or destructured (`const [v, i] = x.max(1)`).

import type { Tensor } from "./tensor.ts";

export class ValuesIndices {
  constructor(readonly values: Tensor, readonly indices: Tensor) {}

  *[Symbol.iterator](): Iterator<Tensor> {
    yield this.values;
    yield this.indices;
  }

  toString(): string {
    return `(values=${String(this.values)}, indices=${String(this.indices)})`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
