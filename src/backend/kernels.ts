// The kernel interface: what both backends compute.
//
// Every kernel is a pure function over numbers. Pointers are byte offsets into
// the backend's heap (the Wasm linear memory, or the JS backend's ArrayBuffer),
// 4-byte aligned for f32/i32 data (the allocator gives 64). Sizes are element
// counts. Booleans cross as 0 / 1. Kernels never allocate: scratch space is
// passed in. Output may alias input wherever the comment says "in place ok".
//
// The Wasm backend *is* its module's exports (same names, same arguments); the
// JS backend implements the same functions in plain TypeScript and is the
// oracle in tests. Adding a kernel = one AssemblyScript export in
// assembly/<family>.ts + one function in src/backend/js/<family>.ts + its
// signature here + its row in the kernel table (kernel-table.ts), from which
// the bindings, the thread splits and the module test derive.

// assembly/opcodes.ts is the source of truth; the build copies it here so dist/ mirrors src/.
export { UnaryOp, BinaryOp, ReduceOp, GemmLayout, GemmEpilogue, PointwiseOp } from "./opcodes.generated.ts";

export interface GemmKernels {
  /**
   * C = alpha·op(A)·op(B) + beta·C, row-major. C is [m, n] with row stride ldc.
   * NN: A [m,k] (lda), B [k,n] (ldb). NT: A [m,k], B [n,k]. TN: A [k,m], B [k,n].
   * beta = 0 ignores C's old contents (NaN in C does not leak through).
   * `work` points at f32_gemm_workspace_size() bytes of scratch for packing.
   * The result of each C element does not depend on how the caller tiles C:
   * splitting C by rows or columns (with offset pointers) is bitwise identical.
   * `epilogue` (GemmEpilogue, None when omitted) is applied to C last:
   * Relu gives bitwise f32_unary(Relu) of the plain result, in the same pass.
   */
  f32_gemm(
    layout: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number,
    c: number, ldc: number, work: number, epilogue?: number,
  ): void;
  /** Bytes of packing scratch f32_gemm needs (constant for a build). */
  f32_gemm_workspace_size(): number;
  /** Columns of the main tile (8, or 12 in the relaxed build): where threads split C's columns. */
  f32_gemm_strip_width(): number;
}

export interface ElementwiseKernels {
  /** y = op(x) (UnaryOp). In place ok. */
  f32_unary(op: number, x: number, y: number, n: number): void;
  /** dx = dy · op'(x), where y = op(x) is also given (whichever is cheaper). In place ok (dx = dy). */
  f32_unary_backward(op: number, x: number, y: number, dy: number, dx: number, n: number): void;
  /** out = a op b (BinaryOp), same shape, contiguous. In place ok. */
  f32_binary(op: number, a: number, b: number, out: number, n: number): void;
  /** out = a op s, or s op a when reversed = 1. In place ok. */
  f32_binary_scalar(op: number, a: number, s: number, out: number, n: number, reversed: number): void;
  /**
   * out = a op b with NumPy broadcasting. `meta` points at 3·ndim i32:
   * out shape, then a's strides, then b's strides (in elements; 0 on broadcast axes).
   * out is contiguous.
   */
  f32_binary_broadcast(op: number, a: number, b: number, out: number, ndim: number, meta: number): void;
  /**
   * dst = src read through strides (materialises a transpose, expand or slice).
   * `meta` points at 2·ndim i32: dst shape, then src strides (elements). dst is contiguous.
   */
  f32_strided_copy(src: number, dst: number, ndim: number, meta: number): void;
  /** out[i] = value. */
  f32_fill(out: number, n: number, value: number): void;
  /** out[i] = start + i·step. */
  f32_arange(out: number, n: number, start: number, step: number): void;
  /** dst[i] = f32(src[i]) from i32. */
  i32_to_f32(src: number, dst: number, n: number): void;
  /** dst[i] = f32(src[i]) · scale from u8 (image bytes → [0, 1] with scale 1/255). */
  u8_to_f32(src: number, dst: number, n: number, scale: number): void;
  /**
   * dst[r, j] = f32(src[indices[r]·rowLength + j]) · scale for the rows r of
   * [r0, r0 + rows) (a unit-split kernel: threads take ranges of rows, the
   * pointers stay): a batch of image rows gathered from a u8 block and
   * converted in one pass. Indices are i32 and trusted: the caller checks them
   * against the block's row count first.
   */
  u8_gather_rows_to_f32(
    src: number, indices: number, dst: number, r0: number, rows: number, rowLength: number, scale: number,
  ): void;
  /**
   * dst[r, :] = src[indices[r], :] for the rows r of [r0, r0 + rows), each
   * rowLength 4-byte elements moved bit for bit (float32, int32 and bool rows
   * alike); unit-split, indices trusted, as u8_gather_rows_to_f32.
   */
  f32_gather_rows(src: number, indices: number, dst: number, r0: number, rows: number, rowLength: number): void;
  /** c[i, j] = bias[j] for an [m, n] c: seeds a Linear layer's output before gemm with beta = 1. */
  f32_broadcast_rows(bias: number, c: number, m: number, n: number): void;
}

