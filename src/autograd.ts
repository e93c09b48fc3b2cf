// Reverse-mode autograd on a tape of nodes: each op output that needs a gradient
// points at a Node holding its inputs and a backward function. backward() walks
// the nodes in reverse topological order, hands each its output's gradient,
// and accumulates what comes back into inputs (leaves keep theirs in .grad).

import { ReduceOp } from "./backend/kernels.ts";
import { AutogradError } from "./errors.ts";
import { backendOf, describeValue } from "./graph.ts";
import { toFloat } from "./ops/copies.ts";
import { fmt } from "./shape.ts";
import { boundary, scope } from "./storage.ts";
import { ELEMENT_BYTES, Tensor } from "./tensor.ts";

let gradEnabled = true;
let backwardDepth = 0;
let anomalyEnabled = false;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** True while backward() runs: tensors made then are gradient temporaries. */
export function inBackward(): boolean {
  return backwardDepth > 0;
}

/**
 * Runs fn without recording operations for autograd and returns its result
 * (torch.no_grad). The return of an outermost noGrad is a memory boundary
 * (storage.ts): an evaluation loop gives its temporaries back as it goes.
 */
export function noGrad<T>(fn: () => T): T {
  // The callback's code names its site (read only when needed): a loop's noGrad makes a new closure each time round, of the same code.
  return scope("end of a noGrad() callback", () => withoutGrad(fn), fn);
}

/** @internal noGrad for the library's own use: no boundary. */
export function withoutGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with recording on, inside a noGrad region (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// ---- anomaly mode (torch.autograd.detect_anomaly) -------------------------------

/** Thrown in anomaly mode by the first op, backward or optimizer step that makes a NaN. */
export class AnomalyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnomalyError";
  }
}

/**
 * Turns anomaly mode on or off (torch.autograd.set_detect_anomaly). When on,
 * every op's output, every backward's gradients and every optimizer step's
 * parameters are checked for NaN, and the first to hold one throws an
 * AnomalyError naming it. The check is one reduction per tensor: for hunting a
 * NaN, not for production. Off (the default), it costs one boolean test per op.
 */
export function setDetectAnomaly(on: boolean): void {
  if (typeof on !== "boolean") throw new TypeError(`setDetectAnomaly: expected true or false, got ${String(on)}`);
  anomalyEnabled = on;
}

export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}

/** Runs fn in anomaly mode and returns its result (torch.autograd.detect_anomaly as a context). */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = anomalyEnabled;
  anomalyEnabled = true;
  try {
    return fn();
  } finally {
    anomalyEnabled = prev;
  }
}

/**
 * Does t hold a NaN? One Σ|x| kernel call: the sum is NaN exactly when an
 * element is (|±∞| only makes it ∞), where Σx would also flag ∞ + (−∞).
 */
export function hasNaN(t: Tensor): boolean {
  const n = t.numel();
  if (t.dtype !== "float32" || n === 0) return false;
  if (!t.isContiguous()) {
    const copy = noGrad(() => t.contiguous());
    const found = hasNaN(copy);
    copy.storage.release("it was an internal temporary");
    return found;
  }
  const be = t.backend;
  const out = be.allocator.alloc(4);
  try {
    be.kernels.f32_reduce(ReduceOp.SumAbs, t.ptr, out, 1, n, 1);
    return Number.isNaN(be.heap.f32[out >>> 2]);
  } finally {
    be.allocator.free(out);
  }
}

/** In anomaly mode: throws if `op` wrote a NaN into out, and says whether one of its inputs brought it in. */
export function checkForward(op: string, out: Tensor, inputs: readonly Tensor[]): void {
  if (!hasNaN(out)) return;
  const carrier = inputs.findIndex(hasNaN);
  throw new AnomalyError(
    `anomaly: ${op} produced NaN in its output of shape ${fmt(out.shape)}` +
      (carrier >= 0 ? ` (its input ${carrier} already held NaN: it came from before this op, e.g. from the data)` : ""),
  );
}

