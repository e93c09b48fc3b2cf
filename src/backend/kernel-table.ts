// The kernel table: every kernel once, with its family (assembly/<family>.ts)
// and the role of each argument, one letter an argument:
//   f  f32 or i32 pointer      u  u8 pointer (a mask, image bytes)
//   n  count (of elements, or of units for a unit-split kernel)
//   o  random counter offset   a  first unit of a unit-split kernel
//   s  any other scalar
// The Wasm exports are bound from it (their arity checked against it), threads
// split the kernels that carry `split`, and the module test checks its names.

import { InternalError } from "../errors.ts";
import type { Kernels } from "./kernels.ts";

/** Elements per thread below which a split kernel is not split (ThreadPool.split): a part must outlast the ~17 µs of handing it to a sleeping worker and back. */
const SPLIT_MIN = {
  /** Random draws (Philox, ~2-4 ns an element on one core). */
  random: 1 << 14,
  /** Optimizer steps (a few f64 operations an element: ~1 ns). */
  optim: 1 << 15,
  /** Plain elementwise arithmetic (memory-bound: ~0.1-0.5 ns an element). */
  plain: 1 << 16,
} as const;

/**
 * How threads split a kernel: `min` elements a thread at least. Without `unit`
 * the count is of elements and any range [s, s + c) works (each element's
 * result depends on its index alone; random element i draws from counter
 * offset + i / 4). With `unit` the count is of units (rows of col, planes,
 * channels), the `a` argument is the first one, the pointers stay fixed, and
 * unit(args) is the elements of work a unit holds.
 */
export interface SplitSpec {
  min: number;
  unit?: (args: readonly number[]) => number;
}

export interface KernelSpec {
  family: string;
  args: string;
  split?: SplitSpec;
}

const PLAIN: SplitSpec = { min: SPLIT_MIN.plain };
const RANDOM: SplitSpec = { min: SPLIT_MIN.random };
const OPTIM: SplitSpec = { min: SPLIT_MIN.optim };
const perUnit = (unit: (a: readonly number[]) => number): SplitSpec => ({ min: SPLIT_MIN.plain, unit });
const S = (n: number) => "s".repeat(n);