export interface ReduceKernels {
  /**
   * out[o, i] = op over s of x[o, s, i] (ReduceOp) for x viewed as [outer, size, inner].
   * Reducing everything is outer = inner = 1. Sums accumulate in f64 per output
   * (or pairwise) so a 60 000-element mean is accurate to f32.
   */
  f32_reduce(op: number, x: number, out: number, outer: number, size: number, inner: number): void;
  /** out[o, i] (i32) = index of the first maximum over s of x[o, s, i]. NaN counts as the maximum. */
  f32_argmax(x: number, out: number, outer: number, size: number, inner: number): void;
  /** dx[o, idx[o, i], i] += dy[o, i]: routes a max's gradient; dx must be zeroed by the caller. */
  f32_scatter_add_axis(dy: number, idx: number, dx: number, outer: number, size: number, inner: number): void;
}

export interface RandomKernels {
  /**
   * Philox4x32-10 keyed by (seedLo, seedHi); value i of the stream comes from
   * counter offset + floor(i / 4), lane i % 4. `offset` is an integer < 2^53.
   * The same (seed, offset) gives bitwise the same numbers on every backend.
   * out[i] = low + (high − low)·u with u uniform in [0, 1).
   */
  random_uniform(out: number, n: number, seedLo: number, seedHi: number, offset: number, low: number, high: number): void;
  /** out[i] = mean + std·z, z standard normal (Box–Muller on two uniforms). */
  random_normal(out: number, n: number, seedLo: number, seedHi: number, offset: number, mean: number, std: number): void;
  /** Counter blocks a call of n values consumes: advance the offset by this. */
  random_blocks(n: number): number;
}

export interface DropoutKernels {
  /**
   * Keeps each element with probability 1 − p: mask[i] (u8) = 1 if u_i ≥ p else 0,
   * y = x · mask / (1 − p). p = 0 is the identity, p = 1 gives zeros (never NaN).
   * u_i is the uniform stream of random_uniform with the same seed and offset.
   */
  f32_dropout(x: number, y: number, mask: number, n: number, p: number, seedLo: number, seedHi: number, offset: number): void;
  /** dx = dy · mask / (1 − p). In place ok. */
  f32_dropout_backward(dy: number, mask: number, dx: number, n: number, p: number): void;
  /**
   * y = dropout(relu(x)) in one pass, bitwise what f32_unary(Relu) then
   * f32_dropout give (the same uniforms), with no mask: y > 0 exactly where both
   * kept the element, which is all the backward needs.
   */
  f32_relu_dropout(x: number, y: number, n: number, p: number, seedLo: number, seedHi: number, offset: number): void;
  /** dx = dy / (1 − p) where y > 0, else +0: both backwards at once, from relu_dropout's output. In place ok. */
  f32_relu_dropout_backward(dy: number, y: number, dx: number, n: number, p: number): void;
}