/** A tensor saved for backward, with the version it had, so in-place changes are caught. */
export class Saved {
  private readonly version: number;
  constructor(private readonly t: Tensor, private readonly op: string) {
    this.version = t.storage.version;
  }
  get(): Tensor {
    if (this.t.storage.version !== this.version) {
      throw new AutogradError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: " +
          `[Tensor of shape [${this.t.shape.join(", ")}]], output of or input to ${this.op}, is at version ` +
          `${this.t.storage.version}; expected version ${this.version} instead.`,
      );
    }
    return this.t;
  }
}

/**
 * The .grad that a backward function may add an input's gradient into itself,
 * returning null for that input instead of a temporary the engine then adds
 * with add_: a leaf that requires grad and already holds a gradient (what
 * accumulation would add to anyway). Linear's weight gradient is a GEMM whose
 * beta = 1 does the add, saving a pass over the weight's size and its memory.
 * Null outside backward and in anomaly mode, whose check reads every returned
 * gradient, and for a .grad the user assigned as a strided view (kernels write
 * dense memory; add_ writes through views).
 */
export function leafGradSink(t: Tensor): Tensor | null {
  if (backwardDepth === 0 || anomalyEnabled || !t.requiresGrad || t.gradFn !== null) return null;
  const g = t.grad;
  return g !== null && g.isContiguous() ? g : null;
}

/**
 * For a writer about to write every element of the gradient `g`: did zeroGrad
 * leave zeros owing on it? They are cancelled. False, with nothing cancelled,
 * when g is a strided view or covers only part of its memory (the rest still
 * reads zeros): the writer then adds onto g as it is.
 */
export function cancelZerosOwedBy(g: Tensor): boolean {
  return g.isContiguous() && g.numel() * ELEMENT_BYTES === g.storage.bytes && g.storage.cancelPendingZeros();
}

export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export class Node {
  private fn: BackwardFn | null;
  constructor(readonly name: string, readonly inputs: readonly Tensor[], fn: BackwardFn) {
    this.fn = fn;
  }
  get released(): boolean {
    return this.fn === null;
  }
  apply(grad: Tensor): (Tensor | null)[] {
    if (!this.fn) {
      throw new AutogradError(
        "Trying to backward through the graph a second time (or directly access saved tensors after they have " +
          "already been freed). Saved intermediate values of the graph are freed when you call .backward(). " +
          "Specify { retainGraph: true } if you need to backward through the graph a second time.",
      );
    }
    return this.fn(grad);
  }
  /** Drops the saved tensors: the graph can't be walked again. */
  release(): void {
    this.fn = null;
  }
}

