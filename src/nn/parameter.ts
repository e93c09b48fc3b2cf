// nn.Parameter: a tensor a Module registers as a parameter when it is assigned to a field.

import { Tensor } from "../tensor.ts";
import { describeValue } from "../graph.ts";

const parameters = new WeakSet<Tensor>();

/** A Tensor marked as a parameter: what `nn.Parameter(t)` returns. */
export type Parameter = Tensor;

export interface ParameterFunction {
  /** A parameter sharing t's memory: a leaf that requires grad (unless requiresGrad is false), never reclaimed at a step boundary. */
  (data: Tensor, requiresGrad?: boolean): Parameter;
  new (data: Tensor, requiresGrad?: boolean): Parameter;
  [Symbol.hasInstance](x: unknown): boolean;
}

/** Marks t itself as a parameter (how registerParameter takes a plain tensor). */
export function markParameter(t: Tensor, name = "data"): Parameter {
  if (!(t instanceof Tensor)) {
    throw new TypeError(`cannot assign ${describeValue(t)} to parameter '${name}' (nn.Parameter, Tensor or null required)`);
  }
  if (t.dtype !== "float32") throw new TypeError(`parameter ${name} must be float32, got ${t.dtype}`);
  if (!t.isLeaf) {
    throw new TypeError(
      `Cannot assign non-leaf Tensor to parameter '${name}'. Model parameters must be created explicitly: ` +
        `wrap the value in nn.Parameter(t.detach()), or compute it in forward().`,
    );
  }
  if (!parameters.has(t)) {
    t.requiresGrad = true;
    parameters.add(t);
  }
  // A parameter outlives the training step it was made in.
  t.keep();
  return t;
}

export function isParameter(x: unknown): x is Parameter {
  return x instanceof Tensor && parameters.has(x);
}

// A function rather than a class so that `nn.Parameter(t)` reads as in PyTorch; `new` works too,
// and `x instanceof nn.Parameter` asks whether x is one.
export const Parameter = function Parameter(data: Tensor, requiresGrad = true): Parameter {
  if (!(data instanceof Tensor)) throw new TypeError(`Parameter(): data must be a Tensor, got ${describeValue(data)}`);
  // PyTorch's Parameter is a new leaf over the same memory; the tensor passed in is left as it was.
  const p = markParameter(data.detach());
  p.requiresGrad = requiresGrad;
  return p;
} as ParameterFunction;
Object.defineProperty(Parameter, Symbol.hasInstance, { value: isParameter });
