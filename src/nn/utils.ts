// nn.utils: gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.

import { withoutGrad } from "../autograd.ts";
import { describeValue } from "../graph.ts";
import { Tensor } from "../tensor.ts";
import { tensor } from "../tensor-creation.ts";

function gradients(what: string, parameters: Tensor | Iterable<Tensor>): Tensor[] {
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  for (const p of list) {
    if (!(p instanceof Tensor)) throw new TypeError(`${what}: parameters must be Tensors, got ${describeValue(p)}`);
  }
  return list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scales the gradients in place so that their joint normType-norm (over all of
 * them, as one vector) is at most maxNorm, and returns that norm before
 * clipping, as a 0-d tensor. normType is any p ≥ 1… (or Infinity: the largest |g|).
 */
export function clipGradNorm_(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  opts: { errorIfNonfinite?: boolean } = {},
): Tensor {
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) throw new TypeError(`clipGradNorm_: maxNorm must be a number, got ${describeValue(maxNorm)}`);
  if (typeof normType !== "number" || !(normType > 0)) throw new RangeError(`clipGradNorm_: normType must be a positive number or Infinity, got ${describeValue(normType)}`);
  const grads = gradients("clipGradNorm_", parameters);
  if (grads.length === 0) return stepValue(0);
  const total = withoutGrad(() => {
    // Gradients are owned, so these temporaries would wait for the garbage collector: free them now.
    const valueOf = (...chain: Tensor[]) => {
      const v = chain[chain.length - 1].item();
      chain.forEach((t) => t.dispose());
      return v;
    };
    const norms = grads.map((g) => {
      if (g.numel() === 0) return 0;
      if (normType === 1 || normType === 2) return valueOf(g.norm(normType));
      const a = g.abs();
      if (normType === Infinity) return valueOf(a, a.max());
      const p = a.pow(normType);
      return valueOf(a, p, p.sum()) ** (1 / normType);
    });
    if (normType === Infinity) return Math.max(...norms);
    return Math.fround(norms.reduce((s, v) => s + v ** normType, 0) ** (1 / normType));
  });
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new RangeError(
      `The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
        "To disable this error and scale the gradients by the non-finite norm anyway, set { errorIfNonfinite: false }",
    );
  }
  // In f32, as PyTorch computes max_norm / (total_norm + 1e-6).
  const coef = Math.fround(maxNorm / Math.fround(total + 1e-6));
  if (!(coef >= 1)) withoutGrad(() => grads.forEach((g) => g.mul_(coef)));
  return stepValue(total);
}

/**
 * The norm a training step returns: part of the step (storage.ts), so a loop that
 * ignores it, as most do, does not set one tensor aside per step.
 */
function stepValue(v: number): Tensor {
  const t = tensor(v);
  t.storage.markStepScoped();
  return t;
}

/** Clamps every gradient to [−clipValue, clipValue] in place. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== "number" || Number.isNaN(clipValue)) {
    throw new TypeError(`clipGradValue_: clipValue must be a number, got ${describeValue(clipValue)}`);
  }
  const grads = gradients("clipGradValue_", parameters);
  withoutGrad(() => grads.forEach((g) => g.clamp_(-clipValue, clipValue)));
}
