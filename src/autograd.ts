// Reverse-mode autograd on a tape of nodes: each op output that needs a gradient
// points at a Node holding its inputs and a backward function. backward() walks
// the nodes in reverse topological order, hands each its output's gradient,
// and accumulates what comes back into inputs (leaves keep theirs in .grad).

import type { Tensor } from "./tensor.ts";

let gradEnabled = true;
let backwardDepth = 0;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** True while backward() runs: tensors made then are gradient temporaries. */
export function inBackward(): boolean {
  return backwardDepth > 0;
}

/** Runs fn without recording operations for autograd and returns its result (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
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

/** A tensor saved for backward, with the version it had, so in-place changes are caught. */
export class Saved {
  private readonly version: number;
  constructor(private readonly t: Tensor, private readonly op: string) {
    this.version = t.storage.version;
  }
  get(): Tensor {
    if (this.t.storage.version !== this.version) {
      throw new Error(
        "one of the variables needed for gradient computation has been modified by an inplace operation: " +
          `[Tensor of shape [${this.t.shape.join(", ")}]], output of or input to ${this.op}, is at version ` +
          `${this.t.storage.version}; expected version ${this.version} instead.`,
      );
    }
    return this.t;
  }
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
      throw new Error(
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
 * Accumulates d(root)/d(leaf) into every leaf's .grad. `gradient` is the
 * upstream gradient (required unless root has one element).
 * Hooks supplied by tensor.ts: ones-like, accumulate into a leaf, add, release.
 */
export function runBackward(
  root: Tensor,
  gradient: Tensor,
  opts: BackwardOptions,
  ops: {
    accumulateLeaf(leaf: Tensor, g: Tensor): void;
    add(a: Tensor, b: Tensor): Tensor;
    free(t: Tensor): void;
  },
): void {
  const order = reverseTopological(root);
  const grads = new Map<Tensor, Tensor>([[root, gradient]]);
  const nodes: Node[] = [];
  backwardDepth++;
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (const t of order) {
      const g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      const node = t.gradFn!;
      nodes.push(node);
      const inGrads = node.apply(g);
      const used: Tensor[] = [g];
      node.inputs.forEach((inp, i) => {
        const gi = inGrads[i];
        if (!gi || !inp.requiresGrad) return;
        used.push(gi);
        if (!inp.gradFn) {
          ops.accumulateLeaf(inp, gi);
          return;
        }
        const have = grads.get(inp);
        if (have) {
          used.push(have);
          grads.set(inp, ops.add(have, gi));
        } else grads.set(inp, gi);
      });
      // Free this node's gradient temporaries unless a pending gradient still reads them.
      const pending = new Set([gradient.storage, ...[...grads.values()].map((x) => x.storage)]);
      for (const u of used) if (!pending.has(u.storage)) ops.free(u);
    }
  } finally {
    gradEnabled = prev;
    backwardDepth--;
  }
  if (!opts.retainGraph) for (const n of nodes) n.release();
}
