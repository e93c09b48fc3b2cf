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

/** He/Kaiming uniform, as torch.nn.init.kaiming_uniform_ (defaults a = 0, fan_in, leaky_relu). */
export function kaimingUniform_(
  t: Tensor,
  opts: { a?: number; mode?: "fan_in" | "fan_out"; nonlinearity?: "leaky_relu" | "relu" | "linear" } = {},
): Tensor {
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = opts;
  const { fanIn, fanOut } = fans(t);
  const fan = mode === "fan_in" ? fanIn : fanOut;
  const gain = nonlinearity === "relu" ? Math.SQRT2 : nonlinearity === "linear" ? 1 : Math.sqrt(2 / (1 + a * a));
  const bound = Math.sqrt(3) * (gain / Math.sqrt(fan));
  return uniform_(t, -bound, bound);
}

/** Glorot/Xavier uniform. */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export { fans as _calculateFanInAndFanOut };
