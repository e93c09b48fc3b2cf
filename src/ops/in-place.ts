// In-place writes (fill_, add_, copy_, uniform_, …). None joins the graph:
// each refuses a tensor autograd would have to follow, and bumps the storage's
// version so a backward that saved the old values notices.

import { isGradEnabled, withoutGrad } from "../autograd.ts";
import { AutogradError } from "../errors.ts";
import { BinaryOp } from "../backend/kernels.ts";
import { describeValue } from "../graph.ts";
import { takeStream } from "../random.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { checkFillValue } from "../tensor-values.ts";
import { binaryInto, scaled } from "./elementwise.ts";
import { writeThrough } from "./views.ts";

/** Refuses what PyTorch refuses: writing a leaf that requires grad, or a tensor in a graph, while grad is on. */
function checkInPlace(t: Tensor, what: string): void {
  beginOp();
  if (isGradEnabled() && t.requiresGrad) {
    throw new AutogradError(
      t.isLeaf
        ? `a leaf Variable that requires grad is being used in an in-place operation (${what}); wrap it in noGrad(() => …)`
        : `${what} on a tensor that is part of a graph is not supported: use the out-of-place op`,
    );
  }
}

/** Marks t as written: saved copies of its old values now fail their version check. */
function written<T extends Tensor>(t: T): T {
  t.storage.version++;
  return t;
}

/** Runs `write` on t, or on a dense copy that is then written back through the view. */
export function writeInPlace<T extends Tensor>(t: T, what: string, write: (dense: Tensor) => void): T {
  checkInPlace(t, what);
  writeThrough(t, what, write);
  return written(t);
}

export function fill<T extends Tensor>(t: T, value: number): T {
  if (typeof value !== "number") throw new TypeError(`fill_(): value must be a number, got ${describeValue(value)}`);
  checkFillValue(value, t.dtype);
  return writeInPlace(t, "fill_", (d) => {
    if (d.dtype === "int32") d.backend.heap.i32.fill(value | 0, d.ptr >>> 2, (d.ptr >>> 2) + d.numel());
    else d.backend.kernels.f32_fill(d.ptr, d.numel(), d.dtype === "bool" ? Number(value !== 0) : value);
  });
}

/** t ← t + alpha·other (add_) or t − alpha·other (sub_); alpha·other's temporary is freed at once, so an update loop leaves nothing behind. */
export function addScaled<T extends Tensor>(t: T, what: "add_" | "sub_", other: Tensor | number, alpha = 1): T {
  const o = withoutGrad(() => scaled(other, alpha));
  writeInPlace(t, what, (d) => binaryInto(d, o, what === "add_" ? BinaryOp.Add : BinaryOp.Sub));
  if (o !== other && o instanceof Tensor) o.storage.release("it was an internal temporary of add_/sub_");
  return t;
}

/** Fills t with U(low, high) or N(mean, std²) from the seeded generator. */
export function randomFill<T extends Tensor>(t: T, what: "uniform_" | "normal_", p: number, q: number): T {
  // The random kernels write float32 bits: into an int32 tensor they would be garbage integers.
  if (t.dtype !== "float32") throw new TypeError(`${what}(): only float32 tensors can be filled with random values, not ${t.dtype}`);
  // A wrong argument would reach the kernel as NaN and fill the tensor with it.
  const [pName, qName] = what === "uniform_" ? ["from", "to"] : ["mean", "std"];
  for (const [name, v] of [[pName, p], [qName, q]] as const) {
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new TypeError(`${what}(): ${name} must be a number, got ${describeValue(v)} (${pName} and ${qName} are numbers, given in that order after the tensor)`);
    }
  }
  if (what === "uniform_" && !(p <= q)) throw new RangeError(`uniform_ expects to return a [from, to) range, but found from=${p} > to=${q}`);
  if (what === "normal_" && !(q >= 0)) throw new RangeError(`normal expects std >= 0.0, but found std ${q}`);
  return writeInPlace(t, what, (d) => {
    const n = d.numel();
    const s = takeStream(d.backend, n);
    const k = d.backend.kernels;
    if (what === "uniform_") k.random_uniform(d.ptr, n, s.seedLo, s.seedHi, s.offset, p, q);
    else k.random_normal(d.ptr, n, s.seedLo, s.seedHi, s.offset, p, q);
  });
}
