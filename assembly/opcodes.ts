// Operation codes shared by the AssemblyScript kernels and the TypeScript layer.
// This file is valid AssemblyScript and valid TypeScript on purpose: it is the
// single source of truth, imported by assembly/*.ts and by src/backend/*.ts.
// Append new codes at the end; never renumber (the codes cross the Wasm boundary).

/** y = op(x), elementwise. */
export enum UnaryOp {
  Neg = 0,
  Abs = 1,
  Sqrt = 2,
  Exp = 3,
  Log = 4,
  Relu = 5,
  Sigmoid = 6,
  Tanh = 7,
  Square = 8,
  Sign = 9,
}

/** out = a op b, elementwise. Comparisons give 1 or 0. */
export enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Pow = 4,
  Maximum = 5,
  Minimum = 6,
  Eq = 7,
  Ne = 8,
  Lt = 9,
  Le = 10,
  Gt = 11,
  Ge = 12,
}

/** Reductions over the middle axis of an [outer, size, inner] view. */
export enum ReduceOp {
  Sum = 0,
  Mean = 1,
  Max = 2,
  Min = 3,
  /** Σ|x|: the L1 norm. */
  SumAbs = 4,
  /** Σx²: the squared L2 norm. */
  SumSquares = 5,
}

/** Which operands of C = alpha·op(A)·op(B) + beta·C are transposed. */
export enum GemmLayout {
  /** A[M,K] · B[K,N] */
  NN = 0,
  /** A[M,K] · B[N,K]ᵀ: a Linear layer's forward (x · Wᵀ). */
  NT = 1,
  /** A[K,M]ᵀ · B[K,N]: a Linear layer's weight gradient (dyᵀ · x). */
  TN = 2,
}

/** What f32_gemm does to C after the last multiply-add, while each strip of C is still in L1. */
export enum GemmEpilogue {
  None = 0,
  /** C = max(C, +0) as f32_unary's ReLU (NaN passes through): Linear then ReLU in one pass. */
  Relu = 1,
}

/** y = op(x; a, b), one element at a time in f64 (assembly/pointwise.ts). */
export enum PointwiseOp {
  Sin = 0,
  Cos = 1,
  /** min(max(x, a), b); a = −∞ or b = +∞ for a one-sided clamp. */
  Clamp = 2,
  /** x > 0 ? x : a·x. */
  LeakyRelu = 3,
  /** x·Φ(x), Φ the standard normal CDF (PyTorch's exact GELU). */
  Gelu = 4,
  /** ½x(1 + tanh(√(2/π)(x + 0.044715x³))): GELU with approximate = "tanh". */
  GeluTanh = 5,
}