/** The nodes reachable from root, in an order where every node comes before the nodes of its inputs. */
function reverseTopological(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Node>();
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const node = t.gradFn!;
    if (i === 0) {
      if (seen.has(node)) { stack.pop(); continue; }
      seen.add(node);
    }
    if (i < node.inputs.length) {
      top[1]++;
      const inp = node.inputs[i];
      if (inp.gradFn && !seen.has(inp.gradFn)) stack.push([inp, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  retainGraph?: boolean;
}

/**
 * root.backward(gradient): checks the call as PyTorch does, then accumulates
 * d(root)/d(leaf) into every leaf's .grad. `gradient` is the upstream gradient
 * (required unless root has one element). Ends the training step (a memory
 * boundary, storage.ts) unless the graph is retained.
 */
export function backward(root: Tensor, gradient: Tensor | undefined, opts: BackwardOptions): void {
  if (!root.requiresGrad) {
    throw new AutogradError("element 0 of tensors does not require grad and does not have a gradFn");
  }
  if (inBackward()) throw new AutogradError("backward() cannot be called from inside a backward pass");
  let g: Tensor;
  if (gradient === undefined) {
    if (root.numel() !== 1) {
      throw new AutogradError(`grad can be implicitly created only for scalar outputs (this tensor has shape ${fmt(root.shape)})`);
    }
    g = Tensor.empty(root.shape, "float32", root.backend, "step");
    root.backend.kernels.f32_fill(g.ptr, 1, 1);
  } else {
    if (!(gradient instanceof Tensor)) throw new TypeError(`backward(): gradient must be a Tensor, got ${describeValue(gradient)}`);
    backendOf(root, gradient);
    if (gradient.shape.join() !== root.shape.join()) {
      throw new RangeError(
        `Mismatch in shape: grad_output[0] has a shape of ${fmt(gradient.shape)} and output[0] has a shape of ${fmt(root.shape)}.`,
      );
    }
    // PyTorch casts the gradient to the output's dtype; read as float bits, 1 would be 1.4e-45.
    g = gradient.dtype === "float32" ? gradient : toFloat(gradient);
    if (g !== gradient) g.storage.markStepScoped();
    if (!g.isContiguous()) g = withoutGrad(() => g.contiguous());
  }
  if (root.isLeaf) {
    withoutGrad(() => accumulateLeaf(root, g));
    return;
  }
  runBackward(root, g, opts);
  // A retained graph will be walked again: the step is not over (PyTorch allows as many walks as retains).
  if (!opts.retainGraph) boundary("backward()", true);
}

/** Walks the graph from root, whose gradient is `gradient`, into the leaves' .grad. */
function runBackward(
  root: Tensor,
  gradient: Tensor,
  opts: BackwardOptions,
): void {
  const order = reverseTopological(root);
  const grads = new Map<Tensor, Tensor>();
  // How many pending gradients read each storage (a gradient may be a view of another).
  const readers = new Map<Tensor["storage"], number>();
  const setGrad = (t: Tensor, g: Tensor) => {
    grads.set(t, g);
    readers.set(g.storage, (readers.get(g.storage) ?? 0) + 1);
  };
  const takeGrad = (t: Tensor): Tensor | undefined => {
    const g = grads.get(t);
    if (!g) return undefined;
    grads.delete(t);
    const n = readers.get(g.storage)! - 1;
    if (n === 0) readers.delete(g.storage);
    else readers.set(g.storage, n);
    return g;
  };
  setGrad(root, gradient);
  const nodes: Node[] = [];
  backwardDepth++;
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (const t of order) {
      const g = takeGrad(t);
      if (!g) continue;
      const node = t.gradFn!;
      nodes.push(node);
      const inGrads = node.apply(g);
      if (anomalyEnabled) {
        inGrads.forEach((gi, i) => {
          if (gi && hasNaN(gi)) throw new AnomalyError(`Function '${node.name}Backward' returned nan values in its ${i}th output.`);
        });
      }
      const used: Tensor[] = [g];
      node.inputs.forEach((inp, i) => {
        const gi = inGrads[i];
        if (!gi || !inp.requiresGrad) return;
        used.push(gi);
        if (!inp.gradFn) {
          accumulateLeaf(inp, gi);
          return;
        }
        const have = takeGrad(inp);
        if (have) {
          used.push(have);
          setGrad(inp, have.add(gi));
        } else setGrad(inp, gi);
      });
      // Free this node's gradient temporaries unless a pending gradient still reads them.
      for (const u of used) if (u.storage !== gradient.storage && !readers.has(u.storage)) freeGradient(u);
    }
  } finally {
    gradEnabled = prev;
    backwardDepth--;
  }
  if (!opts.retainGraph) for (const n of nodes) n.release();
}

/**
 * A leaf's .grad: a copy of its first gradient, the later ones added in place
 * (PyTorch accumulates). Onto a .grad that zeroGrad left owing zeros, the
 * gradient is copied: one pass instead of a fill and an add.
 */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  const grad = leaf.grad;
  if (grad === null) {
    leaf.setGradFromBackward(g.clone());
  } else if (grad.storage !== g.storage && cancelZerosOwedBy(grad)) {
    grad.copy_(g);
  } else {
    grad.add_(g);
  }
}

/** Frees a gradient temporary no pending gradient reads any more. */
function freeGradient(t: Tensor): void {
  if (t.storage.isStepScoped) t.storage.release("it was a gradient temporary");
}
