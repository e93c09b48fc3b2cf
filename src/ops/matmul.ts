// Matrix products: matmul (1-d, 2-d, batched) on one GEMM kernel, with
// transposed views read in place as the GEMM's transposed operands.

import { Saved } from "../autograd.ts";
import { GemmLayout } from "../backend/kernels.ts";
import { InternalError } from "../errors.ts";
import { allocateOutput, backendOf, describeValue, finishOp, needsGrad } from "../graph.ts";
import { fmt, numel, type Shape } from "../shape.ts";
import { beginOp } from "../storage.ts";
import { Tensor } from "../tensor.ts";
import { requireFloat } from "./copies.ts";
import { dense, doneWith, reshape } from "./views.ts";

/**
 * How a GEMM reads a 2-d tensor in place: a row-major block with leading
 * dimension ld, or a column-major one (a transposed view: t(), transpose,
 * permute) read as the transposed operand. Null when neither (a copy is due).
 */
interface Operand {
  t: Tensor;
  colMajor: boolean;
  ld: number;
}

function operand(x: Tensor): Operand | null {
  const [r, c] = x.shape;
  if (x.isContiguous()) return { t: x, colMajor: false, ld: Math.max(c, 1) };
  const [sr, sc] = x.strides;
  if ((sr === 1 || r === 1) && sc >= Math.max(r, 1)) return { t: x, colMajor: true, ld: sc };
  if ((sc === 1 || c === 1) && sr >= Math.max(c, 1)) return { t: x, colMajor: false, ld: sr };
  return null;
}

function operandOf(x: Tensor): Operand {
  return operand(x) ?? { t: dense(x), colMajor: false, ld: Math.max(x.shape[1], 1) };
}

/** C = op(A)·op(B) into a new [m, n] tensor, where op transposes when trans XOR the operand is column-major. */
function gemmOf(a: Operand, transA: boolean, b: Operand, transB: boolean, m: number, n: number, k: number, inputs: Tensor[], graph: boolean): Tensor {
  const out = allocateOutput([m, n], inputs, graph);
  const be = out.backend;
  const ta = transA !== a.colMajor;
  const tb = transB !== b.colMajor;
  if (ta && tb) throw new InternalError("a GEMM with both operands transposed");
  const layout = ta ? GemmLayout.TN : tb ? GemmLayout.NT : GemmLayout.NN;
  if (m * n > 0) {
    if (k === 0) be.kernels.f32_fill(out.ptr, m * n, 0);
    else be.kernels.f32_gemm(layout, m, n, k, 1, a.t.dataPtr, a.ld, b.t.dataPtr, b.ld, 0, out.ptr, n, be.gemmWorkspace);
  }
  return out;
}

/** C = op(A)·op(B) into a new [m, n] tensor, for dense A and B. */
export function gemm(layout: GemmLayout, a: Tensor, b: Tensor, m: number, n: number, k: number, inputs: Tensor[], graph: boolean): Tensor {
  const lda = layout === GemmLayout.TN ? m : k;
  const ldb = layout === GemmLayout.NT ? k : n;
  return gemmOf({ t: a, colMajor: false, ld: lda }, layout === GemmLayout.TN, { t: b, colMajor: false, ld: ldb },
    layout === GemmLayout.NT, m, n, k, inputs, graph);
}

/** [m, k] · [k, n]. A transposed view reads as a transposed GEMM operand, without a copy. */
function mm(a: Tensor, b: Tensor): Tensor {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const graph = needsGrad(a, b);
  const oa = operandOf(a);
  let ob = operandOf(b);
  // The GEMM has no TT layout: one of two transposed views is copied.
  if (oa.colMajor && ob.colMajor) ob = { t: dense(b), colMajor: false, ld: Math.max(n, 1) };
  const out = gemmOf(oa, false, ob, false, m, n, k, [a, b], graph);
  finishOp(out, "Mm", [a, b], graph, () => {
    const sa = new Saved(a, "Mm");
    const sb = new Saved(b, "Mm");
    const dg = (g: Tensor): Operand => ({ t: g, colMajor: false, ld: Math.max(n, 1) });
    // dA = g·Bᵀ and dB = Aᵀ·g read the forward's operands in place (get() checks their versions).
    return (g) => [
      a.requiresGrad && sb.get() ? gemmOf(dg(g), false, ob, true, m, k, n, [g], false) : null,
      b.requiresGrad && sa.get() ? gemmOf(oa, true, dg(g), false, k, n, m, [g], false) : null,
    ];
  });
  doneWith(oa.t, a, graph);
  doneWith(ob.t, b, graph);
  return out;
}