export const KERNELS = {
  f32_gemm: { family: "gemm", args: "sssssfsfssfsfs" },
  f32_gemm_workspace_size: { family: "gemm", args: "" },
  f32_gemm_strip_width: { family: "gemm", args: "" },

  f32_unary: { family: "elementwise", args: "sffn", split: PLAIN },
  f32_unary_backward: { family: "elementwise", args: "sffffn", split: PLAIN },
  f32_binary: { family: "elementwise", args: "sfffn", split: PLAIN },
  f32_binary_scalar: { family: "elementwise", args: "sfsfns", split: PLAIN },
  f32_binary_broadcast: { family: "elementwise", args: "sfffsf" },
  f32_strided_copy: { family: "elementwise", args: "ffsf" },
  f32_fill: { family: "elementwise", args: "fns", split: PLAIN },
  f32_arange: { family: "elementwise", args: "fnss" },
  i32_to_f32: { family: "elementwise", args: "ffn", split: PLAIN },
  u8_to_f32: { family: "elementwise", args: "ufns", split: PLAIN },
  // src, indices, dst, r0, rows, rowLength, scale: a unit is a row of rowLength bytes.
  u8_gather_rows_to_f32: { family: "elementwise", args: "uffanss", split: perUnit((a) => a[5]!) },
  // src, indices, dst, r0, rows, rowLength: a unit is a row of rowLength elements.
  f32_gather_rows: { family: "elementwise", args: "fffans", split: perUnit((a) => a[5]!) },
  f32_broadcast_rows: { family: "elementwise", args: "ffss" },

  f32_reduce: { family: "reduce", args: "sffsss" },
  f32_argmax: { family: "reduce", args: "ffsss" },
  f32_scatter_add_axis: { family: "reduce", args: "fffsss" },

  random_uniform: { family: "random", args: "fnssoss", split: RANDOM },
  random_normal: { family: "random", args: "fnssoss", split: RANDOM },
  random_blocks: { family: "random", args: "n" },

  f32_dropout: { family: "dropout", args: "ffunssso", split: RANDOM },
  f32_dropout_backward: { family: "dropout", args: "fufns", split: PLAIN },
  f32_relu_dropout: { family: "dropout", args: "ffnssso", split: RANDOM },
  f32_relu_dropout_backward: { family: "dropout", args: "fffns", split: PLAIN },

  f32_cross_entropy: { family: "loss", args: "ffffns" },
  f32_cross_entropy_backward: { family: "loss", args: "ffffsfns" },
  // logits, labels, losses, lse, r0, rows, c: a unit is a row of c logits, each
  // an f64 exp (and a log a row): ~64 plain elements' time (17 ns against 0.25).
  f32_cross_entropy_rows: { family: "loss", args: "ffffans", split: perUnit((a) => 64 * a[6]!) },
  // logits, labels, dloss, dlossStride, dlogits, r0, rows, c: a row costs as much again.
  f32_cross_entropy_backward_rows: { family: "loss", args: "fffsfans", split: perUnit((a) => 64 * a[7]!) },
  f32_mse: { family: "loss", args: "ffn" },
  f32_mse_backward: { family: "loss", args: "fffns" },

  f32_sgd_step: { family: "optim", args: "fffn" + S(8), split: OPTIM },
  f32_adam_step: { family: "optim", args: "fffffn" + S(9), split: OPTIM },
  f32_rmsprop_step: { family: "optim", args: "fffffn" + S(7), split: OPTIM },
  f32_adagrad_step: { family: "optim", args: "fffn" + S(4), split: OPTIM },
  f32_adadelta_step: { family: "optim", args: "ffffn" + S(5), split: OPTIM },

  f32_copy_strided: { family: "indexing", args: "ffsf" },
  i32_check_range: { family: "indexing", args: "fns" },
  f32_index_select: { family: "indexing", args: "fffssss" },
  f32_index_add: { family: "indexing", args: "fffssss" },
  f32_gather: { family: "indexing", args: "fffssss" },
  f32_scatter_add: { family: "indexing", args: "fffssss" },
  f32_where: { family: "indexing", args: "ffffn" },
  f32_masked_fill: { family: "indexing", args: "fffns" },
  f32_count_nonzero: { family: "indexing", args: "fn" },
  f32_masked_select: { family: "indexing", args: "fffn" },
  f32_masked_scatter: { family: "indexing", args: "fffn" },
  f32_to_i32: { family: "indexing", args: "ffn" },

  f32_pointwise: { family: "pointwise", args: "sffnss", split: PLAIN },
  f32_pointwise_backward: { family: "pointwise", args: "sfffnss", split: PLAIN },
  i32_one_hot: { family: "pointwise", args: "ffnss" },

  // x, col, r0, rows, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW: a unit is a row of col (N·OH·OW).
  f32_im2col: { family: "conv", args: "ffan" + S(14), split: perUnit((a) => a[4]! * a[16]! * a[17]!) },
  // A unit is a plane of dx, gathering KH·KW·OH·OW col entries.
  f32_col2im: { family: "conv", args: "ffan" + S(14), split: perUnit((a) => a[8]! * a[9]! * a[16]! * a[17]!) },
  // src, dst, bias, u0, units, A, B, P, hasBias: a unit is a plane of P.
  f32_swap_planes: { family: "conv", args: "fffan" + S(4), split: perUnit((a) => a[7]!) },

  // x, y, idx, u0, units, H, W, OH, OW, ...: a unit is a plane, H·W read and OH·OW written.
  f32_max_pool2d: { family: "pool", args: "fffan" + S(10), split: perUnit((a) => a[5]! * a[6]! + a[7]! * a[8]!) },
  f32_max_pool2d_backward: { family: "pool", args: "fffanss", split: perUnit((a) => a[5]! + a[6]!) },
  f32_avg_pool2d: { family: "pool", args: "ffan" + S(11), split: perUnit((a) => a[4]! * a[5]! + a[6]! * a[7]!) },
  f32_avg_pool2d_backward: { family: "pool", args: "ffan" + S(11), split: perUnit((a) => a[4]! * a[5]! + a[6]! * a[7]!) },

  // 8 pointers, c0, cs, N, C, S, ...: a unit is a channel, two passes over N·S.
  f32_batch_norm: { family: "batchnorm", args: "ffffffffan" + S(7), split: perUnit((a) => 2 * a[10]! * a[12]!) },
  f32_batch_norm_backward: { family: "batchnorm", args: "ffffffffan" + S(5), split: perUnit((a) => 2 * a[10]! * a[12]!) },
} as const satisfies Record<keyof Kernels, KernelSpec>;

export type KernelName = keyof typeof KERNELS;
/** The kernels threads split (those with a `split` rule). */
export type SplitKernel = { [K in KernelName]: (typeof KERNELS)[K] extends { split: SplitSpec } ? K : never }[KernelName];
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];
export const SPLIT_KERNELS = KERNEL_NAMES.filter((k) => "split" in KERNELS[k]) as SplitKernel[];

/**
 * How a split kernel's call on [s, s + c) is made from the whole call's
 * arguments: the count becomes c and argument i moves by step[i]·s. Element
 * split: 4 for an f32 pointer, 1 for a u8 one, 1/4 for a random offset (s is a
 * multiple of SPLIT_ALIGN), 0 for the rest. Unit split: 1 for the first unit,
 * 0 for the rest (the pointers stay).
 */
export function splitSteps(name: SplitKernel): { count: number; step: number[] } {
  const roles = KERNELS[name].args;
  const byUnit = roles.includes("a");
  const step = [...roles].map((r) => (byUnit ? (r === "a" ? 1 : 0) : r === "f" ? 4 : r === "u" ? 1 : r === "o" ? 1 / 4 : 0));
  return { count: roles.indexOf("n"), step };
}

/**
 * The Wasm instance's exports as Kernels, each looked up by the table: a
 * missing export or one taking a different number of arguments than its row
 * says throws here, naming it, rather than failing at its first call.
 */
export function bindKernels(exports: Readonly<Record<string, unknown>>): Kernels {
  const out: Record<string, unknown> = {};
  for (const name of KERNEL_NAMES) {
    const fn = exports[name];
    if (typeof fn !== "function") throw new InternalError(`the Wasm module does not export the kernel ${name}`);
    const want = KERNELS[name].args.length;
    if (fn.length !== want) throw new InternalError(`the Wasm export ${name} takes ${fn.length} arguments, the kernel table says ${want}`);
    out[name] = fn;
  }
  return out as unknown as Kernels;
}