export interface LossKernels {
  /**
   * Fused log-softmax + negative log-likelihood for logits [n, c] and i32 labels [n]:
   * losses[i] = logsumexp(logits[i]) − logits[i, label], lse[i] = logsumexp(logits[i])
   * (kept for the backward). Stable for logits of ±1e4.
   * Returns −1 when every label is in [0, c), else the index of the first bad one
   * (nothing is written past it that the caller relies on).
   */
  f32_cross_entropy(logits: number, labels: number, losses: number, lse: number, n: number, c: number): number;
  /**
   * dlogits[i, j] = dloss[i·dlossStride] · (softmax(logits[i])[j] − [j = label_i]).
   * dlossStride = 0 broadcasts one upstream gradient (reduction "mean" / "sum").
   * The softmax is recomputed relative to the row max; `lse` is not read (in f32
   * it holds only ~7 digits of its magnitude: 5e-4 absolute at logits of 1e4).
   * In place ok (dlogits = logits).
   */
  f32_cross_entropy_backward(
    logits: number, labels: number, lse: number, dloss: number, dlossStride: number,
    dlogits: number, n: number, c: number,
  ): void;
  /** Σ (pred − target)², accumulated in f64. */
  f32_mse(pred: number, target: number, n: number): number;
  /** dpred = scale · 2 · (pred − target). */
  f32_mse_backward(pred: number, target: number, dpred: number, n: number, scale: number): void;
}

/**
 * Cross-entropy over rows [r0, r0 + rows) of an [n, c] batch (pointers are to
 * the whole batch's start), so threads can split a batch by rows: every row's
 * result is bitwise that of f32_cross_entropy / f32_cross_entropy_backward
 * over the whole batch. Labels must be in [0, c): the caller checks them first
 * (i32_check_range). With a bad one nothing is read or written out of bounds,
 * but which rows get written then depends on the cut.
 */
export interface LossRowKernels {
  f32_cross_entropy_rows(logits: number, labels: number, losses: number, lse: number, r0: number, rows: number, c: number): void;
  /** dloss[i·dlossStride] is row i's upstream gradient (0: one for all); in place ok (dlogits = logits). */
  f32_cross_entropy_backward_rows(
    logits: number, labels: number, dloss: number, dlossStride: number, dlogits: number, r0: number, rows: number, c: number,
  ): void;
}

export interface OptimKernels {
  /**
   * One PyTorch 1.13 SGD step on one tensor, in place on param and buf:
   *   d = (maximize ? −g : g) + weightDecay·p + l1·sign(p)
   *   momentum ≠ 0: buf = firstStep ? d : momentum·buf + (1 − dampening)·d
   *                 d = nesterov ? d + momentum·buf : buf
   *   p −= lr·d
   * buf is ignored when momentum = 0.
   */
  f32_sgd_step(
    param: number, grad: number, buf: number, n: number,
    lr: number, momentum: number, dampening: number, weightDecay: number,
    nesterov: number, maximize: number, l1: number, firstStep: number,
  ): void;
  /**
   * One PyTorch 1.13 Adam (decoupled = 0) or AdamW (decoupled = 1) step, in
   * place on param, m, v (and vmax when amsgrad = 1). `step` counts from 1.
   */
  f32_adam_step(
    param: number, grad: number, m: number, v: number, vmax: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
    step: number, decoupled: number, amsgrad: number, maximize: number,
  ): void;
  /**
   * One PyTorch 1.13 RMSprop step, in place on param, squareAvg, gradAvg (read
   * only when centered = 1) and buf (only when momentum > 0).
   */
  f32_rmsprop_step(
    param: number, grad: number, squareAvg: number, gradAvg: number, buf: number, n: number,
    lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: number, maximize: number,
  ): void;
  /** One PyTorch 1.13 Adagrad step, in place on param and sum; clr = lr / (1 + (step − 1)·lrDecay). */
  f32_adagrad_step(param: number, grad: number, sum: number, n: number, clr: number, eps: number, weightDecay: number, maximize: number): void;
  /** One PyTorch 1.13 Adadelta step, in place on param, squareAvg and accDelta. */
  f32_adadelta_step(
    param: number, grad: number, squareAvg: number, accDelta: number, n: number,
    lr: number, rho: number, eps: number, weightDecay: number, maximize: number,
  ): void;
}

