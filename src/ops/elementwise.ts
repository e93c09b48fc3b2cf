// Elementwise ops: the unary ones (one kernel each way) and the binary ones,
// whose derivatives are one table beside their names. A binary op runs as
// tensor op tensor (with broadcasting) or tensor op number, and one rule
// serves both.

import { checkForward, isAnomalyEnabled, Saved, type BackwardFn } from "../autograd.ts";
import { BinaryOp, UnaryOp } from "../backend/kernels.ts";
import { allocateOutput, backendOf, describeValue, finishOp, needsGrad } from "../graph.ts";
import { broadcastShapes, fmt } from "../shape.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { floatDense, requireFloat, zerosOf } from "./copies.ts";
import { sumTo } from "./reductions.ts";
import { broadcastViewStrides, checkDims, dense, doneWith, writeMeta } from "./views.ts";

const UNARY_NAMES: Record<UnaryOp, string> = {
  [UnaryOp.Neg]: "Neg", [UnaryOp.Abs]: "Abs", [UnaryOp.Sqrt]: "Sqrt", [UnaryOp.Exp]: "Exp", [UnaryOp.Log]: "Log",
  [UnaryOp.Relu]: "Relu", [UnaryOp.Sigmoid]: "Sigmoid", [UnaryOp.Tanh]: "Tanh", [UnaryOp.Square]: "Square",
  [UnaryOp.Sign]: "Sign",
};

export function unary(x0: Tensor, op: UnaryOp): Tensor {
  const name = UNARY_NAMES[op];
  beginOp(name.toLowerCase());
  const x = floatDense(x0);
  const graph = needsGrad(x) && op !== UnaryOp.Sign;
  const out = allocateOutput(x.shape, [x], graph);
  const n = x.numel();
  x.backend.kernels.f32_unary(op, x.ptr, out.ptr, n);
  finishOp(out, name, [x], graph, () => {
    const sx = new Saved(x, name);
    const so = new Saved(out, name);
    return (g) => {
      const dx = allocateOutput(x.shape, [g], false);
      x.backend.kernels.f32_unary_backward(op, sx.get().ptr, so.get().ptr, g.ptr, dx.ptr, n);
      return [dx];
    };
  });
  doneWith(x, x0, graph);
  return out;
}

// ---- binary ops: names and derivatives -------------------------------------------

/** An operand as its rule reads it: a Saved tensor's get(), or a number. */
type ReadOperand = () => Tensor | number;
type ReadTensor = () => Tensor;

/**
 * g·∂(a op b)/∂a and g·∂(a op b)/∂b, before broadcasting is summed back. The
 * operand differentiated is a tensor; the other may be the number of x op s
 * (or s op x). Each rule reads only the operands it needs, so an input its
 * rule never reads may change in place before backward, as in PyTorch.
 */
interface Derivatives {
  a(g: Tensor, a: ReadTensor, b: ReadOperand, out: ReadTensor): Tensor;
  b(g: Tensor, a: ReadOperand, b: ReadTensor, out: ReadTensor): Tensor;
}

/** A binary op's name, and its derivatives (none for the comparisons, whose results are bool). */
interface BinaryRule {
  readonly name: string;
  readonly grad: Derivatives | null;
}