const dimsX = (s: Shape) => s.join("x");

export function matmul(a0: Tensor, b0: Tensor): Tensor {
  if (!(b0 instanceof Tensor)) throw new TypeError(`matmul(): other must be a Tensor, got ${describeValue(b0)}`);
  backendOf(a0, b0);
  beginOp("matmul");
  const a = requireFloat(a0);
  const b = requireFloat(b0);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(`both arguments to matmul need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) {
      throw new RangeError(`inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${b.shape[0]}] to have the same number of elements, but got ${a.shape[0]} and ${b.shape[0]} elements respectively`);
    }
    return reshape(mm(reshape(a, [1, a.shape[0]]), reshape(b, [b.shape[0], 1])), []);
  }
  const k = a.shape[a.ndim - 1];
  const kb = b.ndim === 1 ? b.shape[0] : b.shape[b.ndim - 2];
  if (k !== kb) {
    const sa = a.ndim === 1 ? [1, k] : [numel(a.shape.slice(0, -1)), k];
    const sb = b.ndim === 1 ? [kb, 1] : b.shape.slice(-2);
    throw new RangeError(`mat1 and mat2 shapes cannot be multiplied (${dimsX(sa)} and ${dimsX(sb)})`);
  }
  if (b.ndim <= 2) {
    // [..., m, k] · [k, n]: fold the batch into m.
    const a2 = reshape(a, [numel(a.shape.slice(0, -1)), k]);
    const b2 = b.ndim === 1 ? reshape(b, [k, 1]) : b;
    const out = mm(a2, b2);
    const shape = [...a.shape.slice(0, -1), ...(b.ndim === 1 ? [] : [b.shape[1]])];
    return reshape(out, shape);
  }
  if (a.ndim === b.ndim && a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join()) {
    const [da, db] = [dense(a), dense(b)];
    const out = bmm(da, db);
    doneWith(da, a, out.gradFn !== null);
    doneWith(db, b, out.gradFn !== null);
    return out;
  }
  if (a.ndim === 1) return reshape(matmul(reshape(a, [1, k]), b), [...b.shape.slice(0, -2), b.shape[b.ndim - 1]]);
  throw new RangeError(
    `matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} must be equal (broadcast batch matmul is not supported)`,
  );
}

/** [..., m, k] · [..., k, n] with equal batch dims: one gemm per batch entry. */
function bmm(a: Tensor, b: Tensor): Tensor {
  const m = a.shape[a.ndim - 2];
  const k = a.shape[a.ndim - 1];
  const n = b.shape[b.ndim - 1];
  const batch = numel(a.shape.slice(0, -2));
  const graph = needsGrad(a, b);
  const out = allocateOutput([...a.shape.slice(0, -1), n], [a, b], graph);
  const run = (layout: GemmLayout, x: Tensor, y: Tensor, z: Tensor, M: number, N: number, K: number) => {
    const be = x.backend;
    const lda = layout === GemmLayout.TN ? M : K;
    const ldb = layout === GemmLayout.NT ? K : N;
    for (let i = 0; i < batch; i++) {
      be.kernels.f32_gemm(layout, M, N, K, 1, x.ptr + i * M * K * 4, lda, y.ptr + i * K * N * 4, ldb, 0, z.ptr + i * M * N * 4, N, be.gemmWorkspace);
    }
  };
  run(GemmLayout.NN, a, b, out, m, n, k);
  return finishOp(out, "Bmm", [a, b], graph, () => {
    const sa = new Saved(a, "Bmm");
    const sb = new Saved(b, "Bmm");
    return (g) => {
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (a.requiresGrad) { ga = allocateOutput(a.shape, [g], false); run(GemmLayout.NT, g, sb.get(), ga, m, k, n); }
      if (b.requiresGrad) { gb = allocateOutput(b.shape, [g], false); run(GemmLayout.TN, sa.get(), g, gb, k, n, m); }
      return [ga, gb];
    };
  });
}
