// A model's layer list as PyTorch would construct it: what a checkpoint
// carries so that tools/pytorch_handover.py can build the same torch.nn model
// (torch.nn.<type>(**kwargs), children added under the same names) before
// loading the weights into it.

import { Module } from "./module.ts";

/** One module: its torch.nn class name, its constructor's keyword arguments in PyTorch's spelling, and its children. */
export interface LayerSpec {
  type: string;
  /** Absent when wasmgrad does not know how PyTorch constructs the module (a custom Module subclass). */
  kwargs?: Record<string, number | boolean>;
  children?: [string, LayerSpec][];
}

type Describe = (m: Module) => Record<string, number | boolean>;

/** By exact class name: a subclass may change forward(), so it is not taken for its base class. */
const KNOWN: Readonly<Record<string, Describe>> = {
  Sequential: () => ({}),
  Linear: (m) => {
    const l = m as unknown as { inFeatures: number; outFeatures: number; bias: unknown };
    return { in_features: l.inFeatures, out_features: l.outFeatures, bias: l.bias !== null };
  },
  Dropout: (m) => ({ p: (m as unknown as { p: number }).p }),
  Flatten: (m) => {
    const f = m as unknown as { startDim: number; endDim: number };
    return { start_dim: f.startDim, end_dim: f.endDim };
  },
  ReLU: () => ({}),
  Tanh: () => ({}),
  Sigmoid: () => ({}),
  Identity: () => ({}),
};

/** The module tree as torch.nn would build it (see LayerSpec); JSON-serializable. */
export function describeLayers(m: Module): LayerSpec {
  const type = m.constructor.name;
  const spec: LayerSpec = { type };
  if (Object.hasOwn(KNOWN, type)) spec.kwargs = KNOWN[type]!(m);
  const children = m.namedChildren();
  if (children.length > 0) spec.children = children.map(([name, c]) => [name, describeLayers(c)]);
  return spec;
}