/**
 * Indexing (assembly/indexing.ts). Elements are 4 bytes and move bit for bit;
 * masks and conditions are float32, true where nonzero. Index kernels trust
 * their indices: callers check them with i32_check_range first.
 */
export interface IndexingKernels {
  /** dst[dstStrides·i] = src[srcStrides·i] over shape; meta = shape, srcStrides, dstStrides (elements). */
  f32_copy_strided(src: number, dst: number, ndim: number, meta: number): void;
  /** The first position of idx[0..n) outside [0, size), or −1. */
  i32_check_range(idx: number, n: number, size: number): number;
  /** out[o, j, :] = x[o, idx[j], :]; x [outer, size, inner]. */
  f32_index_select(x: number, idx: number, out: number, outer: number, size: number, inner: number, nidx: number): void;
  /** dx[o, idx[j], :] += dy[o, j, :]. */
  f32_index_add(dy: number, idx: number, dx: number, outer: number, size: number, inner: number, nidx: number): void;
  /** out[o, j, i] = x[o, idx[o, j, i], i]; idx and out [outer, isize, inner]. */
  f32_gather(x: number, idx: number, out: number, outer: number, size: number, inner: number, isize: number): void;
  /** dx[o, idx[o, j, i], i] += dy[o, j, i]. */
  f32_scatter_add(dy: number, idx: number, dx: number, outer: number, size: number, inner: number, isize: number): void;
  /** out = cond ≠ 0 ? a : b. */
  f32_where(cond: number, a: number, b: number, out: number, n: number): void;
  /** out = mask ≠ 0 ? value : x. In place ok. */
  f32_masked_fill(x: number, mask: number, out: number, n: number, value: number): void;
  f32_count_nonzero(x: number, n: number): number;
  /** Packs x where mask ≠ 0 into out; returns the count. */
  f32_masked_select(x: number, mask: number, out: number, n: number): number;
  /** dx[i] = mask[i] ≠ 0 ? next of g : 0. */
  f32_masked_scatter(g: number, mask: number, dx: number, n: number): void;
  /** Truncating float → int32. */
  f32_to_i32(src: number, dst: number, n: number): void;
}

export interface PointwiseKernels {
  /**
   * y = op(x; a, b) (PointwiseOp), computed in f64 per element and rounded once.
   * Clamp: a = lower, b = upper bound (±∞ for none); LeakyRelu: a = negative slope. In place ok.
   */
  f32_pointwise(op: number, x: number, y: number, n: number, a: number, b: number): void;
  /** dx = dy · op'(x; a, b), PyTorch 1.13's backward formulas. In place ok (dx = dy). */
  f32_pointwise_backward(op: number, x: number, dy: number, dx: number, n: number, a: number, b: number): void;
  /**
   * out [n, c] (i32) = one-hot rows of labels [n] (i32); a row labelled `ignore` is all 0.
   * Returns −1, or the index of the first label outside [0, c).
   */
  i32_one_hot(labels: number, out: number, n: number, c: number, ignore: number): number;
}