const BINARY: Record<BinaryOp, BinaryRule> = {
  [BinaryOp.Add]: { name: "Add", grad: { a: (g) => g, b: (g) => g } },
  [BinaryOp.Sub]: { name: "Sub", grad: { a: (g) => g, b: (g) => g.neg() } },
  [BinaryOp.Mul]: { name: "Mul", grad: { a: (g, _a, b) => g.mul(b()), b: (g, a, b) => g.mul(a()) } },
  [BinaryOp.Div]: { name: "Div", grad: { a: (g, _a, b) => g.div(b()), b: (g, _a, b, out) => g.mul(out()).div(b()).neg() } },
  [BinaryOp.Pow]: {
    name: "Pow",
    grad: {
      // b·a^(b−1), and PyTorch's 0 where b = 0 (at a = 0 the formula is 0·∞): a number b = 0 gives zeros;
      // a tensor b is moved off 0 there (b − 1 → 0), which keeps the product finite and its factor b makes it 0.
      a: (g, a, b) => {
        const e = b();
        if (typeof e === "number") return e === 0 ? zerosOf(g.shape, g) : g.mul(a().pow(e - 1)).mul(e);
        return g.mul(e).mul(a().pow(e.add(e.eq(0).float()).sub(1)));
      },
      // a^b·ln a, and PyTorch's 0 where a = 0 and b ≥ 0: the log is taken of 1 there.
      b: (g, a, b, out) => {
        const base = a();
        if (typeof base === "number") return g.mul(out()).mul(base === 0 ? b().lt(0).float().rsub(1).log() : Math.log(base));
        return g.mul(out()).mul(base.add(base.eq(0).float().mul(b().ge(0).float())).log());
      },
    },
  },
  [BinaryOp.Maximum]: { name: "Maximum", grad: splitByWinner("gt", "lt") },
  [BinaryOp.Minimum]: { name: "Minimum", grad: splitByWinner("lt", "gt") },
  [BinaryOp.Eq]: { name: "Eq", grad: null },
  [BinaryOp.Ne]: { name: "Ne", grad: null },
  [BinaryOp.Lt]: { name: "Lt", grad: null },
  [BinaryOp.Le]: { name: "Le", grad: null },
  [BinaryOp.Gt]: { name: "Gt", grad: null },
  [BinaryOp.Ge]: { name: "Ge", grad: null },
};

/**
 * maximum / minimum: g goes to a where a wins (a > b, or a < b for `aWins`
 * "lt"), half of it at ties (as PyTorch splits them), and b takes the rest.
 * a's share is 1 where a wins, ½ at a tie, else 0; read from b's side, a wins
 * where b loses (`bLoses`), so either operand may be the tensor.
 */
function splitByWinner(aWins: "gt" | "lt", bLoses: "gt" | "lt"): Derivatives {
  const shareOfA = (x: Tensor, y: Tensor | number, cmp: "gt" | "lt") => x[cmp](y).add(x.eq(y).mul(0.5));
  return {
    a: (g, a, b) => g.mul(shareOfA(a(), b(), aWins)),
    b: (g, a, b) => g.mul(shareOfA(b(), a(), bLoses).rsub(1)),
  };
}

/** The backward of a op b, where either may be a number: each tensor operand gets its rule's gradient at its shape. */
function binaryBackward(grad: Derivatives, name: string, out: Tensor, a: Tensor | number, b: Tensor | number): BackwardFn {
  const read = (x: Tensor | number): ReadOperand => {
    if (typeof x === "number") return () => x;
    const saved = new Saved(x, name);
    return () => saved.get();
  };
  const A = read(a);
  const B = read(b);
  const so = new Saved(out, name);
  const O = () => so.get();
  return (g) => {
    const grads: (Tensor | null)[] = [];
    if (a instanceof Tensor) grads.push(a.requiresGrad ? sumTo(grad.a(g, A as ReadTensor, B, O), a.shape) : null);
    if (b instanceof Tensor) grads.push(b.requiresGrad ? sumTo(grad.b(g, A, B as ReadTensor, O), b.shape) : null);
    return grads;
  };
}

// ---- binary ops: forward ---------------------------------------------------------

