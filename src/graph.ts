// The graph plumbing every op shares: which backend its inputs live on, whether
// it records a gradient, its output's allocation and lifetime, and the end of
// its forward (the anomaly check, and its node). nn, optim, data and the op
// modules import it without pulling in the ops.

import type { Backend } from "./backend/backend.ts";
import { checkForward, inBackward, isAnomalyEnabled, isGradEnabled, Node, type BackwardFn } from "./autograd.ts";
import type { Shape } from "./shape.ts";
import { beginOp, Cell, unite, type Storage } from "./storage.ts";
import { Tensor, type DType } from "./tensor.ts";

export function backendOf(...ts: Tensor[]): Backend {
  for (const [i, t] of ts.entries()) {
    if (!(t instanceof Tensor)) throw new TypeError(`expected a Tensor as argument ${i}, got ${describeValue(t)}`);
  }
  const be = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== be) {
      throw new TypeError(
        `Expected all tensors to be on the same backend, but found at least two backends, ${be.name} and ${t.backend.name}` +
          " (tensors made before and after setBackend() cannot be mixed: copy one over with copy_())",
      );
    }
  }
  return be;
}

/** How a wrong argument reads in an error message: "the string \"1\"", "an array of 2", "null". */
export function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x === "string") return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  if (typeof x !== "object") return `${typeof x} ${String(x)}`;
  const kind = Object.getPrototypeOf(x)?.constructor?.name;
  return kind && kind !== "Object" ? `a ${kind}` : "an object";
}

/** Will an op on these inputs record a gradient? */
export function needsGrad(...ts: Tensor[]): boolean {
  return isGradEnabled() && ts.some((t) => t.requiresGrad);
}

/**
 * Allocates an op's output and picks its lifetime: a temporary (storage.ts),
 * part of a step, never set aside, when it joins a graph, is a gradient
 * temporary, or reads a step's data.
 */
export function allocateOutput(shape: Shape, inputs: Tensor[], graph: boolean, dtype: DType = "float32"): Tensor {
  const be = backendOf(...inputs);
  beginOp();
  let step = graph || inBackward();
  for (let i = 0; !step && i < inputs.length; i++) step = inputs[i].storage.isStepScoped;
  return Tensor.empty(shape, dtype, be, step ? "step" : "temporary");
}

/**
 * Makes out a node of the graph. Its memory joins the cell of its inputs'
 * graphs (storage.ts), and an input that is no graph's output (a batch)
 * points at this cell: backward will read it, however many boundaries away.
 */
export function record(out: Tensor, name: string, inputs: Tensor[], fn: BackwardFn): Tensor {
  out.setGraph(new Node(name, inputs, fn));
  const s = out.storage;
  if (!s.isTemporary) return out;
  s.markStepScoped();
  let cell = s.cell ?? (s.cell = new Cell());
  for (const inp of inputs) {
    const is = inp.storage;
    if (!is.isTemporary || is === s) continue;
    if (inp.gradFn !== null && is.cell) cell = unite(cell, is.cell);
    else is.cell = cell;
  }
  return out;
}

/**
 * The end of an op's forward, once its kernel has written out: in anomaly mode
 * out is checked for NaN (the error names the op), and when `graph` it becomes
 * a node of the graph whose backward `makeBackward` builds now (taking the
 * Saved copies it reads, at their current versions).
 */
export function finishOp(out: Tensor, name: string, inputs: Tensor[], graph: boolean, makeBackward: () => BackwardFn): Tensor {
  if (isAnomalyEnabled()) checkForward(name, out, inputs);
  return graph ? record(out, name, inputs, makeBackward()) : out;
}

/** A block a graph's backward reads besides its tensors (a dropout mask): it lives as long as out's graph. */
export function saveWith(out: Tensor, block: Storage): void {
  block.cell = out.storage.cell;
}
