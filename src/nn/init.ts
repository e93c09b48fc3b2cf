// nn.init: in-place initialisers drawing from the seeded generator.

import { withoutGrad } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";

function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new RangeError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return withoutGrad(() => t.normal_(mean, std));
}
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return withoutGrad(() => t.uniform_(a, b));
}
export function zeros_(t: Tensor): Tensor {
  return withoutGrad(() => t.zero_());
}
export function ones_(t: Tensor): Tensor {
  return withoutGrad(() => t.fill_(1));
}
export function constant_(t: Tensor, value: number): Tensor {
  return withoutGrad(() => t.fill_(value));
}

export type Nonlinearity =
  | "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
  | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

export interface KaimingOptions {
  /** The negative slope of the leaky ReLU that follows (used with nonlinearity "leaky_relu"). */
  a?: number;
  /** "fan_in" (the default) keeps the forward pass's variance, "fan_out" the backward's. */
  mode?: "fan_in" | "fan_out";
  nonlinearity?: Nonlinearity;
}

/** The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain (param: leaky_relu's slope, 0.01 by default). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear": case "conv1d": case "conv2d": case "conv3d":
    case "conv_transpose1d": case "conv_transpose2d": case "conv_transpose3d": case "sigmoid":
      return 1;
    case "tanh": return 5 / 3;
    case "relu": return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      if (typeof slope !== "number" || Number.isNaN(slope)) throw new TypeError(`negative_slope ${String(slope)} not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu": return 3 / 4;
    default: throw new RangeError(`Unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** The std (or, × √3, the bound) of He/Kaiming init: gain / √fan. */
function kaimingStd(t: Tensor, opts: KaimingOptions): number {
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = opts;
  if (mode !== "fan_in" && mode !== "fan_out") throw new RangeError(`Mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  const { fanIn, fanOut } = fans(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === "fan_in" ? fanIn : fanOut);
}

/** He/Kaiming uniform, as torch.nn.init.kaiming_uniform_ (defaults a = 0, fan_in, leaky_relu): U(±√3·gain/√fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  if (t.numel() === 0) return t;
  const bound = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, -bound, bound);
}

/** He/Kaiming normal, as torch.nn.init.kaiming_normal_: N(0, (gain/√fan)²). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  if (t.numel() === 0) return t;
  return normal_(t, 0, kaimingStd(t, opts));
}

function gainArg(gain: number | { gain?: number }): number {
  const g = typeof gain === "object" && gain !== null ? gain.gain ?? 1 : gain;
  if (typeof g !== "number" || Number.isNaN(g)) throw new TypeError(`gain must be a number, got ${String(g)}`);
  return g;
}

/** Glorot/Xavier uniform: U(±gain·√(6/(fanIn + fanOut))). */
export function xavierUniform_(t: Tensor, gain: number | { gain?: number } = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gainArg(gain) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

/** Glorot/Xavier normal: N(0, gain²·2/(fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain: number | { gain?: number } = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gainArg(gain) * Math.sqrt(2 / (fanIn + fanOut)));
}

export { fans as _calculateFanInAndFanOut };