/** Runs the binary kernel for a op b (or s op a) into out. */
function binaryKernel(a: Tensor, b: Tensor | number, op: BinaryOp, out: Tensor, reversed: boolean): void {
  const k = a.backend.kernels;
  if (typeof b === "number") {
    k.f32_binary_scalar(op, a.ptr, b, out.ptr, out.numel(), reversed ? 1 : 0);
  } else if (a.shape.join() === b.shape.join() && out.shape.join() === a.shape.join() && a.isContiguous() && b.isContiguous()) {
    k.f32_binary(op, a.ptr, b.ptr, out.ptr, out.numel());
  } else {
    // Broadcast and strided views alike: the kernel walks each operand by its own strides.
    checkDims(out.shape);
    const meta = writeMeta(a, out.shape, broadcastViewStrides(a, out.shape), broadcastViewStrides(b, out.shape));
    k.f32_binary_broadcast(op, a.dataPtr, b.dataPtr, out.ptr, out.ndim, meta);
  }
}

/**
 * A view whose rows are contiguous (narrow along a later dim, select, expand)
 * is read in place by the broadcast kernel; any other (a transposed view) is
 * copied first: measured on 1024², A.t().add(B) takes 3.4x as long read in
 * place (a column walk per element) as copied by the strided-copy kernel's
 * blocked transpose and then added.
 */
function rowsInPlace(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  for (let d = x.ndim - 1; d >= 0; d--) if (x.shape[d] !== 1) return x.strides[d] === 1 ? x : dense(x);
  return x;
}

/** a op b with broadcasting; with a number b, `reversed` computes b op a. */
export function binary(a0: Tensor, b0: Tensor | number, op: BinaryOp, reversed = false): Tensor {
  const { name, grad } = BINARY[op];
  beginOp(name.toLowerCase());
  const scalar = typeof b0 === "number";
  if (!scalar) {
    if (!(b0 instanceof Tensor)) throw new TypeError(`${name.toLowerCase()}(): other must be a Tensor or a number, got ${describeValue(b0)}`);
    backendOf(a0, b0);
  }
  const a = scalar ? floatDense(a0) : rowsInPlace(requireFloat(a0));
  const b = scalar ? b0 : rowsInPlace(requireFloat(b0));
  const inputs = typeof b === "number" ? [a] : [a, b];
  const graph = grad !== null && needsGrad(...inputs);
  const shape = typeof b === "number" ? a.shape : broadcastShapes(a.shape, b.shape);
  const out = allocateOutput(shape, inputs, graph, grad === null ? "bool" : "float32");
  binaryKernel(a, b, op, out, reversed);
  finishOp(out, name, inputs, graph, () => binaryBackward(grad!, name, out, reversed ? b : a, reversed ? a : b));
  doneWith(a, a0, graph);
  if (b instanceof Tensor) doneWith(b, b0 as Tensor, graph);
  return out;
}

/** alpha·other, the operand of add / sub with { alpha } (other itself when alpha is 1). */
export function scaled(other: Tensor | number, alpha = 1): Tensor | number {
  if (alpha === 1) return other;
  return typeof other === "number" ? other * alpha : other.mul(alpha);
}

/** target = target op other, in place (other broadcasts to target's shape). */
export function binaryInto(target: Tensor, other: Tensor | number, op: BinaryOp): void {
  const name = `${BINARY[op].name.toLowerCase()}_`;
  if (target.dtype !== "float32") throw new TypeError(`in-place arithmetic needs a float32 tensor, not ${target.dtype}`);
  if (typeof other === "number") {
    binaryKernel(target, other, op, target, false);
    if (isAnomalyEnabled()) checkForward(name, target, []);
    return;
  }
  if (!(other instanceof Tensor)) throw new TypeError(`${name}(): other must be a Tensor or a number, got ${describeValue(other)}`);
  backendOf(target, other);
  const shape = broadcastShapes(target.shape, other.shape);
  if (shape.join() !== target.shape.join()) {
    throw new RangeError(`output with shape ${fmt(target.shape)} doesn't match the broadcast shape ${fmt(shape)}`);
  }
  const o = requireFloat(other);
  binaryKernel(target, o, op, target, false);
  if (isAnomalyEnabled()) checkForward(name, target, [o]);
  doneWith(o, other, false);
}