export interface ConvKernels {
  /**
   * im2col over a batch: col [C·KH·KW, N·OH·OW], row r = (c·KH + ki)·KW + kj,
   * col[r, n·OH·OW + oh·OW + ow] = x[n, c, oh·SH − PH + ki·DH, ow·SW − PW + kj·DW]
   * (0 in the padding), for rows [r0, r0 + rows). x is [N, C, H, W].
   */
  f32_im2col(
    x: number, col: number, r0: number, rows: number, N: number, C: number, H: number, W: number,
    KH: number, KW: number, SH: number, SW: number, PH: number, PW: number, DH: number, DW: number, OH: number, OW: number,
  ): void;
  /**
   * The adjoint of f32_im2col: dx [N, C, H, W] planes u = n·C + c in [u0, u0 + units)
   * are written whole with the sums of the col entries read from each pixel,
   * adding kernel offsets (ki, kj) in order, then output pixels in row-major order.
   */
  f32_col2im(
    col: number, dx: number, u0: number, units: number, N: number, C: number, H: number, W: number,
    KH: number, KW: number, SH: number, SW: number, PH: number, PW: number, DH: number, DW: number, OH: number, OW: number,
  ): void;
  /** dst [B, A, P] = src [A, B, P] with axes 0 and 1 swapped, + bias[a] when hasBias = 1; destination planes u = b·A + a in [u0, u0 + units). */
  f32_swap_planes(src: number, dst: number, bias: number, u0: number, units: number, A: number, B: number, P: number, hasBias: number): void;
}

export interface PoolKernels {
  /**
   * Max over each KH×KW window (stride, zero-free padding: padding is never the
   * maximum) of planes [u0, u0 + units) of x [N·C, H, W]; idx (i32) gets the
   * winner's index ih·W + iw in its plane. NaN wins, ties keep the first.
   */
  f32_max_pool2d(
    x: number, y: number, idx: number, u0: number, units: number, H: number, W: number, OH: number, OW: number,
    KH: number, KW: number, SH: number, SW: number, PH: number, PW: number,
  ): void;
  /** dx planes [u0, u0 + units) written whole: dy routed through idx (HW = H·W, OHW = OH·OW). */
  f32_max_pool2d_backward(dy: number, idx: number, dx: number, u0: number, units: number, HW: number, OHW: number): void;
  /** Window means: f32 sum over the window's pixels in the image over KH·KW (countIncludePad = 1) or their count. */
  f32_avg_pool2d(
    x: number, y: number, u0: number, units: number, H: number, W: number, OH: number, OW: number,
    KH: number, KW: number, SH: number, SW: number, PH: number, PW: number, countIncludePad: number,
  ): void;
  /** dx planes written whole: each window adds dy / divisor to its pixels. */
  f32_avg_pool2d_backward(
    dy: number, dx: number, u0: number, units: number, H: number, W: number, OH: number, OW: number,
    KH: number, KW: number, SH: number, SW: number, PH: number, PW: number, countIncludePad: number,
  ): void;
}

export interface BatchNormKernels {
  /**
   * Batch norm of x viewed as [N, C, S] for channels [c0, c0 + cs). mode 0: the
   * running statistics; 1: the batch's (biased variance); 2: the batch's, and
   * runMean/runVar move toward them by momentum (the variance unbiased, as
   * PyTorch). Writes the mean and invstd = 1/√(var + eps) used, for the backward.
   * affine = 0 ignores weight and bias.
   */
  f32_batch_norm(
    x: number, y: number, weight: number, bias: number, mean: number, invstd: number, runMean: number, runVar: number,
    c0: number, cs: number, N: number, C: number, S: number, eps: number, momentum: number, mode: number, affine: number,
  ): void;
  /**
   * dx, and dweight = Σ dy·x̂, dbias = Σ dy when affine = 1 (all written whole),
   * from f32_batch_norm's mean and invstd; training = 0 treats them as constants.
   */
  f32_batch_norm_backward(
    x: number, dy: number, dx: number, weight: number, mean: number, invstd: number, dweight: number, dbias: number,
    c0: number, cs: number, N: number, C: number, S: number, training: number, affine: number,
  ): void;
}

export interface Kernels
  extends GemmKernels, ElementwiseKernels, ReduceKernels, RandomKernels,
    DropoutKernels, LossKernels, LossRowKernels, OptimKernels, IndexingKernels, PointwiseKernels, ConvKernels, PoolKernels,
    BatchNormKernels {}
